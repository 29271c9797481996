package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	"github.com/google/go-cmp/cmp"

	"customerd/db"
	"customerd/internal/migrate"
)

var update = flag.Bool("update", false, "rewrite db/schema.sql from the migrated database")

// tempDSN returns a modernc DSN for a new database file in a temp dir.
func tempDSN(t *testing.T) string {
	t.Helper()
	return "file:" + filepath.Join(t.TempDir(), "test.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
}

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func dump(t *testing.T, dsn string) string {
	t.Helper()
	got, err := migrate.DumpSchema(context.Background(), openDB(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

func TestSchemaFileMatchesMigrations(t *testing.T) {
	dsn := tempDSN(t)
	if err := migrate.Up(dsn, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := dump(t, dsn)
	if *update {
		if err := os.WriteFile("../../db/schema.sql", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(db.Schema, got); diff != "" {
		t.Errorf("db/schema.sql differs from the migrated database (-file +db); run: go test ./internal/migrate -run Schema -update\n%s", diff)
	}
}

// TestSchemaFileLoads loads db/schema.sql into an empty database, as
// "dbmate load" does, and checks that it yields the same schema.
func TestSchemaFileLoads(t *testing.T) {
	dsn := tempDSN(t)
	if _, err := openDB(t, dsn).Exec(db.Schema); err != nil {
		t.Fatalf("loading db/schema.sql: %v", err)
	}
	if diff := cmp.Diff(db.Schema, dump(t, dsn)); diff != "" {
		t.Errorf("schema after loading db/schema.sql differs (-file +loaded):\n%s", diff)
	}
	if pending, err := migrate.Pending(dsn); err != nil || len(pending) != 0 {
		t.Errorf("after loading db/schema.sql: pending %v, %v; want none", pending, err)
	}
}

func TestUpDownUp(t *testing.T) {
	dsn := tempDSN(t)
	if err := migrate.Up(dsn, io.Discard); err != nil {
		t.Fatal(err)
	}
	first := dump(t, dsn)

	entries, err := db.Migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	for range entries {
		if err := migrate.Down(dsn, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate.Down(dsn, io.Discard); !errors.Is(err, dbmate.ErrNoRollback) {
		t.Fatalf("Down with nothing applied: got %v, want %v", err, dbmate.ErrNoRollback)
	}
	empty := dump(t, dsn)
	// Only dbmate's own table may remain once every migration is rolled back.
	wantEmpty := "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version varchar(128) primary key);\n-- Dbmate schema migrations\n"
	if empty != wantEmpty {
		t.Fatalf("schema after rolling everything back:\n%s\nwant:\n%s", empty, wantEmpty)
	}

	if err := migrate.Up(dsn, io.Discard); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, dump(t, dsn)); diff != "" {
		t.Errorf("schema after up → down → up differs (-first +again):\n%s", diff)
	}
}

func TestRecordsVersionsLikeDbmateCLI(t *testing.T) {
	dsn := tempDSN(t)
	pending, err := migrate.Pending(dsn)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := db.Migrations.ReadDir("migrations")
	if len(pending) != len(entries) || len(pending) == 0 {
		t.Fatalf("pending on a new database: got %v, want all %d files", pending, len(entries))
	}
	if err := migrate.Up(dsn, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Applying again is a no-op.
	if err := migrate.Up(dsn, io.Discard); err != nil {
		t.Fatal(err)
	}
	if pending, err := migrate.Pending(dsn); err != nil || len(pending) != 0 {
		t.Fatalf("pending after Up: got %v, %v; want none", pending, err)
	}

	conn := openDB(t, dsn)
	var ddl string
	if err := conn.QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'schema_migrations'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if want := `CREATE TABLE "schema_migrations" (version varchar(128) primary key)`; ddl != want {
		t.Errorf("schema_migrations DDL: got %q, want %q", ddl, want)
	}
	rows, err := conn.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	var want []string
	for _, e := range entries {
		// dbmate records the leading digits of the file name.
		want = append(want, strings.SplitN(e.Name(), "_", 2)[0])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded versions (-want +got):\n%s", diff)
	}
}
