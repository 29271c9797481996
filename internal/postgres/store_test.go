package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/customer"
	"customerd/internal/pgtest"
	"customerd/internal/postgres"
)

// openTimeout bounds opening a store in a test, migrating it included, so
// that a stuck migration fails its test with a message (see
// enginetest.OpenTimeout).
const openTimeout = 2 * time.Minute

// MustOpenStore opens a store on a new, empty database.
func MustOpenStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	return mustOpen(tb, pgtest.URL(tb), postgres.Options{})
}

func mustOpen(tb testing.TB, url string, opts postgres.Options) *postgres.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	s, err := postgres.Open(ctx, url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// mustConnect opens a plain connection to url, as psql or another program
// would use the database.
func mustConnect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func ptr(s string) *string { return &s }

func mustCreate(tb testing.TB, s customer.Store, name, email string) customer.Customer {
	tb.Helper()
	c, err := s.CreateCustomer(context.Background(), customer.New{Name: name, Email: email})
	if err != nil {
		tb.Fatalf("create %s: %v", email, err)
	}
	return c
}

func countRows(t *testing.T, url, table string) int {
	t.Helper()
	var n int
	if err := mustConnect(t, url).QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrNotPostgresURL", func(t *testing.T) {
		if _, err := postgres.Open(ctx, "mysql://x", postgres.Options{}); err == nil {
			t.Fatal("opened a mysql:// URL")
		}
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := postgres.Open(cctx, "postgres://u:secret@127.0.0.1:1/x?sslmode=disable", postgres.Options{})
		if err == nil {
			t.Fatal("opened a server that is not there")
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error shows the password: %v", err)
		}
	})
	t.Run("Size", func(t *testing.T) {
		if n := MustOpenStore(t).Size(); n <= 0 {
			t.Fatalf("Size() = %d", n)
		}
	})
}
