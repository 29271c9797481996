// Package batch is the group-commit actor that every write of both engines
// goes through.
//
// An [Actor] owns a stream of write transactions. The writes waiting in its
// mailbox run together, in one transaction, so that one COMMIT (one fsync,
// one WAL flush) makes a whole batch durable. A write that fails is
// answered with its own error while the others commit: the batch first runs
// without savepoints, and if a write fails the attempt is rolled back and
// run again with one savepoint per write. Writes whose caller has left are
// never run, a panic is logged with its stack and answered as an internal
// error, and an error the engine calls retryable runs the transaction (or,
// with savepoints, the one write) again after a short random pause.
//
// The actor is generic over the engine's transaction T: an [Engine] begins,
// marks, commits and rolls back a T, and each write is a [Func] that runs
// on it. What a T offers the writes (the queries, read-backs, the rules of
// the engine) is the engine's business.
package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"customerd/internal/customer"
)

// ErrClosed is returned by Do after Close has begun.
var ErrClosed = customer.ErrShuttingDown

// ErrOverloaded is returned by Do, at once, when the queue of writes waiting
// for their turn is full: piling up more callers would only make every one
// of them wait longer.
var ErrOverloaded = customer.ErrOverloaded

// PanicError is returned by Do when the write panicked. Its writes were
// rolled back, the panic was logged with Stack, and the actor went on
// serving. It unwraps to a customer.Internal error.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("batch: write panicked: %v", e.Value) }

// Unwrap makes the panic an internal error for customer.ErrorCode.
func (e *PanicError) Unwrap() error { return customer.ErrInternal }

// Func is one write. It runs inside a transaction and takes effect when the
// transaction commits if it returns nil; if it returns an error (or panics)
// its changes are rolled back and nothing else is. It may run more than
// once (when another write of its batch fails, the batch runs again), so it
// must not act outside the transaction, and it must assign, not
// accumulate, what it hands back to its caller.
type Func[T any] func(ctx context.Context, tx T) error

// Engine runs the transactions of an Actor. The actor calls it from its
// own goroutine only, one transaction at a time.
type Engine[T any] interface {
	// Begin starts a transaction, with whatever every write transaction of
	// the engine needs first (a lock, fresh per-transaction state).
	Begin(ctx context.Context) (T, error)
	// Savepoint marks the start of one write; RollbackTo undoes the write
	// back to the mark, and Release forgets the mark.
	Savepoint(ctx context.Context, tx T) error
	RollbackTo(ctx context.Context, tx T) error
	Release(ctx context.Context, tx T) error
	// Prepare runs after the writes, before COMMIT: work the writes of a
	// batch share, done once. If it fails, the batch fails with its error.
	Prepare(ctx context.Context, tx T) error
	// Commit commits the transaction.
	Commit(ctx context.Context, tx T) error
	// Rollback ends a transaction that did not commit; it must do nothing
	// after Commit.
	Rollback(tx T)
	// Committed runs after every successful COMMIT, before the callers are
	// answered. It must not block.
	Committed()
}

// The defaults of Options.
const (
	DefaultMaxBatch = 128  // writes in one transaction at most
	DefaultQueue    = 1024 // writes waiting for their turn at most
)

// Options tune an Actor. The zero value is ready to use.
type Options struct {
	// MaxBatch is the most writes that share one transaction; 0 means 128,
	// 1 turns group commit off (one transaction per write).
	MaxBatch int
	// Queue is how many writes may wait for their turn; when it is full Do
	// fails with ErrOverloaded. 0 means 1024.
	Queue int
	// Timeout bounds one transaction; 0 means none.
	Timeout time.Duration
	// Retryable reports whether a write that failed with err may succeed
	// when run again from the start (a serialization failure); nil means
	// never.
	Retryable func(err error) bool
	// MaxRetries is how many times a retryable failure is run again; 0
	// means 5, a negative value none.
	MaxRetries int
	// Logger receives panics (error level) and one line per batch (debug
	// level); nil discards them.
	Logger *slog.Logger
}

type request[T any] struct {
	ctx      context.Context
	fn       Func[T]
	enqueued time.Time
	reply    chan error // capacity 1: the actor never blocks on a caller that left
	span     trace.Span // the write's span when its caller is traced, else nil
}

// Actor serializes writes onto an engine's transactions. Create it with New.
type Actor[T any] struct {
	engine     Engine[T]
	log        *slog.Logger
	maxBatch   int
	timeout    time.Duration
	retryable  func(error) bool
	maxRetries int
	reqs       chan request[T]
	done       chan struct{}
	stats      stats[T]

	mu     sync.RWMutex // guards closed; held for reading while sending to reqs
	closed bool
}

// New starts an actor that runs writes on engine. Call Close to stop it.
func New[T any](engine Engine[T], opts Options) *Actor[T] {
	a := &Actor[T]{
		engine:     engine,
		log:        cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		maxBatch:   cmp.Or(max(opts.MaxBatch, 0), DefaultMaxBatch),
		timeout:    opts.Timeout,
		retryable:  opts.Retryable,
		maxRetries: max(cmp.Or(opts.MaxRetries, 5), 0),
		reqs:       make(chan request[T], cmp.Or(max(opts.Queue, 0), DefaultQueue)),
		done:       make(chan struct{}),
	}
	if a.retryable == nil {
		a.retryable = func(error) bool { return false }
	}
	go a.run()
	return a
}

// Do runs fn in a write transaction and returns its error, or the error of
// beginning or committing the transaction that holds it. It returns
// ctx.Err() without running fn when ctx ends before fn's turn comes,
// ErrClosed after Close has begun, ErrOverloaded when the queue is full,
// and *PanicError when fn panicked. Once the actor has accepted fn, Do
// waits for the outcome: nil means the write is committed, an error that
// it is not. fn runs with ctx's values but without its cancellation, since
// interrupting a statement would roll back the other writes of the batch;
// Options.Timeout bounds it instead.
//
// When ctx carries a span that records (the caller is traced), the write
// gets a child span "write", and the transaction it rides in a span
// "batch" of its own, linked both ways to the spans of its writes (see
// trace.go). Otherwise nothing is traced.
func (a *Actor[T]) Do(ctx context.Context, fn Func[T]) error {
	if parent := trace.SpanFromContext(ctx); parent.IsRecording() {
		return a.doTraced(ctx, parent, fn)
	}
	req := request[T]{ctx: ctx, fn: fn, enqueued: time.Now(), reply: make(chan error, 1)}
	if err := a.send(ctx, req); err != nil {
		return err
	}
	return <-req.reply
}

func (a *Actor[T]) send(ctx context.Context, req request[T]) error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case a.reqs <- req:
		return nil
	default:
		return ErrOverloaded
	}
}

// Close stops accepting writes, finishes every write already accepted, and
// returns once the actor has exited.
func (a *Actor[T]) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.reqs)
	}
	a.mu.Unlock()
	<-a.done
}

// QueueLen returns how many writes are waiting for their turn.
func (a *Actor[T]) QueueLen() int { return len(a.reqs) }

func (a *Actor[T]) run() {
	defer close(a.done)
	batch := make([]request[T], 0, a.maxBatch)
	for req := range a.reqs {
		// Take what is already waiting, without waiting for more: under
		// load the queue fills while the previous commit syncs, so batches
		// grow with the load and a lone write is never delayed.
		batch = append(batch[:0], req)
	fill:
		for len(batch) < a.maxBatch {
			select {
			case r, ok := <-a.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		a.runBatch(batch)
	}
}

// runBatch runs one batch in one transaction and answers every request.
func (a *Actor[T]) runBatch(batch []request[T]) {
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
	var run attempt
	var span trace.Span
	if live > 0 {
		span = startBatchSpan(batch, live)
		run = a.runLive(batch, results, live)
	}
	if span != nil {
		endBatchSpan(span, batch, results, run)
	}
	// Stats first, so that a caller that has its answer sees its batch.
	a.stats.record(batch, live, start, len(a.reqs), run.commit, run.reruns)
	for i, r := range batch {
		r.reply <- results[i]
	}
	a.log.Debug("write batch", "size", len(batch), "ran", live,
		"oldest_wait", start.Sub(batch[0].enqueued), "took", time.Since(start), "queue", len(a.reqs))
}

// attempt is what running a batch took: the COMMITs' time, and how many
// times the batch ran again with savepoints.
type attempt struct {
	commit time.Duration
	reruns int
}

// runLive runs the live requests of batch until they commit or fail for
// good, leaving each request's answer in results.
func (a *Actor[T]) runLive(batch []request[T], results []error, live int) attempt {
	var run attempt
	expired := slices.Clone(results)
	for try := 0; ; try++ {
		// First without savepoints; if a write fails, the whole attempt is
		// rolled back and the batch runs again with a savepoint per write,
		// which isolates the failure. Savepoints are not free: more
		// statements per write (and round trips, on a server).
		commit, err := a.exec(batch, results, live, false)
		run.commit += commit
		if errors.Is(err, errWriteFailed) {
			run.reruns++
			copy(results, expired)
			commit, err = a.exec(batch, results, live, true)
			run.commit += commit
		}
		if err != nil && a.retryable(err) && try < a.maxRetries {
			copy(results, expired)
			retryPause(try)
			continue
		}
		if err != nil {
			for i := range results {
				if results[i] == nil {
					results[i] = err
				}
			}
		}
		return run
	}
}

// errWriteFailed is exec's answer, without savepoints, when a write failed:
// nothing was committed, and the batch must run again with them.
var errWriteFailed = errors.New("batch: a write failed in a batch without savepoints")

// exec runs the live requests of batch in one transaction and commits. With
// savepoints, each runs within its own savepoint, so a failing write is
// rolled back alone (and run again while its error is retryable); without,
// the first failure rolls back everything and returns errWriteFailed. A
// lone write's retryable error is returned as the transaction's, so that
// runLive runs it again. results holds the expired requests' errors
// on entry and each request's own error on return; the returned error
// applies to every request whose result is still nil. A batch of one live
// request needs no savepoint: its failure rolls back the whole transaction,
// which holds nothing else.
func (a *Actor[T]) exec(batch []request[T], results []error, live int, savepoints bool) (commit time.Duration, err error) {
	ctx, cancel := a.batchContext()
	defer cancel()
	tx, err := a.engine.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("batch: begin: %w", err)
	}
	defer a.engine.Rollback(tx) // a no-op after Commit
	savepoints = savepoints && live > 1
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
		if savepoints {
			err = a.execSaved(ctx, tx, r)
		} else {
			err = a.call(ctx, tx, r)
		}
		if err == nil {
			continue
		}
		if errors.Is(err, errTx) {
			return 0, err
		}
		if live == 1 && a.retryable(err) {
			return 0, err // the deferred Rollback undoes it; runLive runs it again
		}
		results[i] = err
		if live == 1 {
			return 0, nil // the deferred Rollback undoes it
		}
		if !savepoints {
			return 0, errWriteFailed // the deferred Rollback undoes all
		}
	}
	return a.commit(ctx, tx)
}

// errTx marks the failure of a savepoint statement: the transaction as a
// whole cannot go on.
var errTx = errors.New("batch: savepoint")

// execSaved runs r within a savepoint, rolling back to it when r fails and
// running it again, after a short pause, while its error is retryable.
func (a *Actor[T]) execSaved(ctx context.Context, tx T, r request[T]) error {
	for try := 0; ; try++ {
		if err := a.engine.Savepoint(ctx, tx); err != nil {
			return fmt.Errorf("%w: %w", errTx, err)
		}
		err := a.call(ctx, tx, r)
		if err == nil {
			if err := a.engine.Release(ctx, tx); err != nil {
				return fmt.Errorf("%w: release: %w", errTx, err)
			}
			return nil
		}
		if rbErr := a.engine.RollbackTo(ctx, tx); rbErr != nil {
			return fmt.Errorf("%w: rollback to: %w (after %w)", errTx, rbErr, err)
		}
		if !a.retryable(err) || try >= a.maxRetries {
			return err
		}
		retryPause(try)
	}
}

// commit runs the engine's shared work, commits, and returns how long the
// COMMIT took.
func (a *Actor[T]) commit(ctx context.Context, tx T) (time.Duration, error) {
	if err := a.engine.Prepare(ctx, tx); err != nil {
		return 0, fmt.Errorf("batch: before commit: %w", err)
	}
	start := time.Now()
	err := a.engine.Commit(ctx, tx)
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("batch: commit: %w", err)
	}
	a.engine.Committed()
	return took, nil
}

// batchContext returns the context one transaction runs under.
func (a *Actor[T]) batchContext() (context.Context, context.CancelFunc) {
	if a.timeout > 0 {
		return context.WithTimeout(context.Background(), a.timeout)
	}
	return context.Background(), func() {}
}

// call runs one write, turning a panic into a *PanicError.
func (a *Actor[T]) call(ctx context.Context, tx T, r request[T]) (err error) {
	defer func() {
		if p := recover(); p != nil {
			perr := &PanicError{Value: p, Stack: debug.Stack()}
			a.log.Error("write panicked", "panic", p, "stack", string(perr.Stack))
			err = perr
		}
	}()
	return r.fn(writeContext{ctx, r.ctx}, tx)
}

// writeContext is the batch's context (its deadline, its cancellation)
// with the values of the caller's.
type writeContext struct {
	context.Context
	values context.Context
}

func (c writeContext) Value(key any) any { return c.values.Value(key) }

// retryPause waits a few random milliseconds, more after each attempt, so
// that writers that collided do not collide again at once.
func retryPause(attempt int) {
	time.Sleep(time.Duration(1+rand.IntN(5<<min(attempt, 6))) * time.Millisecond)
}
