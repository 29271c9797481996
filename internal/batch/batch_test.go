package batch_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"customerd/internal/batch"
	"customerd/internal/migrate"
	"customerd/internal/sqlitedb"
	"customerd/internal/waitfor"
)

// sqlEngine runs an actor's transactions on a database/sql connection:
// the smallest engine, so that the actor is tested apart from the stores.
type sqlEngine struct{ db *sql.DB }

func (e sqlEngine) Begin(ctx context.Context) (*sql.Tx, error) { return e.db.BeginTx(ctx, nil) }
func (e sqlEngine) Savepoint(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "SAVEPOINT write")
	return err
}
func (e sqlEngine) RollbackTo(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "ROLLBACK TO write")
	return err
}
func (e sqlEngine) Release(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "RELEASE write")
	return err
}
func (sqlEngine) Prepare(context.Context, *sql.Tx) error     { return nil }
func (sqlEngine) Commit(_ context.Context, tx *sql.Tx) error { return tx.Commit() }
func (sqlEngine) Rollback(tx *sql.Tx)                        { tx.Rollback() }
func (sqlEngine) Committed()                                 {}

// openDB opens a migrated database file on one connection.
func openDB(t *testing.T) *sql.DB {
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
	return conn
}

// newWriter opens a migrated database file and an actor on it.
func newWriter(t *testing.T) (*batch.Actor[*sql.Tx], *sql.DB) {
	t.Helper()
	conn := openDB(t)
	w := batch.New(sqlEngine{conn}, batch.Options{Queue: 16, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { w.Close(); conn.Close() })
	return w, conn
}

// insert returns a write that creates customer number v.
func insert(v int) batch.Func[*sql.Tx] {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := sqlitedb.New(tx).CreateCustomer(ctx, sqlitedb.CreateCustomerParams{
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
	err := w.Do(context.Background(), func(ctx context.Context, q *sql.Tx) error {
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
	err := w.Do(context.Background(), func(ctx context.Context, q *sql.Tx) error {
		if err := insert(1)(ctx, q); err != nil {
			return err
		}
		panic("write exploded")
	})
	var perr *batch.PanicError
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
	err := w.Do(ctx, func(ctx context.Context, q *sql.Tx) error {
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
	go w.Do(context.Background(), func(ctx context.Context, q *sql.Tx) error {
		close(started)
		<-release
		return nil
	})
	waitfor.Recv(t, started, "the holding write to start")
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	done := make(chan error)
	go func() {
		done <- w.Do(ctx, func(ctx context.Context, q *sql.Tx) error {
			ran.Store(true)
			return insert(1)(ctx, q)
		})
	}()
	cancel()
	close(release)
	if err := waitfor.Recv(t, done, "the canceled write's answer"); !errors.Is(err, context.Canceled) {
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
			} else if !errors.Is(err, batch.ErrClosed) && !errors.Is(err, batch.ErrOverloaded) {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	w.Close()
	waitfor.Group(t, &wg, "every write to be answered after Close")
	if got := count(t, conn); int64(got) != ok.Load() {
		t.Fatalf("rows: got %d, acknowledged %d", got, ok.Load())
	}
	if err := w.Do(context.Background(), insert(1)); !errors.Is(err, batch.ErrClosed) {
		t.Fatalf("Do after Close: got %v, want ErrClosed", err)
	}
}

// holdWriter makes the writer busy until release is closed, so that the
// writes sent meanwhile queue up and run as one batch.
func holdWriter(t *testing.T, w *batch.Actor[*sql.Tx]) (release chan struct{}) {
	t.Helper()
	started := make(chan struct{})
	release = make(chan struct{})
	go w.Do(context.Background(), func(ctx context.Context, q *sql.Tx) error {
		close(started)
		<-release
		return nil
	})
	waitfor.Recv(t, started, "the holding write to start")
	return release
}

// waitQueued waits until n writes wait in the writer's queue.
func waitQueued(t *testing.T, w *batch.Actor[*sql.Tx], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.QueueLen() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d writes queued", w.QueueLen(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatchIsolatesFailures queues good writes among failing, panicking and
// expired ones so that they share one transaction: every caller must get its
// own result, and only the good writes may be committed.
func TestBatchIsolatesFailures(t *testing.T) {
	w, conn := newWriter(t)
	release := holdWriter(t, w)
	boom := errors.New("boom")
	expired, cancel := context.WithCancel(context.Background())

	type outcome struct {
		want string // "ok", "error", "panic", "canceled"
		err  error
	}
	kinds := []string{"ok", "error", "ok", "panic", "ok", "canceled", "ok", "duplicate", "ok"}
	results := make([]outcome, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		ctx := context.Background()
		fn := insert(i)
		switch kind {
		case "error":
			fn = func(ctx context.Context, q *sql.Tx) error {
				if err := insert(i)(ctx, q); err != nil {
					return err
				}
				return boom // after writing: the row must go
			}
		case "panic":
			fn = func(ctx context.Context, q *sql.Tx) error {
				if err := insert(i)(ctx, q); err != nil {
					return err
				}
				panic("exploded")
			}
		case "canceled":
			ctx = expired
		case "duplicate":
			fn = insert(0) // same email as write 0: a UNIQUE violation
		}
		wg.Go(func() { results[i] = outcome{kind, w.Do(ctx, fn)} })
		waitQueued(t, w, i+1) // keep the order
	}
	cancel()
	close(release)
	wg.Wait()

	var perr *batch.PanicError
	for i, r := range results {
		switch r.want {
		case "ok":
			if r.err != nil {
				t.Errorf("write %d: %v, want success", i, r.err)
			}
		case "error":
			if !errors.Is(r.err, boom) {
				t.Errorf("write %d: %v, want its own error", i, r.err)
			}
		case "panic":
			if !errors.As(r.err, &perr) {
				t.Errorf("write %d: %v, want a PanicError", i, r.err)
			}
		case "canceled":
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("write %d: %v, want context.Canceled", i, r.err)
			}
		case "duplicate":
			if r.err == nil || !strings.Contains(r.err.Error(), "UNIQUE") {
				t.Errorf("write %d: %v, want a UNIQUE violation", i, r.err)
			}
		}
	}
	rows, err := conn.Query(`SELECT name FROM customers ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		got = append(got, name)
	}
	if want := []string{"c0", "c2", "c4", "c6", "c8"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("committed %v, want exactly the good writes %v", got, want)
	}
	st := w.Stats()
	if st.MaxBatch < len(kinds) {
		t.Fatalf("largest batch %d: the %d queued writes did not share a transaction (%+v)", st.MaxBatch, len(kinds), st)
	}
	if st.Reruns != 1 {
		t.Fatalf("%d reruns; want 1: the batch with failures runs again with savepoints", st.Reruns)
	}
}

func TestMaxBatchOneDisablesBatching(t *testing.T) {
	conn := openDB(t)
	defer conn.Close()
	w := batch.New(sqlEngine{conn}, batch.Options{MaxBatch: 1})
	defer w.Close()
	release := holdWriter(t, w)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if err := w.Do(context.Background(), insert(i)); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, w, 10)
	close(release)
	wg.Wait()
	if st := w.Stats(); st.MaxBatch != 1 || st.Batches != 11 || st.SizeHistogram[0] != 11 {
		t.Fatalf("stats %+v: want 11 batches of one", st)
	}
}

func TestFullQueueFailsFast(t *testing.T) {
	w, conn := newWriter(t) // a queue of 16
	release := holdWriter(t, w)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := w.Do(context.Background(), insert(i)); err != nil {
				t.Errorf("queued write %d: %v", i, err)
			}
		})
	}
	waitQueued(t, w, 16)
	start := time.Now()
	err := w.Do(context.Background(), insert(99))
	if !errors.Is(err, batch.ErrOverloaded) {
		t.Fatalf("write into a full queue: %v, want ErrOverloaded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a write into a full queue took %v to fail; it must not wait", d)
	}
	close(release)
	wg.Wait()
	if n := count(t, conn); n != 16 {
		t.Fatalf("%d rows, want the 16 queued writes and not the refused one", n)
	}
}

// errConflict stands for an engine's retryable failure (a serialization
// failure on PostgreSQL).
var errConflict = errors.New("conflict")

// TestRetryableWritesRunAgain queues, behind a held write, a write that
// conflicts twice before it succeeds, one that always conflicts, and good
// ones: the first must commit after its retries, the second fail alone
// with its error once the retries are spent, and the good ones commit.
// A lone conflicting write is run again too, in a transaction of its own.
func TestRetryableWritesRunAgain(t *testing.T) {
	conn := openDB(t)
	w := batch.New(sqlEngine{conn}, batch.Options{Queue: 16, MaxRetries: 3,
		Retryable: func(err error) bool { return errors.Is(err, errConflict) }})
	t.Cleanup(func() { w.Close(); conn.Close() })
	var tries atomic.Int64
	flaky := func(v int) batch.Func[*sql.Tx] {
		return func(ctx context.Context, tx *sql.Tx) error {
			if err := insert(v)(ctx, tx); err != nil {
				return err
			}
			if tries.Add(1) <= 2 {
				return errConflict
			}
			return nil
		}
	}
	always := func(ctx context.Context, tx *sql.Tx) error { return errConflict }

	release := holdWriter(t, w)
	kinds := []string{"ok", "flaky", "always", "ok"}
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		fn := insert(i)
		switch kind {
		case "flaky":
			fn = flaky(i)
		case "always":
			fn = always
		}
		wg.Go(func() { errs[i] = w.Do(context.Background(), fn) })
		waitQueued(t, w, i+1)
	}
	close(release)
	waitfor.Group(t, &wg, "the batch's answers")
	for i, kind := range kinds {
		if want := kind != "always"; want != (errs[i] == nil) || !want && !errors.Is(errs[i], errConflict) {
			t.Errorf("%s write %d: %v", kind, i, errs[i])
		}
	}
	if n := count(t, conn); n != 3 {
		t.Fatalf("%d rows, want the two good writes and the flaky one", n)
	}

	tries.Store(0)
	if err := w.Do(context.Background(), flaky(10)); err != nil {
		t.Fatalf("a lone flaky write: %v, want success after its retries", err)
	}
	if err := w.Do(context.Background(), always); !errors.Is(err, errConflict) {
		t.Fatalf("a lone conflicting write: %v, want its error once the retries are spent", err)
	}
	if n := count(t, conn); n != 4 {
		t.Fatalf("%d rows, want 4", n)
	}
}
