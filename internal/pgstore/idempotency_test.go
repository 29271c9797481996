package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/pgstore"
	"customerd/internal/pgtest"
)

const requestID = "7f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b"

func TestCreateWithRequestID(t *testing.T) {
	ctx := context.Background()
	ada := customer.New{Name: "Ada", Email: "ada@example.com", RequestID: requestID}

	t.Run("ReplayReturnsTheFirstCustomer", func(t *testing.T) {
		url := pgtest.URL(t)
		s := mustOpen(t, url, pgstore.Options{})
		first, err := s.CreateCustomer(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		// A replay through another replica finds the key too.
		other := mustOpen(t, url, pgstore.Options{})
		for _, r := range []*pgstore.Store{s, other, s} {
			again, err := r.CreateCustomer(ctx, ada)
			if err != nil {
				t.Fatalf("replay: %v", err)
			}
			if again.ID != first.ID || again.Etag != first.Etag {
				t.Fatalf("replay returned %+v, want %+v", again, first)
			}
		}
		if n := countRows(t, url, "customers"); n != 1 {
			t.Fatalf("%d customers after replays, want 1", n)
		}
		updated, err := s.UpdateCustomer(ctx, customer.Update{ID: first.ID, Name: ptr("Ada L.")})
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.CreateCustomer(ctx, ada)
		if err != nil || again.Etag != updated.Etag {
			t.Fatalf("replay after update: %+v, %v; want %+v", again, err, updated)
		}
	})
	t.Run("ErrAlreadyExistsForOtherFields", func(t *testing.T) {
		url := pgtest.URL(t)
		s := mustOpen(t, url, pgstore.Options{})
		if _, err := s.CreateCustomer(ctx, ada); err != nil {
			t.Fatal(err)
		}
		other := ada
		other.Email = "grace@example.com"
		_, err := s.CreateCustomer(ctx, other)
		wantCode(t, err, customer.AlreadyExists)
		if n := countRows(t, url, "customers"); n != 1 {
			t.Fatalf("%d customers, want 1", n)
		}
	})
	t.Run("ErrNotFoundAfterDelete", func(t *testing.T) {
		url := pgtest.URL(t)
		s := mustOpen(t, url, pgstore.Options{})
		c, err := s.CreateCustomer(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCustomer(ctx, c.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateCustomer(ctx, ada)
		wantCode(t, err, customer.NotFound)
		if n := countRows(t, url, "customers"); n != 0 {
			t.Fatalf("a replay of a deleted customer's create made %d customers", n)
		}
	})
	t.Run("FailedCreateRemembersNothing", func(t *testing.T) {
		url := pgtest.URL(t)
		s := mustOpen(t, url, pgstore.Options{})
		mustCreate(t, s, "Ada", "ada@example.com")
		_, err := s.CreateCustomer(ctx, ada) // email taken
		wantCode(t, err, customer.AlreadyExists)
		if n := countRows(t, url, "create_requests"); n != 0 {
			t.Fatalf("a failed create left %d request_ids", n)
		}
	})
	t.Run("KeysExpire", func(t *testing.T) {
		url := pgtest.URL(t)
		s := mustOpen(t, url, pgstore.Options{RequestIDTTL: 50 * time.Millisecond, CleanupInterval: time.Hour})
		if _, err := s.CreateCustomer(ctx, ada); err != nil {
			t.Fatal(err)
		}
		time.Sleep(80 * time.Millisecond)
		grace := customer.New{Name: "Grace", Email: "grace@example.com", RequestID: requestID}
		if _, err := s.CreateCustomer(ctx, grace); err != nil {
			t.Fatalf("create with an expired request_id: %v", err)
		}
		if n := countRows(t, url, "customers"); n != 2 {
			t.Fatalf("%d customers, want 2", n)
		}
	})
	t.Run("CleanupRunsInTheBackground", func(t *testing.T) {
		url := pgtest.URL(t)
		s := mustOpen(t, url, pgstore.Options{RequestIDTTL: 20 * time.Millisecond, CleanupInterval: 10 * time.Millisecond})
		if _, err := s.CreateCustomer(ctx, ada); err != nil {
			t.Fatal(err)
		}
		for range 200 {
			if countRows(t, url, "create_requests") == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("the expired request_id was never deleted")
	})
}

// TestRequestIDRaceAcrossReplicas sends the same create, with the same
// request_id, through several stores (replicas, each with its own
// connections) at once, many times over: every call must return the same
// customer, and only one customer may exist per key.
func TestRequestIDRaceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var replicas []*pgstore.Store
	for range 4 {
		replicas = append(replicas, mustOpen(t, url, pgstore.Options{}))
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
		wg.Wait()
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
