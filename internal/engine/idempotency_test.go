package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
)

const requestID = "7f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b"

func TestCreateWithRequestID(t *testing.T) {
	enginetest.Run(t, testCreateWithRequestID)
}

func testCreateWithRequestID(t *testing.T, e enginetest.Engine) {
	ctx := context.Background()
	ada := customer.New{Name: "Ada", Email: "ada@example.com", RequestID: requestID}

	t.Run("ReplayReturnsTheFirstCustomer", func(t *testing.T) {
		s := e.Open(t, engine.Options{})
		first, err := s.CreateCustomer(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			again, err := s.CreateCustomer(ctx, ada)
			if err != nil {
				t.Fatalf("replay: %v", err)
			}
			if again.ID != first.ID || again.Etag != first.Etag {
				t.Fatalf("replay returned %+v, want %+v", again, first)
			}
		}
		if n := countCustomers(t, s); n != 1 {
			t.Fatalf("%d customers after replays, want 1", n)
		}
		// A replay after an update returns the customer as it is now.
		name := "Ada L."
		updated, err := s.UpdateCustomer(ctx, customer.Update{ID: first.ID, Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.CreateCustomer(ctx, ada)
		if err != nil || again.Etag != updated.Etag {
			t.Fatalf("replay after update: %+v, %v; want %+v", again, err, updated)
		}
	})
	t.Run("ReplayInAnotherCase", func(t *testing.T) {
		s := e.Open(t, engine.Options{})
		upper := ada
		upper.RequestID = strings.ToUpper(requestID)
		first, err := s.CreateCustomer(ctx, upper)
		if err != nil {
			t.Fatal(err)
		}
		// The same UUID in lower case, and in mixed case, is the same request.
		mixed := ada
		mixed.RequestID = requestID[:9] + strings.ToUpper(requestID[9:])
		for _, c := range []customer.New{ada, mixed, upper} {
			again, err := s.CreateCustomer(ctx, c)
			if err != nil {
				t.Fatalf("replay with %s: %v", c.RequestID, err)
			}
			if again.ID != first.ID || again.Etag != first.Etag {
				t.Fatalf("replay with %s returned %+v, want %+v", c.RequestID, again, first)
			}
		}
		if n := countCustomers(t, s); n != 1 {
			t.Fatalf("%d customers after replays, want 1", n)
		}
		// And in upper case with other fields it is the same key, reused.
		other := upper
		other.Email = "grace@example.com"
		if _, err := s.CreateCustomer(ctx, other); customer.ErrorCode(err) != customer.AlreadyExists {
			t.Fatalf("got %v, want AlreadyExists", err)
		}
	})
	t.Run("ErrAlreadyExistsForOtherFields", func(t *testing.T) {
		s := e.Open(t, engine.Options{})
		if _, err := s.CreateCustomer(ctx, ada); err != nil {
			t.Fatal(err)
		}
		other := ada
		other.Email = "grace@example.com"
		_, err := s.CreateCustomer(ctx, other)
		if customer.ErrorCode(err) != customer.AlreadyExists {
			t.Fatalf("got %v, want AlreadyExists", err)
		}
		if n := countCustomers(t, s); n != 1 {
			t.Fatalf("%d customers, want 1", n)
		}
	})
	t.Run("ErrNotFoundAfterDelete", func(t *testing.T) {
		s := e.Open(t, engine.Options{})
		c, err := s.CreateCustomer(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCustomer(ctx, c.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateCustomer(ctx, ada)
		if customer.ErrorCode(err) != customer.NotFound {
			t.Fatalf("got %v, want NotFound", err)
		}
		if n := countCustomers(t, s); n != 0 {
			t.Fatalf("a replay of a deleted customer's create made %d customers", n)
		}
	})
	t.Run("FailedCreateRemembersNothing", func(t *testing.T) {
		s := e.Open(t, engine.Options{})
		if _, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateCustomer(ctx, ada) // email taken
		if customer.ErrorCode(err) != customer.AlreadyExists {
			t.Fatalf("got %v, want AlreadyExists", err)
		}
		// Had the failed create kept its request_id, this create with
		// other fields would be refused as a reuse of the key.
		grace := customer.New{Name: "Grace", Email: "grace@example.com", RequestID: requestID}
		if _, err := s.CreateCustomer(ctx, grace); err != nil {
			t.Fatalf("the request_id of a failed create is not free: %v", err)
		}
	})
	t.Run("KeysExpire", func(t *testing.T) {
		s := e.Open(t, engine.Options{RequestIDTTL: 50 * time.Millisecond, CleanupInterval: time.Hour})
		if _, err := s.CreateCustomer(ctx, ada); err != nil {
			t.Fatal(err)
		}
		time.Sleep(80 * time.Millisecond)
		// Once expired, the key is free for another customer.
		grace := customer.New{Name: "Grace", Email: "grace@example.com", RequestID: requestID}
		if _, err := s.CreateCustomer(ctx, grace); err != nil {
			t.Fatalf("create with an expired request_id: %v", err)
		}
		if n := countCustomers(t, s); n != 2 {
			t.Fatalf("%d customers, want 2", n)
		}
	})
}

func countCustomers(t *testing.T, s customer.Store) int {
	t.Helper()
	n, err := s.CountCustomers(context.Background(), customer.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
