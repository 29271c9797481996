package writer_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	_ "modernc.org/sqlite"

	"customerd/internal/migrate"
	"customerd/internal/sqlitedb"
	"customerd/internal/writer"
)

// newWriter opens a migrated database file and a writer on it.
func newWriter(t *testing.T) (*writer.Writer, *sql.DB) {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "w.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	if err := migrate.Up(dsn, io.Discard); err != nil {
		t.Fatal(err)
	}
	w := writer.New(conn, 16, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { w.Close(); conn.Close() })
	return w, conn
}

// insert returns a write that creates customer number v.
func insert(v int) writer.Func {
	return func(ctx context.Context, q *sqlitedb.Queries) error {
		_, err := q.CreateCustomer(ctx, sqlitedb.CreateCustomerParams{
			Name: fmt.Sprint("c", v), Email: fmt.Sprintf("c%d@example.com", v),
		})
		return err
	}
}

func count(t *testing.T, conn *sql.DB) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDoCommitsAndRollsBack(t *testing.T) {
	w, conn := newWriter(t)
	if err := w.Do(context.Background(), insert(1)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := w.Do(context.Background(), func(ctx context.Context, q *sqlitedb.Queries) error {
		if err := insert(2)(ctx, q); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if n := count(t, conn); n != 1 {
		t.Fatalf("rows: got %d, want 1 (the failed write must roll back)", n)
	}
}

func TestPanicIsRecovered(t *testing.T) {
	w, conn := newWriter(t)
	err := w.Do(context.Background(), func(ctx context.Context, q *sqlitedb.Queries) error {
		if err := insert(1)(ctx, q); err != nil {
			return err
		}
		panic("write exploded")
	})
	var perr *writer.PanicError
	if !errors.As(err, &perr) || perr.Value != "write exploded" {
		t.Fatalf("got %v, want a *PanicError", err)
	}
	if err := w.Do(context.Background(), insert(2)); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
	if n := count(t, conn); n != 1 {
		t.Fatalf("rows: got %d, want 1 (the panicking write must roll back)", n)
	}
}

func TestCanceledWriteIsNeverRun(t *testing.T) {
	w, conn := newWriter(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Bool
	err := w.Do(ctx, func(ctx context.Context, q *sqlitedb.Queries) error {
		ran.Store(true)
		return insert(1)(ctx, q)
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if ran.Load() || count(t, conn) != 0 {
		t.Fatal("a write whose context was canceled ran")
	}
}

// TestCanceledWhileQueued cancels a write while an earlier one holds the
// writer, so it is accepted but expires before its turn.
func TestCanceledWhileQueued(t *testing.T) {
	w, conn := newWriter(t)
	started, release := make(chan struct{}), make(chan struct{})
	go w.Do(context.Background(), func(ctx context.Context, q *sqlitedb.Queries) error {
		close(started)
		<-release
		return nil
	})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	done := make(chan error)
	go func() {
		done <- w.Do(ctx, func(ctx context.Context, q *sqlitedb.Queries) error {
			ran.Store(true)
			return insert(1)(ctx, q)
		})
	}()
	cancel()
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if ran.Load() || count(t, conn) != 0 {
		t.Fatal("a write that expired in the queue ran")
	}
}

func TestCloseDrainsAcceptedWrites(t *testing.T) {
	w, conn := newWriter(t)
	const n = 50
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range n {
		wg.Go(func() {
			if err := w.Do(context.Background(), insert(i)); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, writer.ErrClosed) {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	w.Close()
	wg.Wait()
	if got := count(t, conn); int64(got) != ok.Load() {
		t.Fatalf("rows: got %d, acknowledged %d", got, ok.Load())
	}
	if err := w.Do(context.Background(), insert(1)); !errors.Is(err, writer.ErrClosed) {
		t.Fatalf("Do after Close: got %v, want ErrClosed", err)
	}
}
