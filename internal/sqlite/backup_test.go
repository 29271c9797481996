package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/sqlite"
	"customerd/internal/waitfor"
)

// TestBackupUnderLoad takes a backup while writers run, restores it (opens
// the copy as a database of its own) and checks it: intact, migrated, and
// holding every customer acknowledged before the backup began and nothing
// that was never acknowledged.
func TestBackupUnderLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var mu sync.Mutex
	acked := map[int64]string{}
	var beforeBackup atomic.Bool
	beforeBackup.Store(true)
	ackedBefore := map[int64]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("w%d-%d@example.com", w, i)
				c, err := s.CreateCustomer(ctx, customer.New{Name: "Load", Email: email})
				if err != nil {
					t.Error(err)
					return
				}
				// Read after the acknowledgement: true means it came
				// before the backup began.
				before := beforeBackup.Load()
				mu.Lock()
				acked[c.ID] = email
				if before {
					ackedBefore[c.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	waitfor.Cond(t, "300 acknowledged creates", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 300
	})
	out := filepath.Join(dir, "backup.db")
	beforeBackup.Store(false) // creates acknowledged from now on may or may not be in the copy
	mu.Lock()
	mustHave := len(ackedBefore)
	mu.Unlock()
	if err := sqlite.Backup(ctx, path, out); err != nil {
		t.Fatal(err)
	}
	close(stop)
	waitfor.Group(t, &wg, "the writers to stop")

	if err := sqlite.Backup(ctx, path, out); err == nil {
		t.Fatal("a backup over an existing file succeeded")
	}

	conn, err := sql.Open("sqlite", out)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the backup: %q, %v", check, err)
	}
	conn.Close()

	restored, err := sqlite.Open(out, sqlite.Options{})
	if err != nil {
		t.Fatalf("opening the backup: %v", err)
	}
	defer restored.Close()
	var got []customer.Customer
	var after *customer.Cursor
	for {
		page, err := restored.ListCustomers(ctx, customer.ListParams{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 1000 {
			break
		}
		after = &customer.Cursor{ID: page[len(page)-1].ID}
	}
	seen := map[int64]bool{}
	for _, c := range got {
		if acked[c.ID] != c.Email {
			t.Fatalf("backup holds customer %d %q, never acknowledged as such", c.ID, c.Email)
		}
		seen[c.ID] = true
	}
	for id := range ackedBefore {
		if !seen[id] {
			t.Fatalf("customer %d, acknowledged before the backup began, is missing from it", id)
		}
	}
	// Search works on the copy: the full-text index came along.
	if page, err := restored.ListCustomers(ctx, customer.ListParams{Query: "example", Limit: 5}); err != nil || len(page) == 0 {
		t.Fatalf("search in the backup: %d results, %v", len(page), err)
	}
	t.Logf("backup holds %d customers; %d were acknowledged before it began, %d in all", len(got), mustHave, len(acked))
}
