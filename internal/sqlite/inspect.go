package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteHeader is how every SQLite database file begins.
const sqliteHeader = "SQLite format 3\x00"

// inspect checks, before anything writes, that path can become or already
// is a customerd database that this process can write: its directory
// exists and is writable (SQLite creates the -wal and -shm files beside the
// database), the file is not a directory, is writable, is empty or a SQLite
// database, and holds no tables unless it holds schema_migrations too (a
// database of another application is refused untouched). Each error says
// what was found and what to do.
func inspect(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := checkDir(dir); err != nil {
			return err
		}
		if !writable(dir) {
			return fmt.Errorf("directory %s is not writable, so %s cannot be created there: make the directory writable for this user or pass another -db path", dir, path)
		}
		return nil
	} else if err != nil {
		return explainStat(path, dir, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory: pass the path of a database file as -db, such as %s", path, filepath.Join(path, "customers.db"))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: pass the path of a database file as -db", path)
	}
	if !writable(path) {
		return fmt.Errorf("%s is read-only for this user, and customerd writes to it: make it writable (chmod u+w) or pass another -db path", path)
	}
	var missing []string
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			if !writable(path + suffix) {
				return fmt.Errorf("%s is read-only for this user, and SQLite writes to it: make it writable or pass another -db path", path+suffix)
			}
		} else {
			missing = append(missing, filepath.Base(path+suffix))
		}
	}
	if len(missing) > 0 && !writable(dir) {
		return fmt.Errorf("directory %s is not writable: SQLite needs to create %s beside the database; make the directory writable for this user or pass another -db path",
			dir, strings.Join(missing, " and "))
	}
	if fi.Size() == 0 {
		return nil // SQLite makes an empty file a new database
	}
	tables, err := userTables(path)
	if err != nil {
		return err
	}
	if len(tables) == 0 || tables[0] == migrationsTable {
		return nil
	}
	return fmt.Errorf("%s is not a customerd database: it has %s and no %s table; pass another -db path",
		path, describeTables(tables), migrationsTable)
}

// migrationsTable is where dbmate records applied migrations: every
// database customerd made has it.
const migrationsTable = "schema_migrations"

// checkDir fails when dir, the directory of a database that does not exist
// yet, is missing or is not a directory.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: create it or pass another -db path", dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("directory %s cannot be reached by this user (%v): pass another -db path", dir, err)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory: pass another -db path", dir)
	}
	return nil
}

// explainStat turns a failed stat of path into an error that says what to do.
func explainStat(path, dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%s cannot be reached by this user (%v): pass another -db path", path, err)
	}
	if derr := checkDir(dir); derr != nil {
		return derr // "not a directory" from stat names the path, not the culprit
	}
	return fmt.Errorf("%s: %w", path, err)
}

// userTables returns the names of the tables in the database at path, in
// the order they were created, with migrationsTable first if it is there.
// It reads without changing the file or leaving files beside it, and fails
// with a clear message when the file is not a SQLite database or is damaged.
func userTables(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	header := make([]byte, 100)
	_, err = io.ReadFull(f, header)
	f.Close()
	if err != nil || !bytes.HasPrefix(header, []byte(sqliteHeader)) {
		return nil, fmt.Errorf("%s is not a SQLite database (it does not begin with the SQLite header): pass another -db path", path)
	}
	db, cleanup, err := openReadOnly(path, header)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rows, err := db.QueryContext(context.Background(),
		`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		 ORDER BY name <> ?, rowid`, migrationsTable)
	if err != nil {
		return nil, explainReadError(path, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, explainReadError(path, err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, explainReadError(path, err)
	}
	return names, nil
}

// openReadOnly opens the SQLite database at path, whose first 100 bytes
// are header, for reading only, in a way that neither changes the file nor
// leaves a -wal or -shm file that was not there. The returned cleanup
// closes it.
//
// A database in rollback-journal mode is opened with mode=ro, which takes
// the usual shared locks. A read-only connection to a WAL database creates
// the -wal and -shm files if they are missing, and cannot remove them: so
// without a -wal file (then everything is in the database file) it is opened
// immutable, which reads only the file; with one, mode=ro reads the WAL
// too, and a -shm file it had to create is removed after.
func openReadOnly(path string, header []byte) (*sql.DB, func(), error) {
	params := "?mode=ro"
	_, walErr := os.Stat(path + "-wal")
	_, shmErr := os.Stat(path + "-shm")
	if header[18] == 2 && walErr != nil {
		params += "&immutable=1"
	}
	db, err := sql.Open("sqlite", fileURI(path)+params)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	cleanup := func() {
		db.Close()
		if walErr == nil && shmErr != nil {
			os.Remove(path + "-shm")
		}
	}
	return db, cleanup, nil
}

// isDamage reports whether err is SQLite finding a damaged database file
// (SQLITE_CORRUPT with its extended codes, or SQLITE_NOTADB).
func isDamage(err error) bool {
	e, ok := errors.AsType[*sqlitedriver.Error](err)
	if !ok {
		return false
	}
	code := e.Code() & 0xff
	return code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB
}

// damagedMessage tells the operator what to do about a damaged database.
func damagedMessage(path string) string {
	return fmt.Sprintf("the database %s is damaged: stop customerd, run \"customerd check -db %s\" to see what is wrong, and restore a good backup (see customerd backup)", path, path)
}

// explainReadError turns an error met while reading the database at path
// read-only into one that says what to do.
func explainReadError(path string, err error) error {
	if isDamage(err) {
		return fmt.Errorf("%s (%v)", damagedMessage(path), err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// describeTables lists table names for a message: `tables "a", "b", "c"`,
// at most five of them.
func describeTables(names []string) string {
	const most = 5
	quoted := make([]string, 0, most)
	for _, n := range names[:min(len(names), most)] {
		quoted = append(quoted, fmt.Sprintf("%q", n))
	}
	if len(names) == 1 {
		return "a table " + quoted[0]
	}
	list := "tables " + strings.Join(quoted, ", ")
	if len(names) > most {
		list += fmt.Sprintf(" (and %d more)", len(names)-most)
	}
	return list
}

// explainOpenError turns an error met while doing what (open, migrate…)
// to the database at path into one that says what is wrong and what to do,
// for the SQLite codes that inspect could not foresee (a race, a read-only
// file system on a system without access(2)).
func explainOpenError(path, what string, err error) error {
	if isDamage(err) {
		return fmt.Errorf("%s (%v)", damagedMessage(path), err)
	}
	if e, ok := errors.AsType[*sqlitedriver.Error](err); ok {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("cannot open %s (%v): check that its directory exists and that this user may create files there (SQLite creates %s-wal and %s-shm beside it), or pass another -db path",
				path, err, filepath.Base(path), filepath.Base(path))
		case sqlite3.SQLITE_READONLY:
			return fmt.Errorf("cannot write to %s (%v): make it, its -wal and -shm files and its directory writable for this user, or pass another -db path", path, err)
		}
	}
	return fmt.Errorf("sqlite: %s %s: %w", what, path, err)
}
