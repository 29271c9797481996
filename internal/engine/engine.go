// Package engine opens the storage engine that a database address names: a
// SQLite file (the default, and ":memory:") or, for a postgres:// or
// postgresql:// URL, a PostgreSQL database. Both serve the same interface
// with the same behaviour; nothing above this package knows which one it
// talks to.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"customerd/internal/customer"
	"customerd/internal/metrics"
	"customerd/internal/postgres"
	"customerd/internal/sqlite"
)

// Engine is an open customer database.
type Engine interface {
	customer.Store
	customer.ChangeFeed
	customer.AuditLog
	customer.PersonalData
	// Gauges are the engine's own figures for /metrics.
	Gauges() []metrics.Gauge
	// Close finishes the writes already accepted and releases the
	// database; calls made after it fail with customer.Unavailable.
	Close() error
}

// Options tune Open. The zero value is ready to use; each field's zero
// value picks the engine's default.
type Options struct {
	// Logger receives migration progress and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// Durability is "full" (the default: an acknowledged write survives
	// power loss) or "normal" (it survives a crash of customerd, but the
	// last commits may be lost on power loss, or on PostgreSQL when the
	// database server crashes; commits are faster).
	Durability string
	// MaxBatch is the most writes committed in one transaction; 1 turns
	// group commit off.
	MaxBatch int
	// Queue is how many writes may wait for their turn before more are
	// refused with customer.ResourceExhausted.
	Queue int
	// RequestIDTTL is how long a create's request_id is remembered.
	RequestIDTTL time.Duration
	// ChangeRetention is how long the change feed keeps a change.
	ChangeRetention time.Duration
	// AuditRetention is how long the audit trail keeps an event (0:
	// customer.DefaultAuditRetention).
	AuditRetention time.Duration
	// CleanupInterval is how often expired request_ids and changes are
	// deleted.
	CleanupInterval time.Duration
	// CacheSize is how many recently read customers SQLite keeps in memory
	// (0: customer.DefaultCacheSize; less than 0: none). PostgreSQL keeps
	// none: other replicas write the same database.
	CacheSize int
	// Damaged, if set, is called once when SQLite finds the database file
	// damaged, after the store logged what to do (see
	// sqlite.Options.Damaged). PostgreSQL never calls it: it reports and
	// repairs its own storage.
	Damaged func()
	// ReadDSN, for PostgreSQL only, names a hot standby that serves reads
	// (see postgres.Options.ReadURL).
	ReadDSN string
	// Writable, if set, is called whenever a PostgreSQL primary stops or
	// starts being reachable for writes (see postgres.Options.Writable).
	// SQLite never calls it.
	Writable func(ok bool)
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redact returns dsn fit for a log: a PostgreSQL URL without its password
// (in the user part or as a password parameter).
func Redact(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Open opens the database dsn names, creating and migrating it as needed.
// It fails when opts.Durability is not "full" or "normal", when the
// database cannot be reached or opened, or when a migration fails.
func Open(ctx context.Context, dsn string, opts Options) (Engine, error) {
	durability, err := customer.ParseDurability(cmp.Or(opts.Durability, "full"))
	if err != nil {
		return nil, err
	}
	if opts.ReadDSN != "" && (!IsPostgres(dsn) || !IsPostgres(opts.ReadDSN)) {
		return nil, errors.New("a read database (-db-read) is a postgres:// URL of a hot standby, and needs a postgres:// -db")
	}
	if IsPostgres(dsn) {
		s, err := postgres.Open(ctx, dsn, postgres.Options{
			ReadURL: opts.ReadDSN, Writable: opts.Writable,
			Logger: opts.Logger, AsyncCommit: durability == customer.Normal, MaxBatch: opts.MaxBatch, Queue: opts.Queue,
			RequestIDTTL: opts.RequestIDTTL, ChangeRetention: opts.ChangeRetention, CleanupInterval: opts.CleanupInterval,
			AuditRetention: opts.AuditRetention,
		})
		if err != nil {
			return nil, err // not a typed nil in an interface
		}
		return s, nil
	}
	s, err := sqlite.Open(dsn, sqlite.Options{
		Logger: opts.Logger, Durability: durability, MaxBatch: opts.MaxBatch, Queue: opts.Queue,
		RequestIDTTL: opts.RequestIDTTL, ChangeRetention: opts.ChangeRetention, CleanupInterval: opts.CleanupInterval,
		CacheSize: opts.CacheSize, Damaged: opts.Damaged, AuditRetention: opts.AuditRetention,
	})
	if err != nil {
		return nil, err // not a typed nil in an interface
	}
	return s, nil
}

// Backup copies the SQLite database at dsn, while it may be in use, to the
// new file out (see sqlite.Backup). It fails for an in-memory database and
// for PostgreSQL, which has tools of its own, saying so.
func Backup(ctx context.Context, dsn, out string) error {
	switch {
	case dsn == sqlite.Memory:
		return errors.New("backup: an in-memory database lives only inside its server")
	case IsPostgres(dsn):
		return errors.New("backup: back up a PostgreSQL database with its own tools (pg_dump, or continuous archiving)")
	}
	return sqlite.Backup(ctx, dsn, out)
}

// Check reads the whole SQLite database at dsn and returns the problems it
// finds (see sqlite.Check), none when it is sound. It fails for an
// in-memory database and for PostgreSQL, which checks its own storage,
// saying so.
func Check(ctx context.Context, dsn string) ([]string, error) {
	switch {
	case dsn == sqlite.Memory:
		return nil, errors.New("check: an in-memory database lives only inside its server")
	case IsPostgres(dsn):
		return nil, errors.New("check: PostgreSQL checks its own storage: use pg_amcheck (the amcheck extension) on the database server; customerd check is for SQLite files")
	}
	problems, err := sqlite.Check(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	return problems, nil
}
