package sqlite_test

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"customerd/internal/sqlite"
)

// fileState is what the tests of a refused file compare: the hash of the
// file and which of its companion files exist.
func fileState(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	state := fmt.Sprintf("sha256 %x", sum)
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); err == nil {
			state += " " + suffix
		}
	}
	return state
}

// makeForeign makes a SQLite database of another application at path,
// with the tables users and orders, in the given journal mode.
func makeForeign(t *testing.T, path, journal string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode("+journal+")")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users)`,
		`INSERT INTO users (name) VALUES ('someone else''s data')`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenRefusesOtherFiles opens files that are not customerd databases:
// each is refused with a message saying what was found, and left exactly as
// it was (same bytes, no -wal, -shm or -journal file made).
func TestOpenRefusesOtherFiles(t *testing.T) {
	const foreign = `is not a customerd database: it has tables "users", "orders" and no schema_migrations table; pass another -db path`
	const notSQLite = `is not a SQLite database (it does not begin with the SQLite header): pass another -db path`
	for _, tc := range []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"ForeignRollbackJournal", func(t *testing.T, path string) { makeForeign(t, path, "DELETE") }, foreign},
		{"ForeignWAL", func(t *testing.T, path string) { makeForeign(t, path, "WAL") }, foreign},
		{"ForeignWALInUse", func(t *testing.T, path string) {
			makeForeign(t, path, "WAL")
			// The other application is running: its connection keeps the
			// -wal and -shm files, and the WAL holds a change.
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=wal_autocheckpoint(0)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Exec(`CREATE TABLE invoices (id INTEGER PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
		}, `is not a customerd database: it has tables "users", "orders", "invoices" and no schema_migrations table`},
		{"TextFile", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("name,email\nAda,ada@example.com\n", 10)), 0o600)
		}, notSQLite},
		{"ShortFile", func(t *testing.T, path string) { os.WriteFile(path, []byte("SQLite"), 0o600) }, notSQLite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "customers.db")
			tc.make(t, path)
			before := fileState(t, path)
			s, err := sqlite.Open(path, sqlite.Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), path+" "+tc.want) {
				t.Fatalf("got %q, want it to contain %q", err, path+" "+tc.want)
			}
			t.Logf("error: %v", err)
			if after := fileState(t, path); after != before {
				t.Errorf("the file or its companions changed: %q before, %q after", before, after)
			}
		})
	}
}

// TestOpenNewDatabases opens paths that may become a new database: one that
// does not exist and an empty file.
func TestOpenNewDatabases(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "new.db"), empty} {
		s, err := sqlite.Open(path, sqlite.Options{})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// Opened again, it is a customerd database.
		s, err = sqlite.Open(path, sqlite.Options{})
		if err != nil {
			t.Fatalf("%s again: %v", path, err)
		}
		s.Close()
	}
}

// TestOpenErrorsSayWhatToDo opens paths SQLite cannot use and checks that
// the error says why, instead of a bare SQLite code. The permission cases
// are in cmd/customerd (TestOpenErrorsAsAnotherUser), which runs the server
// as an unprivileged user when the tests run as root.
func TestOpenErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"MissingDirectory", filepath.Join(dir, "x", "y", "customers.db"),
			"directory " + filepath.Join(dir, "x", "y") + " does not exist: create it or pass another -db path"},
		{"PathIsADirectory", dir, dir + " is a directory: pass the path of a database file as -db"},
		{"ParentIsAFile", filepath.Join(file, "customers.db"), file + " is not a directory: pass another -db path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(tc.path, sqlite.Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q, want it to contain %q", err, tc.want)
			}
			t.Logf("error: %v", err)
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a directory was made: %v", err)
	}
}
