package sqlite

import (
	"context"
	"testing"
	"time"

	"customerd/internal/customer"
)

// TestWatchersWakeOnlyForChanges checks that the watchers of the change
// feed are woken by the commits that change customers (a create, an update,
// a delete) and not by the audit trail's batches of read events, which
// under reads commit every few milliseconds.
func TestWatchersWakeOnlyForChanges(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{})
	// woke runs fn and reports whether it woke a watcher waiting since
	// before it. Committed notifies before the write returns.
	woke := func(fn func() error) bool {
		t.Helper()
		wake := s.commits.Wait()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wake:
			return true
		default:
			return false
		}
	}

	var c customer.Customer
	if !woke(func() (err error) {
		c, err = s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"})
		return err
	}) {
		t.Error("a create did not wake the watchers")
	}

	events := countRows(t, s, "audit_events")
	if woke(func() error {
		s.RecordAudit(customer.AuditEvent{Time: time.Now(), Principal: "local", Procedure: "GetCustomer", CustomerIDs: []int64{c.ID}, Code: "ok"})
		return s.recorder.Flush(ctx)
	}) {
		t.Error("committing the audit trail's events woke the watchers")
	}
	if got := countRows(t, s, "audit_events"); got != events+1 {
		t.Fatalf("audit_events holds %d rows after storing one event, want %d", got, events+1)
	}

	renamed := "Ada L."
	if !woke(func() error {
		_, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: &renamed})
		return err
	}) {
		t.Error("an update did not wake the watchers")
	}
	if !woke(func() error { return s.DeleteCustomer(ctx, c.ID, "") }) {
		t.Error("a delete did not wake the watchers")
	}
}
