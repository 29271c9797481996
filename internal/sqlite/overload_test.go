package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/waitfor"
)

// TestOverloadFailsFast fills the writer's queue while the writer is held
// busy: the next create must fail at once with ResourceExhausted and write
// nothing, and the queued ones must all succeed once the writer goes on.
func TestOverloadFailsFast(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "o.db"), Options{Queue: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	started, release := make(chan struct{}), make(chan struct{})
	go s.batch.Do(ctx, func(ctx context.Context, _ *txn) error {
		close(started)
		<-release
		return nil
	})
	waitfor.Recv(t, started, "the holding write to start")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if _, err := s.CreateCustomer(ctx, customer.New{Name: "Q", Email: fmt.Sprintf("q%d@example.com", i)}); err != nil {
				t.Errorf("queued create %d: %v", i, err)
			}
		})
	}
	waitfor.Cond(t, "4 writes to queue", func() bool { return s.batch.QueueLen() >= 4 })
	start := time.Now()
	_, err = s.CreateCustomer(ctx, customer.New{Name: "Late", Email: "late@example.com"})
	if customer.ErrorCode(err) != customer.ResourceExhausted {
		t.Fatalf("create into a full queue: %v, want ResourceExhausted", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusing took %v; it must be immediate", d)
	}
	close(release)
	waitfor.Group(t, &wg, "the queued creates")
	page, err := s.ListCustomers(ctx, customer.ListParams{Limit: 10})
	if err != nil || len(page) != 4 {
		t.Fatalf("%d customers (%v), want the 4 queued ones", len(page), err)
	}
}
