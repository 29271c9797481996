package postgres

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

	"customerd/internal/audit"
	"customerd/internal/batch"
	"customerd/internal/broadcast"
	"customerd/internal/customer"
	"customerd/internal/metrics"
	"customerd/internal/pgdb"
	"customerd/internal/scan"
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
	// CancelGrace is how long a call whose context ended waits for the
	// server to stop its statement (pgx sends a cancel request) before its
	// connection is closed instead; 0 means a second.
	CancelGrace time.Duration
	// MaxRetries is how many times a write is run again after a
	// serialization failure or a deadlock (SQLSTATE 40001, 40P01), waiting
	// a few random milliseconds first; 0 means 5, a negative value none.
	// When every attempt fails the write fails with customer.Unavailable.
	MaxRetries int
	// MaxBatch is the most writes this store commits in one transaction
	// (group commit, see write.go); 0 means 128. 1 turns batching off:
	// every write is then its own transaction.
	MaxBatch int
	// Queue is how many writes may wait for the batch actor; 0 means 1024.
	// More fail at once with customer.ResourceExhausted.
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
	// AuditRetention is how long the audit trail keeps an event; 0 means
	// customer.DefaultAuditRetention.
	AuditRetention time.Duration
	// AsyncCommit sets synchronous_commit to off for this store's sessions:
	// a commit is acknowledged before its WAL reaches the server's disk, so
	// a crash of the database server (not of customerd) may lose the last
	// commits, which then never happened for anyone. Off by default.
	AsyncCommit bool
	// ReadURL, when set, names a hot standby (or a multi-host URL with
	// target_session_attrs=standby or prefer-standby) that serves
	// GetCustomer, ListCustomers and CountCustomers (see replica.go). The
	// writes, the change feed and reads it cannot serve stay on the
	// primary.
	ReadURL string
	// ReadWait is how long a read that carries a consistency token waits
	// for the standby to replay that far before it goes to the primary; 0
	// means 100ms.
	ReadWait time.Duration
	// Writable, if set, is called whenever a primary stops or starts being
	// reachable for writes (checked every second): false while none is
	// (after a crash of the primary, until a standby is promoted), true
	// again once one is.
	Writable func(ok bool)
}

// Store is the PostgreSQL customer store. Its methods are safe for
// concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	reads *pgdb.Queries
	// scans bound the lists, searches and counts running on the pool.
	scans *scan.Slots
	// scanHook, when set (by tests), runs on every scan's connection
	// before its query.
	scanHook func(ctx context.Context, conn *pgx.Conn) error
	log      *slog.Logger
	replica  *replica    // the standby that serves reads, or nil
	writable atomic.Bool // a primary answered the last check (see health.go)

	batch           *batch.Actor[*txn] // every write goes through it
	requestTTL      time.Duration
	changeRetention time.Duration
	auditRetention  time.Duration
	recorder        *audit.Recorder  // batches the audit events of reads
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
		return nil, errors.New("postgres: the database URL must start with postgres:// or postgresql://")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's error would repeat the URL, password included.
		return nil, errors.New("postgres: malformed database URL")
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
	cfg.ConnConfig.BuildContextWatcherHandler = cancelOnDone(cmp.Or(opts.CancelGrace, defaultCancelGrace))
	if opts.AsyncCommit {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrateLocked(ctx, pool, url, log); err != nil {
		pool.Close()
		return nil, err
	}

	var rep *replica
	if opts.ReadURL != "" {
		if rep, err = openReplica(ctx, opts.ReadURL, cfg, opts, log); err != nil {
			pool.Close()
			return nil, err
		}
	}

	bg, stop := context.WithCancel(context.Background())
	s := &Store{
		replica:         rep,
		pool:            pool,
		reads:           pgdb.New(pool),
		scans:           scan.NewSlots(opts.ScanConns, int(cfg.MaxConns)),
		log:             log,
		requestTTL:      cmp.Or(opts.RequestIDTTL, customer.DefaultRequestIDTTL),
		changeRetention: cmp.Or(opts.ChangeRetention, customer.DefaultChangeRetention),
		auditRetention:  cmp.Or(opts.AuditRetention, customer.DefaultAuditRetention),
		stop:            stop,
	}
	s.batch = batch.New(&writes{pool: pool, commits: &s.commits}, batch.Options{
		MaxBatch: opts.MaxBatch, Queue: opts.Queue, Timeout: batchTimeout, Logger: log,
		Retryable: retryable, MaxRetries: opts.MaxRetries,
	})
	s.recorder = audit.NewRecorder(s.storeAudit, log)
	s.stopped.Add(2)
	go s.cleanup(bg, cmp.Or(opts.CleanupInterval, customer.DefaultCleanupInterval))
	if rep != nil {
		s.stopped.Go(func() { rep.pollLag(bg) })
	}
	s.writable.Store(true) // Open just migrated on it
	s.stopped.Go(func() { s.watchPrimary(bg, opts.Writable) })
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
		// The audit events of the reads answered so far, before the
		// writer stops.
		ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
		if err := s.recorder.Close(ctx); err != nil {
			s.log.Error("storing the last audit events failed", "err", err)
		}
		cancel()
		s.batch.Close() // runs the writes already accepted
		s.pool.Close()
		if s.replica != nil {
			s.replica.pool.Close()
		}
	})
	return nil
}

// cleanup deletes expired request_ids and old changes every interval until
// ctx ends.
func (s *Store) cleanup(ctx context.Context, interval time.Duration) {
	defer s.stopped.Done()
	batch.Sweeper(ctx, interval, s.log, nil, s.expiredRequests(), s.oldChanges(), s.oldAuditEvents())
}

// expiredRequests deletes the request_ids older than the time to live.
func (s *Store) expiredRequests() batch.Sweep {
	return batch.NewSweep(s.batch, "expired request_ids", func(ctx context.Context, t *txn) (int64, error) {
		return t.q.DeleteExpiredCreateRequests(ctx, pgdb.DeleteExpiredCreateRequestsParams{
			CreatedBefore: time.Now().Add(-s.requestTTL), Batch: batch.SweepRows})
	})
}

// oldChanges deletes the changes older than the retention.
func (s *Store) oldChanges() batch.Sweep {
	return batch.NewSweep(s.batch, "old changes", func(ctx context.Context, t *txn) (int64, error) {
		return t.q.DeleteOldChanges(ctx, pgdb.DeleteOldChangesParams{
			RecordedBefore: time.Now().Add(-s.changeRetention), Batch: batch.SweepRows})
	})
}

// Gauges are the store's figures for /metrics: the batch actor's queue,
// batches and commit time, the size of the database, whether a primary is
// reachable, and the read database's figures when there is one.
func (s *Store) Gauges() []metrics.Gauge {
	g := append(s.batch.Gauges(s.Size, "Bytes of the PostgreSQL database (pg_database_size)."), s.healthGauges()...)
	if s.replica != nil {
		g = append(g, s.replica.gauges()...)
	}
	return g
}
