package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"customerd/internal/sqlite"
)

// TestBadDatabasePaths runs the server on -db paths it cannot use: each
// fails before listening, with a message saying what is wrong and what to
// do.
func TestBadDatabasePaths(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "other-app.db")
	db, err := sql.Open("sqlite", "file:"+foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY); CREATE TABLE orders (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("remember the milk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, db, want string
	}{
		{"MissingDirectory", filepath.Join(dir, "x", "y", "customers.db"), "directory " + filepath.Join(dir, "x", "y") + " does not exist: create it or pass another -db path"},
		{"Directory", dir, dir + " is a directory: pass the path of a database file as -db"},
		{"OtherApplication", foreign, foreign + ` is not a customerd database: it has tables "users", "orders" and no schema_migrations table; pass another -db path`},
		{"NotSQLite", text, text + " is not a SQLite database (it does not begin with the SQLite header): pass another -db path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var log strings.Builder
			err := run(ctx, []string{"-addr", "127.0.0.1:0", "-db", tc.db}, func(string) string { return "" }, io.Discard, &log)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(log.String(), "listening") {
				t.Errorf("the log says it listened:\n%s", log.String())
			}
		})
	}
}

// TestOpenErrorsAsAnotherUser runs the real binary on a database that its
// user may not write: a read-only directory (for a new database, and for
// an existing one, whose -wal and -shm files SQLite must create) and a
// read-only file. Root may write anything, so when the tests run as root
// the binary runs as the unprivileged uid/gid 65534 (nobody).
func TestOpenErrorsAsAnotherUser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	// The user the binary runs as must reach dir, which t.TempDir makes 0700.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildBinary(t)
	makeDB := func(path string) {
		s, err := sqlite.Open(path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	roDir, roExisting, rwDir := filepath.Join(dir, "ro"), filepath.Join(dir, "ro-existing"), filepath.Join(dir, "rw")
	for _, d := range []string{roDir, roExisting, rwDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	makeDB(filepath.Join(roExisting, "customers.db"))
	makeDB(filepath.Join(rwDir, "customers.db"))
	for path, mode := range map[string]os.FileMode{
		roDir: 0o555, roExisting: 0o555, rwDir: 0o777,
		filepath.Join(roExisting, "customers.db"): 0o666, filepath.Join(rwDir, "customers.db"): 0o444,
	} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, db, want string
	}{
		{"ReadOnlyDirectoryNewDatabase", filepath.Join(roDir, "customers.db"),
			"directory " + roDir + " is not writable, so " + filepath.Join(roDir, "customers.db") + " cannot be created there: make the directory writable for this user or pass another -db path"},
		{"ReadOnlyDirectoryExistingDatabase", filepath.Join(roExisting, "customers.db"),
			"directory " + roExisting + " is not writable: SQLite needs to create customers.db-wal and customers.db-shm beside the database; make the directory writable for this user or pass another -db path"},
		{"ReadOnlyFile", filepath.Join(rwDir, "customers.db"),
			filepath.Join(rwDir, "customers.db") + " is read-only for this user, and customerd writes to it: make it writable (chmod u+w) or pass another -db path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-db", tc.db)
			cmd.Dir = dir
			if os.Geteuid() == 0 {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			}
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("customerd did not exit within 30s:\n%s", out)
			}
			if exit, ok := errors.AsType[*exec.ExitError](err); !ok || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want exit code 1\n%s", err, out)
			}
			if !strings.Contains(string(out), "customerd: "+tc.want) {
				t.Fatalf("output:\n%s\nwant it to contain %q", out, tc.want)
			}
			t.Logf("%s", strings.TrimSpace(string(out)))
			if _, err := os.Stat(tc.db + "-wal"); err == nil {
				t.Errorf("%s-wal was created", tc.db)
			}
		})
	}
}
