package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the database at path to out, which
// must not exist yet. It is safe while a server uses the database: the copy
// is made inside one read transaction (VACUUM INTO), so it holds exactly the
// writes committed when it began, compacted, and it does not block writers.
// It fails when path is not a customerd database, when out exists, or when
// the copy cannot be written; a failed backup removes its partial file.
//
// To restore, stop the server, replace the database file with the copy and
// delete the old file's -wal and -shm files, then start the server.
func Backup(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// Claim the name first (VACUUM INTO accepts an empty file), so that a
	// failure below only ever removes a file this call made.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("backup: %s already exists", out)
	} else if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	db, err := sql.Open("sqlite", fileURI(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'customers'`).Scan(&n); err != nil || n != 1 {
		os.Remove(out)
		return fmt.Errorf("backup: %s is not a customerd database (%v)", path, err)
	}
	// VACUUM INTO reads this database in one read transaction and changes
	// nothing in it (it still needs a connection that is not query_only).
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		os.Remove(out)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
