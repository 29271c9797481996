// Package sqlite is the SQLite adapter: it keeps customers in a SQLite file.
//
// It opens the database with the right pragmas, applies the embedded
// migrations, sends every write through the batch actor (write.go: the
// engine and the per-transaction txn the writes see) and serves reads from
// a read-only connection pool. Search is search.go. It implements
// customer.Store and customer.ChangeFeed.
package sqlite

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"customerd/internal/audit"
	"customerd/internal/batch"
	"customerd/internal/broadcast"
	"customerd/internal/customer"
	"customerd/internal/metrics"
	"customerd/internal/migrate"
	"customerd/internal/scan"
	"customerd/internal/sqlitedb"
)

// Memory is the path that selects a private in-memory database.
const Memory = ":memory:"

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Logger receives the migration progress and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// ReadConns is the size of the read-only pool; 0 means
	// max(4, 2×GOMAXPROCS).
	ReadConns int
	// ScanConns is how many connections of the read pool lists, searches
	// and counts may hold at once; the others are kept for point reads
	// (GetCustomer, the change feed), which never wait behind them. 0
	// means all but a quarter of ReadConns, and at least one; it is at most
	// ReadConns.
	ScanConns int
	// Queue is how many writes may wait for the batch actor; 0 means 1024.
	Queue int
	// MaxBatch is the most writes committed together; 0 means 128, 1
	// turns group commit off.
	MaxBatch int
	// Durability is how safe an acknowledged write is: Full (the default)
	// survives power loss; Normal survives a crash of the process but may
	// lose the last commits on power loss or an OS crash, and commits faster.
	Durability customer.Durability
	// RequestIDTTL is how long CreateCustomer remembers a request_id; 0
	// means 24 hours.
	RequestIDTTL time.Duration
	// CleanupInterval is how often expired request_ids and old changes are
	// deleted; 0 means a minute.
	CleanupInterval time.Duration
	// ChangeRetention is how long the change feed keeps a change; 0 means
	// 24 hours.
	ChangeRetention time.Duration
	// CheckpointInterval is how often the WAL is copied back into the
	// database in the background; 0 means 250ms.
	CheckpointInterval time.Duration
	// AuditRetention is how long the audit trail keeps an event; 0 means
	// customer.DefaultAuditRetention.
	AuditRetention time.Duration
	// CacheSize is how many recently read customers are kept in memory
	// (see hotCustomers); 0 means customer.DefaultCacheSize, less than 0
	// keeps none.
	CacheSize int
	// Damaged, if set, is called once, on the first operation that finds
	// the database file damaged (SQLITE_CORRUPT or SQLITE_NOTADB), after
	// the store has logged at error level what to do: a server should then
	// report itself unhealthy. It must not block.
	Damaged func()
}

// Store is the SQLite customer store. Its methods are safe for concurrent use.
type Store struct {
	write *sql.DB // one connection, owned by the batch actor
	read  *sql.DB // read-only pool
	reads *sqlitedb.Queries
	// scans bound the lists, searches and counts running on the read pool.
	scans *scan.Slots
	// scanHook, when set (by tests), runs in every scan's transaction
	// before its query.
	scanHook func(ctx context.Context, tx *sql.Tx) error
	hot      *hotCustomers      // recently read customers; nil keeps none
	writes   *writes            // the actor's engine
	batch    *batch.Actor[*txn] // every write goes through it
	ckpt     *checkpointer      // nil for :memory:, which has no WAL
	path     string
	log      *slog.Logger

	requestTTL      time.Duration
	changeRetention time.Duration
	auditRetention  time.Duration
	recorder        *audit.Recorder  // batches the audit events of reads
	commits         broadcast.Signal // notified after every commit that changed customers, for watchers
	stopCleanup     context.CancelFunc
	cleanupDone     chan struct{}

	closeOnce sync.Once
	closeErr  error
	closing   atomic.Bool // set when Close begins: errors from then on are "unavailable"

	damagedOnce sync.Once
	onDamaged   func() // Options.Damaged
}

var _ customer.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path, or a private
// in-memory database for Memory, applies pending migrations and starts the
// batch actor. It returns an error when the file cannot be opened or a
// migration fails; the error says what is wrong and what to do. A file
// that is not a SQLite database, or holds tables but no schema_migrations
// (another application's database), is refused before anything writes to
// it, so it is left exactly as it was.
func Open(path string, opts Options) (_ *Store, err error) {
	if path != Memory {
		// Before anything that writes: a file of another application must
		// be refused as it was found.
		if err := inspect(path); err != nil {
			return nil, err
		}
	}
	s := &Store{
		path:            path,
		log:             cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		requestTTL:      cmp.Or(opts.RequestIDTTL, customer.DefaultRequestIDTTL),
		changeRetention: cmp.Or(opts.ChangeRetention, customer.DefaultChangeRetention),
		auditRetention:  cmp.Or(opts.AuditRetention, customer.DefaultAuditRetention),
		cleanupDone:     make(chan struct{}),
		onDamaged:       opts.Damaged,
	}
	var undo []func() error // what to close, in reverse, if a step fails
	defer func() {
		if err != nil {
			for _, f := range slices.Backward(undo) {
				f()
			}
		}
	}()
	dsn := newDSNs(path, opts.Durability)
	if s.write, err = openWrite(path, dsn.write, s.log); err != nil {
		return nil, err
	}
	undo = append(undo, s.write.Close)
	readConns := cmp.Or(max(opts.ReadConns, 0), max(4, 2*runtime.GOMAXPROCS(0)))
	if s.read, s.reads, err = openRead(dsn.read, readConns); err != nil {
		return nil, err
	}
	undo = append(undo, s.read.Close, s.reads.Close)
	s.scans = scan.NewSlots(opts.ScanConns, readConns)
	s.hot = newHotCustomers(cmp.Or(opts.CacheSize, customer.DefaultCacheSize))
	if s.writes, err = newWrites(s.write, &s.commits, s.hot); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.batch = batch.New(s.writes, batch.Options{MaxBatch: opts.MaxBatch, Queue: opts.Queue, Logger: s.log})
	if path != Memory {
		conn, err := sql.Open("sqlite", dsn.checkpoint)
		if err != nil {
			s.batch.Close()
			s.writes.close()
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		conn.SetMaxOpenConns(1)
		s.ckpt = startCheckpointer(conn, cmp.Or(opts.CheckpointInterval, checkpointInterval), s.log)
	}
	s.recorder = audit.NewRecorder(s.storeAudit, s.log)
	bg, stop := context.WithCancel(context.Background())
	s.stopCleanup = stop
	go s.cleanup(bg, cmp.Or(opts.CleanupInterval, customer.DefaultCleanupInterval))
	return s, nil
}

// progressLog turns dbmate's progress lines into log records.
func progressLog(log *slog.Logger) io.Writer {
	return slog.NewLogLogger(log.With("component", "migrate").Handler(), slog.LevelInfo).Writer()
}

// dsns are the addresses of the connections of one database.
type dsns struct{ write, read, checkpoint string }

// newDSNs returns the addresses of path's connections, with their pragmas.
func newDSNs(path string, durability customer.Durability) dsns {
	name, journal := fileURI(path), "WAL"
	if path == Memory {
		// Every connection of a plain :memory: database sees its own empty
		// database. The memdb VFS shares one in-memory database between
		// all connections of this process that use the same name; it
		// lives as long as one of them is open (the write connection).
		name, journal = "file:/customerd-memory-"+rand.Text()+"?vfs=memdb", "MEMORY"
	}
	sep := "?"
	if strings.Contains(name, "?") {
		sep = "&"
	}
	// busy_timeout comes first so that the pragmas after it (journal_mode
	// needs a lock) wait for a lock instead of failing. WAL lets readers
	// run beside the writer; synchronous=FULL makes every acknowledged
	// commit survive power loss (NORMAL, on request, syncs the WAL only at
	// checkpoints); _txlock=immediate takes the write lock at BEGIN (the
	// migrations' transactions; the writer says BEGIN IMMEDIATE itself), so
	// a transaction never fails halfway with SQLITE_BUSY; _time_format=sqlite
	// stores time.Time parameters in SQLite's format.
	common := "_pragma=busy_timeout(10000)&_pragma=journal_mode(" + journal + ")" +
		"&_pragma=foreign_keys(1)&_time_format=sqlite"
	synchronous := "FULL"
	if durability == customer.Normal {
		synchronous = "NORMAL"
	}
	if path != Memory {
		common += walPragmas
	}
	// The writer's page cache holds the pages a stream of writes keeps
	// coming back to (index roots and inner pages, busy tables), which it
	// would otherwise read again from the WAL or the file.
	// secure_delete zeroes what a delete or an update frees (cells, pages),
	// so that an erased customer's values leave the file (see
	// EraseCustomer).
	write := name + sep + common + "&_pragma=synchronous(" + synchronous + ")&_txlock=immediate&_pragma=secure_delete(1)" + writerCache
	if path != Memory {
		write += fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", writerCheckpointFrames)
	}
	return dsns{write: write, read: name + sep + common + "&_pragma=query_only(1)", checkpoint: name + sep + common}
}

// openWrite opens the one write connection of dsn, applies the pending
// migrations and indexes what writers other than this server (the sqlite3
// shell) changed while it was not running.
func openWrite(path, dsn string, log *slog.Logger) (*sql.DB, error) {
	write, err := sql.Open("sqlite", dsn+writerTemp)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	step, err := "open", write.Ping()
	if err == nil {
		step, err = "migrate", migrate.Up(dsn, progressLog(log))
	}
	if err == nil {
		step, err = "update the search index of", updateSearchIndexNow(write)
	}
	if err == nil && path != Memory {
		step, err = "vacuum", vacuumOnce(write, log)
	}
	if err != nil {
		write.Close()
		return nil, explainOpenError(path, step, err)
	}
	return write, nil
}

// secureDeleteVersion is the user_version of a database file that has been
// vacuumed since its writer zeroes what deletes free (secure_delete).
const secureDeleteVersion = 1

// vacuumOnce VACUUMs the database once, the first time this version opens
// it: free pages and the free space of pages that deletes and updates left
// before secure_delete was on may still hold values of customers since
// erased, and only a VACUUM, which rewrites the file, clears them. From
// then on every delete zeroes what it frees. It takes about as long as
// copying the file (see docs/privacy.md).
func vacuumOnce(conn *sql.DB, log *slog.Logger) error {
	var version int
	if err := conn.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version >= secureDeleteVersion {
		return nil
	}
	// A database that never held a customer (a new one: AUTOINCREMENT
	// records every id it hands out) has nothing to clear, and keeps its
	// schema in the order the migrations made it, as db/schema.sql shows.
	var held int
	if err := conn.QueryRow(`SELECT count(*) FROM sqlite_sequence WHERE name = 'customers'`).Scan(&held); err != nil {
		return err
	}
	start := time.Now()
	if held > 0 {
		// VACUUM copies the whole database through a temporary one: on
		// disk, not in this connection's memory (writerTemp).
		if _, err := conn.Exec("PRAGMA temp_store = FILE"); err != nil {
			return err
		}
		_, err := conn.Exec("VACUUM")
		if _, rerr := conn.Exec("PRAGMA temp_store = MEMORY"); err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
	}
	if _, err := conn.Exec(fmt.Sprintf("PRAGMA user_version = %d", secureDeleteVersion)); err != nil {
		return err
	}
	if held > 0 {
		log.Info("vacuumed the database once, so that no free space holds deleted values", "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// openRead opens the read-only pool of dsn, checks that scans can
// interrupt its connections and prepares the queries on it: database/sql
// prepares each on a pooled connection the first time it runs there and
// keeps it, so queries are parsed once per connection instead of once per
// call.
func openRead(dsn string, conns int) (*sql.DB, *sqlitedb.Queries, error) {
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	read.SetMaxOpenConns(conns)
	read.SetMaxIdleConns(conns)
	if err := checkInterruptible(read); err != nil {
		read.Close()
		return nil, nil, err
	}
	reads, err := sqlitedb.Prepare(context.Background(), read)
	if err != nil {
		read.Close()
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	return read, reads, nil
}

// checkInterruptible fails unless scan can interrupt the connections of
// pool (see sqliteHandle).
func checkInterruptible(pool *sql.DB) error {
	conn, err := pool.Conn(context.Background())
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		if _, ok := sqliteHandle(dc); !ok {
			return errNoHandle
		}
		return nil
	})
}

// fileURI turns a file path into a SQLite URI, escaping the characters that
// would otherwise start the query or fragment.
func fileURI(path string) string {
	u := url.URL{Scheme: "file", Opaque: strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)}
	return u.String()
}

// WriterStats returns the statistics of the batch actor: batches, their
// sizes and the time writes waited.
func (s *Store) WriterStats() batch.Stats { return s.batch.Stats() }

// Gauges are the store's figures for /metrics: the batch actor's queue,
// batches and commit time, the size of the database and the read cache.
func (s *Store) Gauges() []metrics.Gauge {
	return append(s.batch.Gauges(s.Size, "Bytes of the database file and its WAL."), s.hot.gauges()...)
}

// Size returns the bytes the database takes on disk, its WAL included; 0
// for an in-memory database.
func (s *Store) Size() int64 {
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(s.path + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// Close stops accepting writes and finishes the writes already accepted.
// It then logs the batch actor's statistics, checkpoints the WAL into the
// database (leaving it empty), refreshes the query planner's statistics,
// and closes the database. Calls after the first
// return the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.stopCleanup()
		<-s.cleanupDone
		var errs []error
		// The audit events of the reads answered so far, before the
		// writer stops.
		ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
		if err := s.recorder.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: storing the last audit events: %w", err))
		}
		cancel()
		s.batch.Close()
		s.writes.close()
		ws := s.batch.Stats()
		s.log.Info("writer drained", "batches", ws.Batches, "writes", ws.Writes, "mean_batch", fmt.Sprintf("%.1f", ws.MeanBatch()),
			"max_batch", ws.MaxBatch, "max_queue", ws.MaxQueue, "mean_wait", ws.MeanWait(), "mean_commit", ws.MeanCommit(), "reruns", ws.Reruns, "histogram", ws.HistogramString())
		if s.ckpt != nil {
			errs = append(errs, s.ckpt.close())
		}
		// Statistics for the planner, cheap when little changed.
		if _, err := s.write.Exec("PRAGMA optimize"); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, s.reads.Close(), s.read.Close(), s.write.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// closeFlushTimeout bounds the storing of the last audit events on Close.
const closeFlushTimeout = 10 * time.Second

// cleanup deletes expired request_ids and old changes every interval
// until Close.
func (s *Store) cleanup(ctx context.Context, interval time.Duration) {
	defer close(s.cleanupDone)
	batch.Sweeper(ctx, interval, s.log, func(err error) { s.noteDamage(err) }, s.expiredRequests(), s.oldChanges(), s.oldAuditEvents())
}

// expiredRequests deletes the request_ids older than the time to live.
func (s *Store) expiredRequests() batch.Sweep {
	return batch.NewSweep(s.batch, "expired request_ids", func(ctx context.Context, t *txn) (int64, error) {
		return t.q.DeleteExpiredCreateRequests(ctx, sqlitedb.DeleteExpiredCreateRequestsParams{
			CreatedBefore: customer.FormatTime(time.Now().Add(-s.requestTTL)), Batch: batch.SweepRows})
	})
}

// oldChanges deletes the changes older than the retention.
func (s *Store) oldChanges() batch.Sweep {
	return batch.NewSweep(s.batch, "old changes", func(ctx context.Context, t *txn) (int64, error) {
		return t.q.DeleteOldChanges(ctx, sqlitedb.DeleteOldChangesParams{
			RecordedBefore: customer.FormatTime(time.Now().Add(-s.changeRetention)), Batch: batch.SweepRows})
	})
}

// purgeExpiredRequests and purgeOldChanges run one sweep now.
func (s *Store) purgeExpiredRequests(ctx context.Context) (int64, error) {
	return s.expiredRequests().Run(ctx)
}
func (s *Store) purgeOldChanges(ctx context.Context) (int64, error) { return s.oldChanges().Run(ctx) }
