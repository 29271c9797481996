package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/pgcluster"
	"customerd/internal/postgres"
)

// TestFailover opens a store on a multi-host URL whose first host is a
// standby (the migration must find the primary), kills the primary with
// SIGKILL, checks that calls then fail with Unavailable within their
// deadline, promotes the standby and checks that the store resumes by
// itself: every acknowledged write is there, writes (and their advisory
// lock) work again, and the change listener is back.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	c := pgcluster.Start(t, pgcluster.Options{Standbys: 1, Sync: true})
	nodes := c.Nodes()
	primary, standby := nodes[0], nodes[1]
	s := mustOpen(t, c.MultiHostURL(standby, primary), postgres.Options{})
	waitFor(t, "the change listener", func() bool { return postgres.Listening(s) })

	var acked []customer.Customer
	for i := range 20 {
		acked = append(acked, mustCreate(t, s, "before", fmt.Sprintf("before%d@example.com", i)))
	}

	primary.Kill()
	for _, call := range []struct {
		name string
		f    func(ctx context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, err := s.GetCustomer(ctx, acked[0].ID); return err }},
		{"create", func(ctx context.Context) error {
			_, err := s.CreateCustomer(ctx, customer.New{Name: "x", Email: "during@example.com"})
			return err
		}},
		{"list", func(ctx context.Context) error {
			_, err := s.ListCustomers(ctx, customer.ListParams{Limit: 10})
			return err
		}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		err := call.f(ctx)
		cancel()
		if code := customer.ErrorCode(err); code != customer.Unavailable {
			t.Errorf("%s without a primary: %v (code %v), want unavailable", call.name, err, code)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("%s without a primary took %v, past its 2s deadline", call.name, d)
		}
	}

	c.Promote(standby)
	start := time.Now()
	var after customer.Customer
	waitFor(t, "a write on the promoted standby", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var err error
		after, err = s.CreateCustomer(ctx, customer.New{Name: "after", Email: "after@example.com"})
		if err != nil && customer.ErrorCode(err) != customer.Unavailable {
			t.Fatalf("write after the promotion: %v (code %v), want success or unavailable", err, customer.ErrorCode(err))
		}
		return err == nil
	})
	t.Logf("first write after the promotion took %v", time.Since(start).Round(time.Millisecond))
	for _, want := range append(acked, after) {
		got, err := s.GetCustomer(context.Background(), want.ID)
		if err != nil || got.Email != want.Email {
			t.Fatalf("acknowledged customer %d after the failover: %+v, %v", want.ID, got, err)
		}
	}
	seen := postgres.Notifications(s)
	waitFor(t, "a change notification from the promoted standby", func() bool {
		mustCreate(t, s, "notify", fmt.Sprintf("n%d@example.com", time.Now().UnixNano()))
		return postgres.Listening(s) && postgres.Notifications(s) > seen
	})
}

// waitFor polls cond every 50ms for up to 30 seconds, failing the test
// with what when it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
