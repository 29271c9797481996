package postgres

import (
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	"github.com/google/go-cmp/cmp"

	"customerd/db"
	"customerd/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite db/postgres/schema.sql from the migrated database")

// dumpSchema returns dbmate dump's output (pg_dump and the applied
// versions) for the database at dbURL.
func dumpSchema(t *testing.T, dbURL string) string {
	t.Helper()
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Skip("pg_dump is not installed")
	}
	u, err := dbmateURL(dbURL, false)
	if err != nil {
		t.Fatal(err)
	}
	m := dbmate.New(u)
	m.Log = io.Discard
	drv, err := m.Driver()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := drv.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out, err := drv.DumpSchema(conn)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestSchemaFileMatchesMigrations(t *testing.T) {
	dbURL := pgtest.URL(t)
	s, err := Open(context.Background(), dbURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	got := dumpSchema(t, dbURL)
	if *update {
		if err := os.WriteFile("../../db/postgres/schema.sql", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(db.PostgresSchema, got); diff != "" {
		t.Errorf("db/postgres/schema.sql differs from the migrated database (-file +db); run: go test ./internal/postgres -run Schema -update\n%s", diff)
	}
}

// TestSchemaFileLoads loads db/postgres/schema.sql into an empty database, as
// "dbmate load" does, and checks that the store then finds nothing to
// migrate and the schema is the same.
func TestSchemaFileLoads(t *testing.T) {
	dbURL := pgtest.URL(t)
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed")
	}
	cmd := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dbURL, "-f", "../../db/postgres/schema.sql")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("loading db/postgres/schema.sql: %v\n%s", err, out)
	}
	s, err := Open(context.Background(), dbURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if diff := cmp.Diff(db.PostgresSchema, dumpSchema(t, dbURL)); diff != "" {
		t.Errorf("schema after loading db/postgres/schema.sql differs (-file +loaded):\n%s", diff)
	}
}
