package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/waitfor"
)

// TestWALStaysBounded drives random updates (which dirty pages all over the
// file) beside readers that keep snapshots open, and checks that the
// checkpointer keeps the -wal file small, and that Close leaves it empty.
func TestWALStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s, 5_000)
	// The seed is one big transaction that spills pages into the WAL many
	// times over; Close empties the WAL, so the load starts from nothing.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Fatalf("-wal file is %d bytes after Close; want it empty or gone", fi.Size())
	}
	s, err = Open(path, Options{CheckpointInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var maxWAL atomic.Int64
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > maxWAL.Load() {
				maxWAL.Store(fi.Size())
			}
		}
	})
	var wg sync.WaitGroup
	for r := range 4 { // readers
		wg.Go(func() {
			for i := range 300 {
				if _, err := s.ListCustomers(ctx, customer.ListParams{After: &customer.Cursor{ID: int64(r*1000 + i)}, Limit: 50}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var updates atomic.Int64
	for w := range 32 { // writers
		wg.Go(func() {
			for i := range 150 {
				name := "Renamed"
				id := int64((w*7919+i*104729)%5_000 + 1)
				if _, err := s.UpdateCustomer(ctx, customer.Update{ID: id, Name: &name}); err != nil {
					t.Error(err)
					return
				}
				updates.Add(1)
			}
		})
	}
	waitfor.Group(t, &wg, "the writers")
	close(stop)
	watch.Wait()

	// 4,800 updates of random rows write well over 100 MB of WAL frames in
	// all; checkpoints must keep the file a small fraction of that.
	const bound = 56 << 20
	if got := maxWAL.Load(); got > bound {
		t.Fatalf("-wal file reached %d bytes during %d updates; want at most %d", got, updates.Load(), bound)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Fatalf("-wal file is %d bytes after Close; want it empty or gone", fi.Size())
	}
	t.Logf("%d updates; largest -wal file %d KiB", updates.Load(), maxWAL.Load()>>10)
}

// TestLongReaderDoesNotStallWrites keeps a read transaction open (as a
// backup or a slow report does) while many writes grow the WAL: they must
// all go through. (It passed before the checkpointer's fix too: it guards
// the outcome, not the 10 s stall the review measured.)
func TestLongReaderDoesNotStallWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reader.db")
	s, err := Open(path, Options{CheckpointInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seed(t, s, 5_000)

	reader, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil { // pins a snapshot
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 16 {
		wg.Go(func() {
			for i := range 200 {
				name := fmt.Sprint("R", i)
				if _, err := s.UpdateCustomer(ctx, customer.Update{ID: int64((w*397+i*7919)%5_000 + 1), Name: &name}); err != nil {
					failed.Add(1)
					t.Errorf("update with a reader open: %v", err)
					return
				}
			}
		})
	}
	waitfor.Group(t, &wg, "the writers")
	reader.Rollback()
	if failed.Load() > 0 {
		t.Fatalf("%d writers failed while a reader was open", failed.Load())
	}
}
