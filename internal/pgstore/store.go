package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"customerd/internal/broadcast"
	"customerd/internal/customer"
	"customerd/internal/pgdb"
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Logger receives the migration progress and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// MaxConns is the size of the connection pool that serves reads and
	// writes; 0 means 16. Writes of all replicas run one at a time (they
	// share the change feed's lock), so a larger pool mostly serves reads.
	// One more connection per store listens for change notifications.
	MaxConns int
	// ScanConns is how many connections of the pool lists, searches and
	// counts may hold at once; the others are kept for point reads
	// (GetCustomer, the change feed) and writes, which never wait behind
	// them. 0 means all but a quarter of the pool, and at least one.
	ScanConns int
	// StatementTimeout bounds every statement on the server
	// (statement_timeout); 0 means 30 seconds. A statement that runs longer,
	// waiting for the write lock included, fails with customer.Unavailable.
	// A caller's context deadline cancels an unbatched statement earlier;
	// batched writes run under the batch's own deadline (a minute), and a
	// caller whose context ends while its write waits is answered at once
	// and its write skipped if it has not started.
	StatementTimeout time.Duration
	// MaxRetries is how many times a write is run again after a
	// serialization failure or a deadlock (SQLSTATE 40001, 40P01), waiting
	// a few random milliseconds first; 0 means 5, a negative value none.
	// When every attempt fails the write fails with customer.Unavailable.
	MaxRetries int
	// MaxBatch is the most writes this store commits in one transaction
	// (group commit, see writer.go); 0 means 128. 1 turns batching off:
	// every write is then its own transaction on a pooled connection.
	MaxBatch int
	// Queue is how many writes may wait for the batcher; 0 means 1024. More
	// fail at once with customer.ResourceExhausted. Unused when MaxBatch is 1.
	Queue int
	// RequestIDTTL is how long CreateCustomer remembers a request_id; 0
	// means 24 hours.
	RequestIDTTL time.Duration
	// CleanupInterval is how often expired request_ids and old changes are
	// deleted; 0 means a minute. Every replica cleans up; the deletes are
	// small batches, so they do not get in each other's way.
	CleanupInterval time.Duration
	// ChangeRetention is how long the change feed keeps a change; 0 means
	// 24 hours.
	ChangeRetention time.Duration
	// AsyncCommit sets synchronous_commit to off for this store's sessions:
	// a commit is acknowledged before its WAL reaches the server's disk, so
	// a crash of the database server (not of customerd) may lose the last
	// commits, which then never happened for anyone. Off by default.
	AsyncCommit bool
}

// Store is the PostgreSQL customer store. Its methods are safe for
// concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	reads *pgdb.Queries
	// scanSlots holds a token per list, search or count running on the
	// pool (see scan).
	scanSlots chan struct{}
	// scanHook, when set (by tests), runs on every scan's connection
	// before its query.
	scanHook func(ctx context.Context, conn *pgx.Conn) error
	log      *slog.Logger

	maxRetries      int
	batcher         *batcher // nil when MaxBatch is 1
	requestTTL      time.Duration
	changeRetention time.Duration
	commits         broadcast.Signal // closed after every commit seen, for watchers
	listening       atomic.Bool      // the LISTEN connection is up
	poll            time.Duration    // WaitForChange's fallback poll: a second
	notifications   atomic.Int64     // notifications received, for tests

	stop    context.CancelFunc // stops the cleanup and the listener
	stopped sync.WaitGroup

	closeOnce sync.Once
	closing   atomic.Bool // set when Close begins: errors from then on are "unavailable"
}

var (
	_ customer.Store      = (*Store)(nil)
	_ customer.ChangeFeed = (*Store)(nil)
)

// The keys of the advisory locks the store takes. writeLockKey is also in
// the change trigger of db/postgres/migrations.
const (
	writeLockKey   = 7173
	migrateLockKey = 7174
)

// Open connects to the PostgreSQL database at url (postgres://… or
// postgresql://…, with libpq's parameters), applies the pending embedded
// migrations and starts the background cleanup and change listener. The
// database must exist. Replicas that open the same database at once migrate
// it one after another. It returns an error when url is malformed, the
// server cannot be reached, or a migration fails. ctx bounds the
// connecting and migrating, waiting for another replica's migration
// included, and so do five minutes when ctx sets no earlier deadline: the
// error then says what was being waited for.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, errors.New("pgstore: the database URL must start with postgres:// or postgresql://")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's error would repeat the URL, password included.
		return nil, errors.New("pgstore: malformed database URL")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	} else if !strings.Contains(url, "pool_max_conns=") {
		cfg.MaxConns = 16
	}
	timeout := cmp.Or(opts.StatementTimeout, 30*time.Second)
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(timeout.Milliseconds())
	cfg.ConnConfig.RuntimeParams["application_name"] = cmp.Or(cfg.ConnConfig.RuntimeParams["application_name"], "customerd")
	// Timestamps come back in UTC whatever the server's default time zone.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// pgx prepares every query; after five runs PostgreSQL may switch a
	// prepared query to a generic plan that does not see its parameters.
	// For a search, whether to walk the order's index or to start from
	// the full-text index depends on how common the words are, so every
	// run is planned with its own values.
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	cfg.ConnConfig.BuildContextWatcherHandler = cancelOnDone
	if opts.AsyncCommit {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if err := migrateLocked(ctx, pool, url, log); err != nil {
		pool.Close()
		return nil, err
	}

	bg, stop := context.WithCancel(context.Background())
	s := &Store{
		pool:            pool,
		reads:           pgdb.New(pool),
		scanSlots:       make(chan struct{}, max(1, min(cmp.Or(opts.ScanConns, scanConns(int(cfg.MaxConns))), int(cfg.MaxConns)))),
		log:             log,
		maxRetries:      opts.MaxRetries,
		requestTTL:      cmp.Or(opts.RequestIDTTL, 24*time.Hour),
		changeRetention: cmp.Or(opts.ChangeRetention, 24*time.Hour),
		stop:            stop,
	}
	if s.maxRetries == 0 {
		s.maxRetries = 5
	}
	if maxBatch := cmp.Or(opts.MaxBatch, 128); maxBatch > 1 {
		s.batcher = newBatcher(s, maxBatch, cmp.Or(opts.Queue, 1024))
	}
	s.stopped.Add(2)
	go s.cleanup(bg, cmp.Or(opts.CleanupInterval, time.Minute))
	// The listener waits for notifications, not for a statement: a cancel
	// request would have nothing to stop, so when the store closes its
	// connection is closed at once rather than after cancelGrace.
	listenCfg := cfg.ConnConfig.Copy()
	listenCfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	go s.listen(bg, listenCfg)
	return s, nil
}

// Size returns the bytes the database takes on disk (pg_database_size),
// or 0 when it cannot be read.
func (s *Store) Size() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := s.reads.DatabaseSize(ctx)
	if err != nil {
		return 0
	}
	return n
}

// Close stops the background work, stops accepting writes, commits the
// writes already accepted, waits for the calls in flight to return their
// connections and closes the pool. Calls made afterwards fail
// with customer.Unavailable. It always returns nil; calling it again does
// nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.stop()
		s.stopped.Wait()
		if s.batcher != nil {
			s.batcher.close() // runs the writes already accepted
		}
		s.pool.Close()
	})
	return nil
}

// logWriter turns dbmate's progress lines into log records.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(p)), "component", "migrate")
	return len(p), nil
}

// write runs fn in a transaction that first takes the write lock, and
// commits it unless fn fails: through the batcher, or, with batching off,
// in a transaction of its own. A serialization failure or deadlock runs it
// again, up to maxRetries times, after a short random pause; so does
// errRetry, which fn returns when it lost a race it can only win by
// starting over. After a commit, watchers of this replica are woken at once
// (the others by the NOTIFY of the change trigger).
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, q *pgdb.Queries) error) error {
	if s.closing.Load() {
		return errClosed
	}
	if s.batcher != nil {
		return s.batcher.do(ctx, fn)
	}
	// Like the batcher: once begun, a write runs to its end whatever
	// happens to ctx (statement_timeout bounds it), so that its caller
	// learns whether it committed.
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		wctx := context.WithoutCancel(ctx)
		err := pgx.BeginFunc(wctx, s.pool, func(tx pgx.Tx) error {
			q := pgdb.New(tx)
			if err := q.LockWrites(wctx); err != nil {
				return err
			}
			return fn(wctx, q)
		})
		if err == nil {
			s.commits.Notify()
			return nil
		}
		if !retryable(err) || attempt >= s.maxRetries {
			return err
		}
		retryPause(attempt)
	}
}

// cleanupBatch is how many expired rows one transaction deletes: small
// enough that the writes queued behind it wait a few milliseconds at most.
const cleanupBatch = 500

// cleanup deletes expired request_ids and old changes every interval until
// ctx ends.
func (s *Store) cleanup(ctx context.Context, interval time.Duration) {
	defer s.stopped.Done()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if _, err := s.purgeExpiredRequests(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("deleting expired request_ids failed", "err", err)
			}
			if _, err := s.purgeOldChanges(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("deleting old changes failed", "err", err)
			}
		}
	}
}

// purgeExpiredRequests deletes every request_id older than the time to
// live, cleanupBatch rows per transaction, and returns how many it deleted.
func (s *Store) purgeExpiredRequests(ctx context.Context) (int64, error) {
	return purge(ctx, func(ctx context.Context) (int64, error) {
		var n int64
		err := s.write(ctx, func(ctx context.Context, q *pgdb.Queries) error {
			var err error
			n, err = q.DeleteExpiredCreateRequests(ctx, pgdb.DeleteExpiredCreateRequestsParams{
				CreatedBefore: time.Now().Add(-s.requestTTL), Batch: cleanupBatch,
			})
			return err
		})
		return n, err
	})
}

// purgeOldChanges deletes the changes older than the retention, in batches.
func (s *Store) purgeOldChanges(ctx context.Context) (int64, error) {
	return purge(ctx, func(ctx context.Context) (int64, error) {
		var n int64
		err := s.write(ctx, func(ctx context.Context, q *pgdb.Queries) error {
			var err error
			n, err = q.DeleteOldChanges(ctx, pgdb.DeleteOldChangesParams{
				RecordedBefore: time.Now().Add(-s.changeRetention), Batch: cleanupBatch,
			})
			return err
		})
		return n, err
	})
}

// purge runs batch until it deletes fewer than cleanupBatch rows.
func purge(ctx context.Context, batch func(context.Context) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := batch(ctx)
		total += n
		if err != nil || n < cleanupBatch {
			return total, err
		}
	}
}
