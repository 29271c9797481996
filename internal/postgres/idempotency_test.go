package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/pgtest"
	"customerd/internal/postgres"
	"customerd/internal/waitfor"
)

const requestID = "7f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b"

// TestCleanupRunsInTheBackground: expired request_ids are deleted by the
// store on its own.
func TestCleanupRunsInTheBackground(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := mustOpen(t, url, postgres.Options{RequestIDTTL: 20 * time.Millisecond, CleanupInterval: 10 * time.Millisecond})
	if _, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com", RequestID: requestID}); err != nil {
		t.Fatal(err)
	}
	waitfor.Cond(t, "the cleanup to delete the expired request_id", func() bool { return countRows(t, url, "create_requests") == 0 })
}

// TestRequestIDRaceAcrossReplicas sends the same create, with the same
// request_id, through several stores (replicas, each with its own
// connections) at once, many times over: every call must return the same
// customer, and only one customer may exist per key.
func TestRequestIDRaceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var replicas []*postgres.Store
	for range 4 {
		replicas = append(replicas, mustOpen(t, url, postgres.Options{}))
	}
	const keys, callers = 20, 8
	for k := range keys {
		n := customer.New{Name: "Ada", Email: fmt.Sprintf("ada%d@example.com", k), RequestID: fmt.Sprintf("key-%d", k)}
		got := make([]customer.Customer, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				c, err := replicas[i%len(replicas)].CreateCustomer(ctx, n)
				if err != nil {
					t.Errorf("key %d caller %d: %v", k, i, err)
				}
				got[i] = c
			})
		}
		waitfor.Group(t, &wg, "the creates")
		for i, c := range got {
			if c.ID != got[0].ID || c.Etag != got[0].Etag {
				t.Fatalf("key %d: caller %d got %+v, caller 0 got %+v", k, i, c, got[0])
			}
		}
	}
	if n := countRows(t, url, "customers"); n != keys {
		t.Fatalf("%d customers for %d keys", n, keys)
	}
}
