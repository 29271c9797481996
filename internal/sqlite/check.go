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

	"customerd/internal/sqlitedb"
)

// Check verifies the customerd database at path and returns the problems it
// found, none when the database is sound. It runs SQLite's PRAGMA
// integrity_check (every page, b-tree, index entry and constraint) on a
// read-only connection that leaves the file as it is, and, only when that
// is clean, FTS5's own integrity-check of the search index against the
// customers table. That one is an INSERT, which SQLite runs only on a
// writable connection: it runs in a transaction that is rolled back, after
// the index is brought up to date with changes noted but not yet indexed
// (as the server does at start), and holds the write lock meanwhile, so a
// server using the file waits for it. It returns an error, and no problems,
// when path does not exist or is not a customerd database, or when the
// pages are sound but the file or its directory is read-only, so the search
// index could not be checked.
func Check(ctx context.Context, path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", path)
	} else if err != nil {
		return nil, err
	}
	header := make([]byte, 100)
	_, err = io.ReadFull(f, header)
	f.Close()
	if err != nil || !bytes.HasPrefix(header, []byte(sqliteHeader)) {
		return nil, fmt.Errorf("%s is not a SQLite database (it does not begin with the SQLite header)", path)
	}
	problems, err := integrityCheck(ctx, path, header)
	if err != nil || len(problems) > 0 {
		return problems, err
	}
	if !writable(path) || !writable(filepath.Dir(path)) {
		// A read-only connection cannot run FTS5's check, and a writable
		// one would leave -wal and -shm files it cannot remove.
		return nil, fmt.Errorf("integrity_check found no problem, but the search index can only be checked in a file and directory this user may write: check a writable copy")
	}
	problem, err := searchIndexCheck(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("integrity_check found no problem, but the search index could not be checked (it needs a writable file; check a writable copy): %w", err)
	}
	if problem != "" {
		return []string{problem}, nil
	}
	return nil, nil
}

// integrityCheck runs PRAGMA integrity_check read-only and returns what it
// reports, nothing when it says ok. It fails when the file is not a
// customerd database.
func integrityCheck(ctx context.Context, path string, header []byte) ([]string, error) {
	db, cleanup, err := openReadOnly(path, header)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name IN ('customers', 'customers_fts')`).Scan(&n)
	if isDamage(err) {
		return []string{fmt.Sprintf("the schema cannot be read: %v", err)}, nil
	} else if err != nil {
		return nil, err
	} else if n != 2 {
		return nil, fmt.Errorf("%s is not a customerd database (it has no customers table and search index)", path)
	}
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		if isDamage(err) {
			return []string{err.Error()}, nil
		}
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, strings.Split(line, "\n")...)
		}
	}
	if err := rows.Err(); err != nil {
		if isDamage(err) {
			return append(problems, err.Error()), nil
		}
		return nil, err
	}
	return problems, nil
}

// searchIndexCheck runs FTS5's integrity-check of customers_fts against the
// customers table (rank 1 asks it to compare with the content table) in a
// transaction it rolls back, and returns the problem it reports, or "".
func searchIndexCheck(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", fileURI(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() // never committed: the check changes nothing
	if err := UpdateSearchIndex(ctx, sqlitedb.New(tx)); err != nil {
		if isDamage(err) {
			return fmt.Sprintf("search index: %v", err), nil
		}
		return "", err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO customers_fts (customers_fts, rank) VALUES ('integrity-check', 1)`)
	if isDamage(err) {
		return fmt.Sprintf("the search index (customers_fts) does not match the customers table: %v", err), nil
	}
	return "", err
}
