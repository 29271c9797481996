package postgres_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/pgtest"
	"customerd/internal/postgres"
	"customerd/internal/waitfor"
)

// BenchmarkCreateParallel runs creates from 64 goroutines at once against
// one store, the load under which group commit pays or not:
//
//	go test ./internal/pgstore -run '^$' -bench CreateParallel -benchtime 3s
func BenchmarkCreateParallel(b *testing.B) {
	for _, maxBatch := range []int{1, 0} {
		b.Run(fmt.Sprintf("MaxBatch=%d", maxBatch), func(b *testing.B) {
			s := mustOpen(b, pgtest.URL(b), postgres.Options{MaxBatch: maxBatch, MaxConns: 16})
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

// BenchmarkWakeAcrossReplicas measures how long a watcher on one replica
// waits for a create committed through another: a commit, a NOTIFY and a
// wake. (Polling instead would wait up to its interval, 1 s here.)
//
//	go test ./internal/pgstore -run '^$' -bench WakeAcrossReplicas
func BenchmarkWakeAcrossReplicas(b *testing.B) {
	ctx := context.Background()
	url := pgtest.URL(b)
	watcher := mustOpen(b, url, postgres.Options{})
	writer := mustOpen(b, url, postgres.Options{})
	waitfor.Cond(b, "the watcher's LISTEN connection", func() bool { return postgres.Listening(watcher) })
	var afterCommit time.Duration // from the create's answer to the wake
	b.ResetTimer()
	for i := range b.N {
		_, newest, err := watcher.ChangeBounds(ctx)
		if err != nil {
			b.Fatal(err)
		}
		woke := make(chan time.Time, 1)
		go func() {
			if err := watcher.WaitForChange(ctx, newest); err != nil {
				b.Error(err)
			}
			woke <- time.Now()
		}()
		if _, err := writer.CreateCustomer(ctx, customer.New{Name: "W", Email: fmt.Sprintf("w%d@example.com", i)}); err != nil {
			b.Fatal(err)
		}
		answered := time.Now()
		afterCommit += max(0, waitfor.Recv(b, woke, "the watcher to wake").Sub(answered))
	}
	b.ReportMetric(float64(afterCommit.Microseconds())/float64(b.N), "µs-after-commit/op")
}
