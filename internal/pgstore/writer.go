package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/metrics"
	"customerd/internal/pgdb"
)

// Group commit. Every write transaction takes the same advisory lock, so
// the writes of all replicas run one at a time, and each one costs a round
// trip for BEGIN, one for the lock, its statements and a COMMIT (a WAL
// flush). A replica therefore sends its writes through one goroutine, the
// batcher, which takes all the writes waiting (up to MaxBatch) and runs
// them in one transaction, each inside its own SAVEPOINT: a write that
// fails (a duplicate email, a stale etag) is rolled back to its savepoint
// and answered with its own error, the others commit, and every caller is
// answered only after the COMMIT holding its write has returned.

// errOverloaded is returned when Options.Queue writes already wait.
var errOverloaded = errors.New("too many writes waiting")

type writeFunc = func(ctx context.Context, q *pgdb.Queries) error

type writeRequest struct {
	ctx      context.Context
	fn       writeFunc
	enqueued time.Time
	reply    chan error // capacity 1: the batcher never waits for a caller that left
}

type batcher struct {
	s        *Store
	maxBatch int

	statsMu sync.Mutex
	stats   metrics.Writes // all but Queue, read from the channel

	mu     sync.RWMutex // guards closed against sends on a closed mailbox
	closed bool
	queue  chan writeRequest
	done   chan struct{}
}

func newBatcher(s *Store, maxBatch, queue int) *batcher {
	b := &batcher{s: s, maxBatch: maxBatch, queue: make(chan writeRequest, queue), done: make(chan struct{})}
	go b.run()
	return b
}

// do queues fn and waits for the outcome of its transaction. It fails with
// errClosed after close, errOverloaded when the queue is full, and ctx's
// error, without running fn, when ctx ends before fn's turn. Once fn is
// queued, do waits for its answer even if ctx ends meanwhile: a write that
// has started is reported as it ends (committed or not), never as a
// timeout that leaves the caller guessing.
func (b *batcher) do(ctx context.Context, fn writeFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := writeRequest{ctx: ctx, fn: fn, reply: make(chan error, 1), enqueued: time.Now()}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errClosed
	}
	select {
	case b.queue <- req:
	default:
		b.mu.RUnlock()
		return errOverloaded
	}
	b.mu.RUnlock()
	return <-req.reply
}

// close stops accepting writes, runs the writes already queued and waits
// for the batcher to end.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	<-b.done
}

func (b *batcher) run() {
	defer close(b.done)
	for first := range b.queue {
		batch := []writeRequest{first}
	fill:
		for len(batch) < b.maxBatch {
			select {
			case req, ok := <-b.queue:
				if !ok {
					break fill
				}
				batch = append(batch, req)
			default:
				break fill
			}
		}
		b.runBatch(batch)
	}
}

// batchTimeout bounds one batch transaction. Statements do not run under
// the callers' contexts: cancelling one statement would break the
// connection, and with it the batch of every other caller.
const batchTimeout = time.Minute

// Gauges are the store's figures for /metrics: the batcher's queue,
// batches and commit time (zero with batching off), and the size of the
// database.
func (s *Store) Gauges() []metrics.Gauge {
	return metrics.StoreGauges(func() metrics.Writes {
		if s.batcher == nil {
			return metrics.Writes{}
		}
		s.batcher.statsMu.Lock()
		defer s.batcher.statsMu.Unlock()
		w := s.batcher.stats
		w.Queue = len(s.batcher.queue)
		return w
	}, s.Size, "Bytes of the PostgreSQL database (pg_database_size).")
}

// runBatch commits batch in one transaction, retrying the whole batch on a
// serialization failure or deadlock, and answers every request.
func (b *batcher) runBatch(batch []writeRequest) {
	now := time.Now()
	b.statsMu.Lock()
	b.stats.Writes += int64(len(batch))
	b.stats.MaxBatch = max(b.stats.MaxBatch, len(batch))
	for _, req := range batch {
		b.stats.Wait += now.Sub(req.enqueued)
	}
	b.statsMu.Unlock()
	for attempt := 0; ; attempt++ {
		errs, err := b.tryBatch(batch)
		if err != nil && retryable(err) && attempt < b.s.maxRetries {
			retryPause(attempt)
			continue
		}
		if err == nil {
			b.s.commits.Notify()
		}
		for i, req := range batch {
			if err != nil && errs[i] == nil {
				errs[i] = err
			}
			req.reply <- errs[i]
		}
		return
	}
}

// tryBatch runs batch in one transaction. It returns each request's own
// error, and an error for the transaction as a whole (nothing committed).
func (b *batcher) tryBatch(batch []writeRequest) ([]error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	errs := make([]error, len(batch))
	tx, err := b.s.pool.Begin(ctx)
	if err != nil {
		return errs, err
	}
	defer tx.Rollback(context.Background())
	q := pgdb.New(tx)
	if err := q.LockWrites(ctx); err != nil {
		return errs, err
	}
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			errs[i] = err // the caller left: never run a write nobody waits for
			continue
		}
		errs[i] = b.runOne(ctx, tx, q, req.fn)
		if errs[i] != nil && tx.Conn().IsClosed() {
			return errs, errs[i]
		}
	}
	start := time.Now()
	err = tx.Commit(ctx)
	b.statsMu.Lock()
	b.stats.Batches++
	b.stats.Commits++
	b.stats.CommitTime += time.Since(start)
	b.statsMu.Unlock()
	return errs, err
}

// runOne runs fn inside a savepoint, rolling back to it when fn fails (a
// panic included), and running it again, after a short pause, when it lost
// a race (errRetry) or hit a serialization failure or deadlock.
func (b *batcher) runOne(ctx context.Context, tx pgx.Tx, q *pgdb.Queries, fn writeFunc) (err error) {
	for attempt := 0; ; attempt++ {
		if _, err := tx.Exec(ctx, "SAVEPOINT write"); err != nil {
			return err
		}
		err = func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("write panicked: %v", p)
				}
			}()
			return fn(ctx, q)
		}()
		if err == nil {
			_, err = tx.Exec(ctx, "RELEASE SAVEPOINT write")
			return err
		}
		if _, rbErr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT write"); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		if !retryable(err) || attempt >= b.s.maxRetries {
			return err
		}
		retryPause(attempt)
	}
}

// retryPause waits a few random milliseconds, more after each attempt, so
// that writers that collided do not collide again at once.
func retryPause(attempt int) {
	time.Sleep(time.Duration(1+rand.IntN(5<<min(attempt, 6))) * time.Millisecond)
}
