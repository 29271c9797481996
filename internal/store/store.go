// Package store keeps customers in SQLite: it opens the database with the
// right pragmas, applies the embedded migrations, sends every write through
// the writer actor and serves reads from a read-only connection pool. It
// implements customer.Store.
package store

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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"customerd/internal/broadcast"
	"customerd/internal/customer"
	"customerd/internal/migrate"
	"customerd/internal/sqlitedb"
	"customerd/internal/writer"
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
	// Queue is how many writes may wait for the writer; 0 means 1024.
	Queue int
	// MaxBatch is the most writes committed together; 0 means 128, 1
	// turns group commit off.
	MaxBatch int
	// Durability is how safe an acknowledged write is: Full (the default)
	// survives power loss; Normal survives a crash of the process but may
	// lose the last commits on power loss or an OS crash, and commits faster.
	Durability Durability
	// RequestIDTTL is how long CreateCustomer remembers a request_id; 0
	// means 24 hours.
	RequestIDTTL time.Duration
	// CleanupInterval is how often expired request_ids are deleted; 0
	// means a minute.
	CleanupInterval time.Duration
	// ChangeRetention is how long the change feed keeps a change; 0 means
	// 24 hours.
	ChangeRetention time.Duration
	// CheckpointInterval is how often the WAL is copied back into the
	// database in the background; 0 means 20ms.
	CheckpointInterval time.Duration
	// Damaged, if set, is called once, on the first operation that finds
	// the database file damaged (SQLITE_CORRUPT or SQLITE_NOTADB), after
	// the store has logged at error level what to do: a server should then
	// report itself unhealthy. It must not block.
	Damaged func()
}

// Durability is the synchronous setting of the write connection.
type Durability int

// The durability levels; see Options.Durability.
const (
	Full Durability = iota
	Normal
)

// ParseDurability parses "full" or "normal".
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "full":
		return Full, nil
	case "normal":
		return Normal, nil
	}
	return Full, fmt.Errorf("durability must be full or normal, not %q", s)
}

// Store is the SQLite customer store. Its methods are safe for concurrent use.
type Store struct {
	write *sql.DB // one connection, owned by the writer
	read  *sql.DB // read-only pool
	reads *sqlitedb.Queries
	// scanSlots holds a token per list, search or count running on the
	// read pool (see scan).
	scanSlots chan struct{}
	// scanHook, when set (by tests), runs in every scan's transaction
	// before its query.
	scanHook func(ctx context.Context, tx *sql.Tx) error
	writer   *writer.Writer
	readBack *readBack     // the writer's: see readBack
	ckpt     *checkpointer // nil for :memory:, which has no WAL
	path     string
	log      *slog.Logger

	requestTTL      time.Duration
	changeRetention time.Duration
	commits         broadcast.Signal // closed after every commit, for watchers
	stopCleanup     chan struct{}
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
// writer. It returns an error when the file cannot be opened or a
// migration fails; the error says what is wrong and what to do. A file
// that is not a SQLite database, or holds tables but no schema_migrations
// (another application's database), is refused before anything writes to
// it, so it is left exactly as it was.
func Open(path string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	queue := opts.Queue
	if queue <= 0 {
		queue = 1024
	}
	if path != Memory {
		// Before anything that writes: a file of another application must
		// be refused as it was found.
		if err := inspect(path); err != nil {
			return nil, err
		}
	}

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
	// checkpoints); _txlock=immediate takes the write lock at BEGIN, so a
	// transaction never fails halfway with SQLITE_BUSY; _time_format=sqlite
	// stores time.Time parameters in SQLite's format.
	common := "_pragma=busy_timeout(10000)&_pragma=journal_mode(" + journal + ")" +
		"&_pragma=foreign_keys(1)&_time_format=sqlite"
	synchronous := "FULL"
	if opts.Durability == Normal {
		synchronous = "NORMAL"
	}
	if path != Memory {
		common += walPragmas
	}
	// The writer's page cache holds the pages a stream of writes keeps
	// coming back to (index roots and inner pages, busy tables), which it
	// would otherwise read again from the WAL or the file.
	writeDSN := name + sep + common + "&_pragma=synchronous(" + synchronous + ")&_txlock=immediate" + writerCache
	if path != Memory {
		writeDSN += fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", writerCheckpointFrames)
	}
	readDSN := name + sep + common + "&_pragma=query_only(1)"

	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.Ping(); err != nil {
		write.Close()
		return nil, explainOpenError(path, "open", err)
	}

	if err := migrate.Up(writeDSN, logWriter{log}); err != nil {
		write.Close()
		return nil, explainOpenError(path, "migrate", err)
	}

	// Index what writers other than this server (the sqlite3 shell)
	// changed while it was not running.
	if err := updateSearchIndexNow(write); err != nil {
		write.Close()
		return nil, explainOpenError(path, "update the search index of", err)
	}

	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	if err := checkInterruptible(read); err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	// Prepared once; database/sql prepares each on a pooled connection the
	// first time it runs there and keeps it, so queries are parsed once
	// per connection instead of once per call.
	reads, err := sqlitedb.Prepare(context.Background(), read)
	if err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	var commits *broadcast.Signal // set below, once the Store exists
	rb, kw := new(readBack), new(knownWords)
	w, err := writer.New(write, writer.Options{MaxBatch: opts.MaxBatch, Queue: queue, Logger: log,
		BeforeWrites: func() {
			rb.reset()
			kw.reset()
		},
		BeforeCommit: func(ctx context.Context, q *sqlitedb.Queries) error {
			if err := kw.update(ctx, q); err != nil {
				return err
			}
			return rb.read(ctx, q)
		},
		AfterCommit: func() {
			kw.committed()
			commits.Notify()
		}})
	if err != nil {
		reads.Close()
		read.Close()
		write.Close()
		return nil, fmt.Errorf("store: %w", err)
	}

	var ckpt *checkpointer
	if path != Memory {
		conn, err := sql.Open("sqlite", name+sep+common)
		if err != nil {
			w.Close()
			reads.Close()
			read.Close()
			write.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
		conn.SetMaxOpenConns(1)
		ckpt = startCheckpointer(conn, cmp.Or(opts.CheckpointInterval, checkpointInterval), log)
	}

	s := &Store{
		path:            path,
		ckpt:            ckpt,
		write:           write,
		read:            read,
		reads:           reads,
		scanSlots:       make(chan struct{}, max(1, min(cmp.Or(opts.ScanConns, scanConns(readConns)), readConns))),
		writer:          w,
		readBack:        rb,
		log:             log,
		requestTTL:      cmp.Or(opts.RequestIDTTL, 24*time.Hour),
		changeRetention: cmp.Or(opts.ChangeRetention, 24*time.Hour),
		stopCleanup:     make(chan struct{}),
		cleanupDone:     make(chan struct{}),
		onDamaged:       opts.Damaged,
	}
	commits = &s.commits
	go s.cleanup(cmp.Or(opts.CleanupInterval, time.Minute))
	return s, nil
}

// checkInterruptible fails unless scan can interrupt the connections of
// pool (see sqliteHandle).
func checkInterruptible(pool *sql.DB) error {
	conn, err := pool.Conn(context.Background())
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		if _, ok := sqliteHandle(dc); !ok {
			return errNoHandle
		}
		return nil
	})
}

// updateSearchIndexNow runs UpdateSearchIndex in a transaction of its own
// on conn.
func updateSearchIndexNow(conn *sql.DB) error {
	ctx := context.Background()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if err := UpdateSearchIndex(ctx, sqlitedb.New(tx)); err != nil {
		return err
	}
	return tx.Commit()
}

// UpdateSearchIndex brings the full-text index up to date with the
// customers changed since it last ran (noted by triggers, see
// db/migrations/20261126020000_search_index_per_transaction.sql). The
// store's writer runs it once per transaction, before COMMIT, because FTS5
// writes a new index segment each time a statement that fires triggers
// begins after it was written to. Code that writes customers with the
// generated queries outside the store should run it before committing too.
// It returns the database's error, if any; the transaction should then be
// rolled back.
func UpdateSearchIndex(ctx context.Context, q *sqlitedb.Queries) error {
	return new(knownWords).update(ctx, q) // knowing no word: every note is tokenized
}

// fileURI turns a file path into a SQLite URI, escaping the characters that
// would otherwise start the query or fragment.
func fileURI(path string) string {
	u := url.URL{Scheme: "file", Opaque: strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)}
	return u.String()
}

// WriterStats returns the statistics of the writer: batches, their sizes and
// the time writes waited.
func (s *Store) WriterStats() writer.Stats { return s.writer.Stats() }

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

// Close stops accepting writes, finishes the writes already accepted, logs
// the writer's statistics, checkpoints the WAL into the database (leaving it empty), refreshes the
// query planner's statistics, and closes the database. Calls after the first
// return the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		close(s.stopCleanup)
		<-s.cleanupDone
		s.writer.Close()
		ws := s.writer.Stats()
		s.log.Info("writer drained", "batches", ws.Batches, "writes", ws.Writes, "mean_batch", fmt.Sprintf("%.1f", ws.MeanBatch()),
			"max_batch", ws.MaxBatch, "max_queue", ws.MaxQueue, "mean_wait", ws.MeanWait(), "mean_commit", ws.MeanCommit(), "reruns", ws.Reruns, "histogram", ws.HistogramString())
		var errs []error
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

// logWriter turns dbmate's progress lines into log records.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(p)), "component", "migrate")
	return len(p), nil
}

// cleanupBatch is how many expired request_ids one transaction deletes: small
// enough that the writes queued behind it wait a few milliseconds at most.
const cleanupBatch = 500

// cleanup deletes expired request_ids every interval until Close.
func (s *Store) cleanup(interval time.Duration) {
	defer close(s.cleanupDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stopCleanup:
			return
		case <-ticker.C:
			if _, err := s.purgeExpiredRequests(context.Background()); err != nil {
				s.noteDamage(err)
				s.log.Warn("deleting expired request_ids failed", "err", err)
			}
			if _, err := s.purgeOldChanges(context.Background()); err != nil {
				s.noteDamage(err)
				s.log.Warn("deleting old changes failed", "err", err)
			}
		}
	}
}

// purgeExpiredRequests deletes every request_id older than the time to
// live, cleanupBatch rows per write, so that other writes run in between,
// and returns how many it deleted.
func (s *Store) purgeExpiredRequests(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.writer.Do(ctx, func(ctx context.Context, q *sqlitedb.Queries) error {
			var err error
			n, err = q.DeleteExpiredCreateRequests(ctx, sqlitedb.DeleteExpiredCreateRequestsParams{
				CreatedBefore: customer.FormatTime(time.Now().Add(-s.requestTTL)),
				Batch:         cleanupBatch,
			})
			return err
		})
		total += n
		if err != nil || n < cleanupBatch {
			return total, err
		}
		select {
		case <-s.stopCleanup:
			return total, nil
		default:
		}
	}
}
