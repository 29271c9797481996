package pgstore_test

import (
	"context"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/pgstore"
	"customerd/internal/pgtest"
)

// MustOpenStore opens a store on a new, empty database.
func MustOpenStore(tb testing.TB) *pgstore.Store {
	tb.Helper()
	return mustOpen(tb, pgtest.URL(tb), pgstore.Options{})
}

func mustOpen(tb testing.TB, url string, opts pgstore.Options) *pgstore.Store {
	tb.Helper()
	s, err := pgstore.Open(context.Background(), url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestSmoke(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", c)
}
