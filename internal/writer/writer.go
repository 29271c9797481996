// Package writer is the actor that owns the SQLite write connection. Every
// write of the service is a message to it. It runs the writes waiting in its
// mailbox together, in one transaction (group commit): one fsync then makes
// a whole batch durable. A write that fails is answered with its own error
// while the others commit: the batch first runs without savepoints, and if
// a write fails it is rolled back and run again with one SAVEPOINT per
// write.
package writer

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"customerd/internal/sqlitedb"
)

// ErrClosed is returned by Do after Close has begun.
var ErrClosed = errors.New("writer: closed")

// ErrOverloaded is returned by Do, at once, when the queue of writes
// waiting for their turn is full: piling up more callers would only make
// every one of them wait longer.
var ErrOverloaded = errors.New("writer: queue full")

// PanicError is returned by Do when the write function panicked. Its writes
// were rolled back and the writer went on serving.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("writer: write panicked: %v", e.Value) }

// Func is one write. It runs inside a transaction, with q bound to it, and
// takes effect when the transaction commits if it returns nil; if it returns
// an error (or panics) its changes are rolled back and nothing else is. It
// may run twice (when another write of its batch fails, the batch runs
// again), so it must not act outside the transaction, and it must assign,
// not accumulate, what it hands back to its caller.
type Func func(ctx context.Context, q *sqlitedb.Queries) error

type request struct {
	ctx      context.Context
	fn       Func
	enqueued time.Time
	reply    chan error // capacity 1: the actor never blocks on a reply
}

// Options tune a Writer. The zero value is ready to use.
type Options struct {
	// MaxBatch is the most writes that share one transaction; 0 means 128,
	// 1 turns group commit off (one transaction per write).
	MaxBatch int
	// Queue is how many writes may wait for their turn; when it is full Do
	// fails with ErrOverloaded. 0 means 1024.
	Queue int
	// Logger receives panics (error level) and one line per batch (debug
	// level); nil discards them.
	Logger *slog.Logger
	// BeforeWrites, if set, is called on the writer's goroutine at the
	// start of every transaction, before its writes run (so twice for a
	// batch that runs again with savepoints): state that the writes and
	// BeforeCommit share starts over there.
	BeforeWrites func()
	// BeforeCommit, if set, runs in every transaction after its writes and
	// before its COMMIT (work a batch shares, such as bringing an index up
	// to date once instead of once per write). If it fails, the
	// transaction is rolled back and every write of the batch that had
	// not failed on its own fails with its error.
	BeforeCommit Func
	// AfterCommit, if set, is called on the writer's goroutine after every
	// successful COMMIT, before the callers are answered. It must not block.
	AfterCommit func()
}

// Writer serializes writes onto one connection. Create it with New.
type Writer struct {
	db       *sql.DB
	queries  *sqlitedb.Queries // prepared once on the connection
	stmts    [3]*sql.Stmt      // SAVEPOINT, ROLLBACK TO, RELEASE
	log      *slog.Logger
	maxBatch int
	start    func()
	before   Func
	after    func()
	reqs     chan request
	done     chan struct{}
	stats    stats

	mu     sync.RWMutex // guards closed; held for reading while sending to reqs
	closed bool
}

// Savepoints and their rollback are transaction control, like the BEGIN
// and COMMIT that database/sql issues, not queries: they live here.
const (
	savepoint  = `SAVEPOINT write`
	rollbackTo = `ROLLBACK TO write`
	release    = `RELEASE write`
)

// New starts a writer on conn, which should allow a single open connection
// and begin transactions with BEGIN IMMEDIATE. It prepares every query on
// the connection once, and fails if one does not prepare (the schema is
// not migrated). Call Close to stop it.
func New(conn *sql.DB, opts Options) (*Writer, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx := context.Background()
	q, err := sqlitedb.Prepare(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	w := &Writer{
		db:       conn,
		queries:  q,
		log:      log,
		maxBatch: cmp.Or(max(opts.MaxBatch, 0), 128),
		start:    opts.BeforeWrites,
		before:   opts.BeforeCommit,
		after:    opts.AfterCommit,
		reqs:     make(chan request, cmp.Or(max(opts.Queue, 0), 1024)),
		done:     make(chan struct{}),
	}
	for i, sqlText := range []string{savepoint, rollbackTo, release} {
		if w.stmts[i], err = conn.PrepareContext(ctx, sqlText); err != nil {
			q.Close()
			return nil, fmt.Errorf("writer: prepare %s: %w", sqlText, err)
		}
	}
	go w.run()
	return w, nil
}

// Do runs fn in the write transaction and returns its error, or the error
// of beginning or committing the transaction that holds it. It returns
// ctx.Err() without running fn when ctx ends before fn's turn comes,
// ErrClosed after Close has begun, and *PanicError when fn panicked. Once
// the writer has accepted fn, Do waits for the outcome: a nil error means the
// write is committed (durably, as the connection's synchronous setting
// defines), a non-nil one that it is not. fn runs with ctx's values but
// without its cancellation, because interrupting SQLite mid-statement would
// roll back the other writes of the batch.
func (w *Writer) Do(ctx context.Context, fn Func) error {
	req := request{ctx: ctx, fn: fn, enqueued: time.Now(), reply: make(chan error, 1)}
	if err := w.send(ctx, req); err != nil {
		return err
	}
	return <-req.reply
}

func (w *Writer) send(ctx context.Context, req request) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case w.reqs <- req:
		return nil
	default:
		return ErrOverloaded
	}
}

// Close stops accepting writes, finishes every write already accepted, and
// returns once the actor has exited, with its prepared statements closed. It
// does not close the connection.
func (w *Writer) Close() {
	w.mu.Lock()
	first := !w.closed
	if first {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.done
	if first {
		w.queries.Close()
		for _, st := range w.stmts {
			st.Close()
		}
	}
}

// QueueLen returns how many writes are waiting for their turn.
func (w *Writer) QueueLen() int { return len(w.reqs) }

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]request, 0, w.maxBatch)
	for req := range w.reqs {
		// Take what is already waiting, without waiting for more: under
		// load the queue fills while the previous commit syncs, so batches
		// grow with the load and a lone write is never delayed.
		batch = append(batch[:0], req)
	fill:
		for len(batch) < w.maxBatch {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.runBatch(batch)
	}
}

// runBatch runs one batch in one transaction and answers every request.
func (w *Writer) runBatch(batch []request) {
	start := time.Now()
	results := make([]error, len(batch))
	live := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err // the caller gave up: never run an expired write
			continue
		}
		live++
	}
	var commit time.Duration
	rerun := false
	if live > 0 {
		// First without savepoints; if a write fails, the whole attempt is
		// rolled back and the batch runs again with a savepoint per write,
		// which isolates the failure. Savepoints are not free: three more
		// statements per write, and a virtual table written earlier in the
		// transaction (FTS5) writes out what it holds at each of them.
		expired := slices.Clone(results)
		var err error
		commit, err = w.execBatch(batch, results, live, false)
		if errors.Is(err, errWriteFailed) {
			rerun = true
			copy(results, expired)
			commit, err = w.execBatch(batch, results, live, true)
		}
		if err != nil {
			for i := range results {
				if results[i] == nil {
					results[i] = err
				}
			}
		}
	}
	// Stats first, so that a caller that has its answer sees its batch.
	w.stats.record(batch, live, start, len(w.reqs), commit, rerun)
	for i, r := range batch {
		r.reply <- results[i]
	}
	w.log.Debug("write batch", "size", len(batch), "ran", live,
		"oldest_wait", start.Sub(batch[0].enqueued), "took", time.Since(start), "queue", len(w.reqs))
}

// errWriteFailed is execBatch's answer, without savepoints, when a write
// failed: nothing was committed, and the batch must run again with them.
var errWriteFailed = errors.New("writer: a write failed in a batch without savepoints")

// execBatch runs the live requests of batch and commits. With savepoints,
// each runs within its own savepoint, so a failing write is rolled back
// alone; without, the first failure rolls back everything and returns
// errWriteFailed. results holds the expired requests' errors on entry and
// each request's own error on return; the returned error (begin, savepoint
// or commit failed) applies to every request whose result is still nil. It
// also returns how long the COMMIT took (0 when none ran). A batch of one
// live request needs no savepoint: its failure rolls back the whole
// transaction, which holds nothing else.
func (w *Writer) execBatch(batch []request, results []error, live int, savepoints bool) (commit time.Duration, err error) {
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("writer: begin: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	if w.start != nil {
		w.start()
	}
	q := w.queries.WithTx(tx)
	exec := func(i int) error {
		if live == 1 || !savepoints {
			return nil
		}
		_, err := tx.StmtContext(ctx, w.stmts[i]).ExecContext(ctx)
		return err
	}
	for i, r := range batch {
		if results[i] != nil {
			continue
		}
		// A deadline may pass while earlier writes of the batch run: an
		// expired write is still never run.
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if err := exec(0); err != nil {
			return 0, fmt.Errorf("writer: savepoint: %w", err)
		}
		if err := w.call(r, q); err != nil {
			results[i] = err
			if live == 1 {
				return 0, nil // the deferred Rollback undoes it
			}
			if !savepoints {
				return 0, errWriteFailed // the deferred Rollback undoes all
			}
			if err := exec(1); err != nil {
				return 0, fmt.Errorf("writer: rollback to savepoint: %w", err)
			}
		}
		if err := exec(2); err != nil {
			return 0, fmt.Errorf("writer: release savepoint: %w", err)
		}
	}
	if w.before != nil {
		if err := w.before(ctx, q); err != nil {
			return 0, fmt.Errorf("writer: before commit: %w", err)
		}
	}
	commitStart := time.Now()
	err = tx.Commit()
	commit = time.Since(commitStart)
	if err != nil {
		return commit, fmt.Errorf("writer: commit: %w", err)
	}
	if w.after != nil {
		w.after()
	}
	return commit, nil
}

// call runs one write, turning a panic into a *PanicError.
func (w *Writer) call(r request, q *sqlitedb.Queries) (err error) {
	defer func() {
		if p := recover(); p != nil {
			perr := &PanicError{Value: p, Stack: debug.Stack()}
			w.log.Error("write panicked", "panic", p, "stack", string(perr.Stack))
			err = perr
		}
	}()
	return r.fn(context.WithoutCancel(r.ctx), q)
}
