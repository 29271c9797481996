package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"customerd/internal/customer"
)

// The store's hot paths, on a database of 10,000 customers, run in
// parallel as the server runs them:
//
//	go test ./internal/store -run '^$' -bench 'Store' -benchmem -count 6 | tee new.txt
//	go tool -modfile=tools/go.mod benchstat old.txt new.txt

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	seed(b, s, 10_000)
	return s
}

func BenchmarkStoreCreate(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // 64 writers on 2 cores, as under load: batches form
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			phone := "+44 20 7946 0000"
			if _, err := s.CreateCustomer(ctx, customer.New{
				Name: "Bench", Email: fmt.Sprintf("bench%d@example.com", i), Phone: &phone,
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStoreUpdate(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			name := fmt.Sprint("Updated ", i)
			if _, err := s.UpdateCustomer(ctx, customer.Update{ID: i%10_000 + 1, Name: &name}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStoreGet(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetCustomer(ctx, n.Add(1)%10_000+1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStoreList(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.ListCustomers(ctx, customer.ListParams{Limit: 51}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
