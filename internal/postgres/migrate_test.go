package postgres_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"customerd/db"
	"customerd/internal/pgtest"
	"customerd/internal/postgres"
	"customerd/internal/waitfor"
)

// migrateLockKey is the key of the advisory lock that Open holds while it
// migrates (the store's migrateLockKey).
const migrateLockKey = 7174

// TestOpenWaitsForMigrationLockWithinContext holds the migration lock in
// another session, as a replica that migrates would: Open gives up when its
// context ends, says who holds the lock, and leaves no session waiting for
// it; once the lock is free, Open migrates.
func TestOpenWaitsForMigrationLockWithinContext(t *testing.T) {
	url := pgtest.URL(t)
	holder := mustConnect(t, url)
	if _, err := holder.Exec(context.Background(), "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open migrated while another session held the migration lock")
	}
	t.Log(err)
	for _, want := range []string{"migration lock", fmt.Sprintf("pid %d", holder.PgConn().PID())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	waitfor.Cond(t, "the abandoned lock request to go", func() bool {
		var waiting int
		err := holder.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", migrateLockKey).Scan(&waiting)
		return err == nil && waiting == 0
	})

	if _, err := holder.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrateLockKey); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, url, postgres.Options{})
	if n, want := countRows(t, url, "schema_migrations"), embeddedMigrations(t); n != want {
		t.Fatalf("%d migrations recorded, want %d (each embedded one once)", n, want)
	}
}

// TestOpenBoundsBlockedMigration blocks dbmate's migration on a table lock
// that another session holds: Open stops it when its context ends, with an
// error that says what the migration waited for and who held it, and ends
// the migration's session; once the lock is gone, Open migrates.
func TestOpenBoundsBlockedMigration(t *testing.T) {
	url := pgtest.URL(t)
	blocker := mustConnect(t, url)
	ctx := context.Background()
	// The table as dbmate creates it, locked by a transaction left open.
	if _, err := blocker.Exec(ctx, "CREATE TABLE schema_migrations (version varchar PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	octx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := postgres.Open(octx, url, postgres.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open migrated past a lock that another transaction holds")
	}
	t.Log(err)
	for _, want := range []string{"migrations stopped", "waiting for Lock", fmt.Sprintf("pid [%d]", blocker.PgConn().PID()), "schema_migrations"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	waitfor.Cond(t, "the migration session to end", func() bool {
		var n int
		err := blocker.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'customerd migrate%' AND datname = current_database()").Scan(&n)
		return err == nil && n == 0
	})

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, url, postgres.Options{})
	if n := countRows(t, url, "customers"); n != 0 {
		t.Fatalf("%d customers in a new database", n)
	}
}

// embeddedMigrations returns how many migrations the binary embeds.
func embeddedMigrations(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(db.PostgresMigrations, "postgres/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v, %v", files, err)
	}
	return len(files)
}
