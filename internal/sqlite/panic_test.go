package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// TestPanickingWriteIsInternal injects a panic into a write, as a bug in a
// future store method would cause, and checks that the caller gets Internal
// and that the store keeps serving writes.
func TestPanickingWriteIsInternal(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.batch.Do(ctx, func(ctx context.Context, t *txn) error {
		if _, err := t.q.CreateCustomer(ctx, sqlitedb.CreateCustomerParams{Name: "Half", Email: "half@example.com"}); err != nil {
			return err
		}
		panic("injected fault")
	})
	if err = s.mapError(err); customer.ErrorCode(err) != customer.Internal || err.Error() != "internal error" {
		t.Fatalf("got %v, want a bare internal error", err)
	}
	c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"})
	if err != nil {
		t.Fatalf("create after a panic: %v", err)
	}
	page, err := s.ListCustomers(ctx, customer.ListParams{Limit: 10})
	if err != nil || len(page) != 1 || page[0].ID != c.ID {
		t.Fatalf("rows after a panicking write: %v, %v; want only %d", page, err, c.ID)
	}
}
