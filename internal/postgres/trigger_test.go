package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/pgtest"
	"customerd/internal/postgres"
)

// These tests write with plain SQL on a connection of their own, as psql or
// dbmate would, to show that the schema itself keeps updated_at, the etag,
// created_at and the change feed right.

func TestTriggerMaintainsUpdatedAt(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := mustOpen(t, url, postgres.Options{})
	conn := mustConnect(t, url)
	c := mustCreate(t, s, "Ada", "ada@example.com")
	prev := c
	for range 20 {
		// Several updates within one millisecond still move updated_at.
		if _, err := conn.Exec(ctx, `UPDATE customers SET name = name || '.' WHERE id = $1`, c.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetCustomer(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.UpdateTime.After(prev.UpdateTime) || got.Etag == prev.Etag || !got.CreateTime.Equal(c.CreateTime) {
			t.Fatalf("after an update: %+v; before: %+v", got, prev)
		}
		prev = got
	}
	if d := time.Since(prev.UpdateTime); d < -time.Second || d > time.Minute {
		t.Errorf("update_time %v is not now", prev.UpdateTime)
	}
	// An update that changes nothing leaves the row and the feed alone.
	_, newest, err := s.ChangeBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE customers SET name = name, phone = NULL WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetCustomer(ctx, c.ID)
	if got.Etag != prev.Etag || !got.UpdateTime.Equal(prev.UpdateTime) {
		t.Fatalf("a no-op update changed the row: %+v, was %+v", got, prev)
	}
	if _, after, _ := s.ChangeBounds(ctx); after != newest {
		t.Fatalf("a no-op update was recorded as change %d", after)
	}
}

func TestTriggerKeepsCreatedAt(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := mustOpen(t, url, postgres.Options{})
	c := mustCreate(t, s, "Ada", "ada@example.com")
	_, err := mustConnect(t, url).Exec(ctx, `UPDATE customers SET created_at = '2000-01-01T00:00:00Z' WHERE id = $1`, c.ID)
	if err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("changing created_at: got %v, want the trigger's immutable error", err)
	}
	got, _ := s.GetCustomer(ctx, c.ID)
	if !got.CreateTime.Equal(c.CreateTime) || got.Etag != c.Etag {
		t.Fatalf("row changed: %+v", got)
	}
}

func TestTriggerRecordsChanges(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := mustOpen(t, url, postgres.Options{})
	conn := mustConnect(t, url)
	if _, err := conn.Exec(ctx, `INSERT INTO customers (name, email) VALUES ('Ada', 'ada@example.com')`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE customers SET email = 'ADA@example.com'`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM customers`); err != nil {
		t.Fatal(err)
	}
	changes, err := s.ListChanges(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Customer.Email)
	}
	if len(changes) != 3 || changes[0].Type != customer.Created || changes[1].Type != customer.Updated ||
		changes[2].Type != customer.Deleted || strings.Join(got, " ") != "ada@example.com ADA@example.com ADA@example.com" {
		t.Fatalf("changes: %+v", changes)
	}
	if changes[1].Customer.Etag != customer.Etag(changes[1].Customer.ID, 2) {
		t.Fatalf("the update's change has etag %s, want revision 2's", changes[1].Customer.Etag)
	}
}
