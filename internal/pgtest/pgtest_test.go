package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"customerd/internal/pgtest"
)

func TestURL(t *testing.T) {
	var url string
	t.Run("Create", func(t *testing.T) {
		url = pgtest.URL(t)
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("a new database has %d tables, %v", n, err)
		}
	})
	if url == "" {
		t.Skip("no server")
	}
	// The subtest's cleanup dropped the database.
	if conn, err := pgx.Connect(context.Background(), url); err == nil {
		conn.Close(context.Background())
		t.Fatal("the database outlived its test")
	}
}

func TestURLSkipsWithoutServer(t *testing.T) {
	t.Setenv(pgtest.EnvServer, "postgres://nobody@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	var skipped bool
	t.Run("Inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		pgtest.URL(t)
	})
	if !skipped {
		t.Fatal("URL did not skip the test without a server")
	}
}
