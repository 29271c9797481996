package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"customerd/internal/customer"
)

// These tests write with plain SQL on the write connection, as a dbmate or
// sqlite3 user would, to show that the schema itself (not Go code) keeps
// updated_at, the etag and created_at right.

func TestTriggerMaintainsUpdatedAt(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.writes.conn.ExecContext(ctx, `UPDATE customers SET name = 'Ada L.' WHERE id = ?`, c.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCustomer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdateTime.After(c.UpdateTime) {
		t.Errorf("update_time did not move: %v then %v", c.UpdateTime, got.UpdateTime)
	}
	if !got.CreateTime.Equal(c.CreateTime) {
		t.Errorf("create_time moved: %v then %v", c.CreateTime, got.CreateTime)
	}
	if got.Etag == c.Etag {
		t.Error("etag did not change")
	}
	// The trigger may put update_time a millisecond ahead of the clock, to keep
	// it strictly increasing; it must still be about now.
	if d := time.Since(got.UpdateTime); d < -time.Second || d > time.Minute {
		t.Errorf("update_time %v is not now", got.UpdateTime)
	}
}

func TestTriggerKeepsCreatedAt(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.writes.conn.ExecContext(ctx, `UPDATE customers SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = ?`, c.ID)
	if err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("changing created_at: got %v, want the trigger's immutable error", err)
	}
	got, _ := s.GetCustomer(ctx, c.ID)
	if !got.CreateTime.Equal(c.CreateTime) || got.Etag != c.Etag {
		t.Fatalf("row changed: %+v", got)
	}
}
