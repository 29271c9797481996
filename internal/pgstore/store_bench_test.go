package pgstore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/pgstore"
	"customerd/internal/pgtest"
)

// BenchmarkCreateParallel runs creates from 64 goroutines at once against
// one store, the load under which group commit pays or not:
//
//	go test ./internal/pgstore -run '^$' -bench CreateParallel -benchtime 3s
func BenchmarkCreateParallel(b *testing.B) {
	for _, maxBatch := range []int{1, 0} {
		b.Run(fmt.Sprintf("MaxBatch=%d", maxBatch), func(b *testing.B) {
			s := mustOpen(b, pgtest.URL(b), pgstore.Options{MaxBatch: maxBatch, MaxConns: 16})
			var n atomic.Int64
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					_, err := s.CreateCustomer(context.Background(), customer.New{
						Name: "Bench", Email: fmt.Sprintf("bench%d@example.com", i), Phone: ptr("+44 20 7946 0000"),
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
