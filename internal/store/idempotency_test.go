package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"customerd/internal/customer"
)

func openForTest(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "t.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.read.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const requestID = "7f1d2c3b-4a5e-4f60-8a9b-0c1d2e3f4a5b"

func TestCreateWithRequestID(t *testing.T) {
	ctx := context.Background()
	ada := customer.New{Name: "Ada", Email: "ada@example.com", RequestID: requestID}

	t.Run("ReplayReturnsTheFirstCustomer", func(t *testing.T) {
		s := openForTest(t, Options{})
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
		if n := countRows(t, s, "customers"); n != 1 {
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
	t.Run("ErrAlreadyExistsForOtherFields", func(t *testing.T) {
		s := openForTest(t, Options{})
		if _, err := s.CreateCustomer(ctx, ada); err != nil {
			t.Fatal(err)
		}
		other := ada
		other.Email = "grace@example.com"
		_, err := s.CreateCustomer(ctx, other)
		if customer.ErrorCode(err) != customer.AlreadyExists {
			t.Fatalf("got %v, want AlreadyExists", err)
		}
		if n := countRows(t, s, "customers"); n != 1 {
			t.Fatalf("%d customers, want 1", n)
		}
	})
	t.Run("ErrNotFoundAfterDelete", func(t *testing.T) {
		s := openForTest(t, Options{})
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
		if n := countRows(t, s, "customers"); n != 0 {
			t.Fatalf("a replay of a deleted customer's create made %d customers", n)
		}
	})
	t.Run("FailedCreateRemembersNothing", func(t *testing.T) {
		s := openForTest(t, Options{})
		if _, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateCustomer(ctx, ada) // email taken
		if customer.ErrorCode(err) != customer.AlreadyExists {
			t.Fatalf("got %v, want AlreadyExists", err)
		}
		if n := countRows(t, s, "create_requests"); n != 0 {
			t.Fatalf("a failed create left %d request_ids", n)
		}
	})
	t.Run("KeysExpire", func(t *testing.T) {
		s := openForTest(t, Options{RequestIDTTL: 50 * time.Millisecond, CleanupInterval: time.Hour})
		if _, err := s.CreateCustomer(ctx, ada); err != nil {
			t.Fatal(err)
		}
		time.Sleep(80 * time.Millisecond)
		// Once expired, the key is free for another customer.
		grace := customer.New{Name: "Grace", Email: "grace@example.com", RequestID: requestID}
		if _, err := s.CreateCustomer(ctx, grace); err != nil {
			t.Fatalf("create with an expired request_id: %v", err)
		}
		if n := countRows(t, s, "customers"); n != 2 {
			t.Fatalf("%d customers, want 2", n)
		}
	})
}

func TestPurgeExpiredRequests(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{RequestIDTTL: time.Hour, CleanupInterval: time.Hour})
	// 1,200 expired keys (more than two batches) and one fresh one.
	tx, err := s.write.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1200 {
		if _, err := tx.Exec(`INSERT INTO create_requests (request_id, fingerprint, customer_id, created_at) VALUES (?, 'x', 1, '2000-01-01T00:00:00.000Z')`,
			fmt.Sprintf("old-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com", RequestID: requestID}); err != nil {
		t.Fatal(err)
	}
	n, err := s.purgeExpiredRequests(ctx)
	if err != nil || n != 1200 {
		t.Fatalf("purged %d, %v; want 1200", n, err)
	}
	if left := countRows(t, s, "create_requests"); left != 1 {
		t.Fatalf("%d request_ids left, want the fresh one", left)
	}
}

func TestCleanupRunsInTheBackground(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{RequestIDTTL: 20 * time.Millisecond, CleanupInterval: 10 * time.Millisecond})
	if _, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com", RequestID: requestID}); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if countRows(t, s, "create_requests") == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the expired request_id was never deleted")
}
