package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"customerd/internal/customer"
)

// expensiveQuery is the search of issue 12, 200 characters (the longest
// query the API takes): one word that every seeded customer has (every
// address is on a High Street), forty times.
var expensiveQuery = strings.TrimSpace(strings.Repeat("high ", 40))

// eightWords is the costliest kind of query the API still takes: eight
// different words, six of which every seeded customer has.
const eightWords = "high street example 44 20 company a h"

// openSeeded opens a store on a new file with *searchCustomers customers.
func openSeeded(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	seed(b, s, *searchCustomers)
	return s
}

// expensiveSearch is one ListCustomers call of the issue: a page of 50 in
// name order with the total.
func expensiveSearch(ctx context.Context, s *Store, query string) error {
	p := customer.ListParams{Query: query, Order: customer.Order{Field: customer.ByName}, Limit: 51}
	if _, err := s.ListCustomers(ctx, p); err != nil {
		return err
	}
	_, err := s.CountCustomers(ctx, p)
	return err
}

// BenchmarkExpensiveSearch measures the search of issue 12 (a common word
// forty times, name order, with the total) on 100,000 customers, and the
// same with the word once, and a query of eight common words:
//
//	go test ./internal/store -run '^$' -bench ExpensiveSearch -benchtime 20x
func BenchmarkExpensiveSearch(b *testing.B) {
	s := openSeeded(b)
	ctx := context.Background()
	for _, q := range []struct{ name, query string }{
		{"once", "high"}, {"40times", expensiveQuery}, {"8words", eightWords},
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				if err := expensiveSearch(ctx, s, q.query); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetBesideSearches measures GetCustomer, one call at a time,
// while 16 clients send a search without pause: the search of issue 12,
// or eight common words (which no normalization makes cheaper). ns/op is
// the latency of one GetCustomer, and max-ms the slowest.
//
//	go test ./internal/store -run '^$' -bench GetBesideSearches -benchtime 50x
func BenchmarkGetBesideSearches(b *testing.B) {
	s := openSeeded(b)
	for _, q := range []struct{ name, query string }{{"40times", expensiveQuery}, {"8words", eightWords}} {
		b.Run(q.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					for ctx.Err() == nil {
						expensiveSearch(ctx, s, q.query)
					}
				})
			}
			time.Sleep(100 * time.Millisecond) // let the searches take the connections
			var worst time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := s.GetCustomer(context.Background(), 1); err != nil {
					b.Fatal(err)
				}
				worst = max(worst, time.Since(start))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
			cancel()
			wg.Wait()
		})
	}
}
