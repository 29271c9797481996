package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
	"customerd/internal/waitfor"
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

func TestPurgeExpiredRequests(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{RequestIDTTL: time.Hour, CleanupInterval: time.Hour})
	// 1,200 expired keys (more than two batches) and one fresh one.
	tx, err := s.writes.conn.BeginTx(context.Background(), nil)
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
	waitfor.Cond(t, "the cleanup to delete the expired request_id", func() bool { return countRows(t, s, "create_requests") == 0 })
}

// Changes past the retention are deleted oldest first, in batches, and the
// newer ones stay, in order; with no index on recorded_at the cleanup walks
// the oldest changes instead.
func TestPurgeOldChanges(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{ChangeRetention: time.Hour, CleanupInterval: time.Hour})
	tx, err := s.writes.conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1300 {
		if _, err := tx.Exec(`INSERT INTO customers (name, email) VALUES ('C', ?)`, fmt.Sprintf("c%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	// The first 1,200 changes (more than two batches) were recorded long ago.
	if _, err := tx.Exec(`UPDATE customer_changes SET recorded_at = '2000-01-01T00:00:00.000Z' WHERE seq <= (SELECT min(seq) + 1199 FROM customer_changes)`); err != nil {
		t.Fatal(err)
	}
	if err := UpdateSearchIndex(ctx, sqlitedb.New(tx)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	oldest, newest, err := s.ChangeBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.purgeOldChanges(ctx)
	if err != nil || n != 1200 {
		t.Fatalf("purged %d, %v; want 1200", n, err)
	}
	first, last, err := s.ChangeBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first != oldest+1200 || last != newest || countRows(t, s, "customer_changes") != 100 {
		t.Fatalf("changes %d..%d (%d rows) left of %d..%d; want the newest 100", first, last, countRows(t, s, "customer_changes"), oldest, newest)
	}
	if n, err := s.purgeOldChanges(ctx); err != nil || n != 0 {
		t.Fatalf("second purge: %d, %v; want nothing", n, err)
	}
}
