package sqlite

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// seed adds n customers in one transaction, with names, cities and email
// domains drawn from small lists so that searches have realistic hit rates.
func seed(tb testing.TB, s *Store, n int) {
	tb.Helper()
	first := []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken"}
	last := []string{"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Thompson"}
	cities := []string{"London", "Paris", "Berlin", "Madrid", "Rome", "Vienna", "Prague", "Oslo", "Lisbon", "Dublin"}
	tx, err := s.writes.conn.BeginTx(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`INSERT INTO customers (name, email, phone, address) VALUES (?, ?, ?, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		f, l, c := first[i%len(first)], last[(i/len(first))%len(last)], cities[(i/97)%len(cities)]
		if _, err := stmt.Exec(f+" "+l, fmt.Sprintf("%s.%s%d@company%d.example", strings.ToLower(f), strings.ToLower(l), i, i%1000),
			fmt.Sprintf("+44 20 %04d %04d", i%10000, (i*7)%10000), fmt.Sprintf("%d High Street, %s", i%300, c)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := UpdateSearchIndex(context.Background(), sqlitedb.New(tx)); err != nil {
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.writes.conn.ExecContext(context.Background(), `PRAGMA optimize`); err != nil {
		tb.Fatal(err)
	}
}

// likeSearch is the alternative to FTS5 that the benchmark compares against:
// every word must occur in some column (case-insensitive substring).
const likeSearch = `SELECT id FROM customers c
WHERE NOT EXISTS (
  SELECT 1 FROM json_each(?) w
  WHERE c.name NOT LIKE '%' || w.value || '%' AND c.email NOT LIKE '%' || w.value || '%'
    AND ifnull(c.phone, '') NOT LIKE '%' || w.value || '%' AND ifnull(c.address, '') NOT LIKE '%' || w.value || '%')
ORDER BY id LIMIT ?`

var searchCustomers = flag.Int("search-customers", 100_000, "customers BenchmarkSearch seeds")

// BenchmarkSearch compares the FTS5 search ListCustomers uses with a LIKE
// scan, on 100,000 customers (or -search-customers), for a first page of 50
// in id order:
//
//	go test ./internal/store -run '^$' -bench Search -benchtime 2s
//	go test ./internal/store -run '^$' -bench Search/fts5 -args -search-customers 1000000
func BenchmarkSearch(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	seed(b, s, *searchCustomers)
	ctx := context.Background()
	for _, q := range []struct{ name, query, json string }{
		{"common", "london", `["london"]`},              // a tenth of the rows
		{"two-words", "ada london", `["ada","london"]`}, // a hundredth
		{"rare", "lovelace7", `["lovelace7"]`},          // prefix of a few emails
		{"none", "zzzz", `["zzzz"]`},                    // no row: the worst case for a scan
	} {
		b.Run("fts5/"+q.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ListCustomers(ctx, customer.ListParams{Query: q.query, Limit: 51}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("like/"+q.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := s.read.QueryContext(ctx, likeSearch, q.json, 51)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				rows.Close()
			}
		})
	}
}
