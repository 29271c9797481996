package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"customerd/internal/batch"
	"customerd/internal/consistency"
	"customerd/internal/metrics"
)

// Reads from a hot standby. With Options.ReadURL, GetCustomer,
// ListCustomers and CountCustomers run on a pool of the standby, and the
// primary's pool keeps the writes and the change feed. A read whose
// context asks for a WAL position (consistency.AtLeast: the client sent
// back a write's token) runs on the standby only once it has replayed
// that far, waiting up to Options.ReadWait; otherwise it runs on the
// primary. A read without one may be as stale as the standby's replay
// lag. A read that fails on the standby for any reason but "no rows" runs
// again on the primary.

// replica is the standby's pool and what the store knows of it.
type replica struct {
	pool *pgxpool.Pool
	wait time.Duration // how long a read waits for the standby to catch up
	log  *slog.Logger

	replayed atomic.Uint64 // the last replay position seen (an LSN)
	lag      atomic.Uint64 // math.Float64bits of the replay lag in seconds
	up       atomic.Bool   // the last poll reached the standby

	standbyReads atomic.Int64 // reads served by the standby
	primaryReads atomic.Int64 // reads sent to the primary: the standby was behind their token, or failed
}

// The defaults of Options.ReadWait and the replay poll.
const (
	defaultReadWait = 100 * time.Millisecond
	replayPoll      = 5 * time.Millisecond // while a read waits for the standby
	lagPoll         = time.Second
)

// openReplica opens the pool of the standby at url, configured as the
// primary's (cfg) but for its address.
func openReplica(ctx context.Context, url string, primary *pgxpool.Config, opts Options, log *slog.Logger) (*replica, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("postgres: malformed read database URL")
	}
	cfg.MaxConns = primary.MaxConns
	for k, v := range primary.ConnConfig.RuntimeParams {
		if _, set := cfg.ConnConfig.RuntimeParams[k]; !set && k != "synchronous_commit" {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	cfg.ConnConfig.BuildContextWatcherHandler = primary.ConnConfig.BuildContextWatcherHandler
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: read database: %w", err)
	}
	r := &replica{pool: pool, wait: cmp.Or(opts.ReadWait, defaultReadWait), log: log}
	r.up.Store(true) // until the first poll says otherwise
	return r, nil
}

// replay asks the standby how far it has replayed and how far behind it
// is, and remembers both. A server that is not in recovery (the read URL
// names a primary, or the standby was promoted) has replayed everything.
func (r *replica) replay(ctx context.Context) (consistency.LSN, error) {
	var text string
	var lag float64
	err := r.pool.QueryRow(ctx, `
		SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END::text,
		       CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
		            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8`).Scan(&text, &lag)
	if err != nil {
		if ctx.Err() == nil { // not merely a wait that ran out
			r.up.Store(false)
		}
		return 0, err
	}
	lsn, err := consistency.Parse(text)
	if err != nil {
		return 0, err
	}
	r.up.Store(true)
	r.lag.Store(math.Float64bits(max(lag, 0)))
	for {
		cur := r.replayed.Load()
		if uint64(lsn) <= cur || r.replayed.CompareAndSwap(cur, uint64(lsn)) {
			return consistency.LSN(max(cur, uint64(lsn))), nil
		}
	}
}

// caughtUp reports whether the standby has replayed at least to, polling
// it for up to r.wait (less when ctx ends first).
func (r *replica) caughtUp(ctx context.Context, to consistency.LSN) bool {
	switch {
	case to == 0:
		return true
	case to == consistency.Primary:
		return false
	case consistency.LSN(r.replayed.Load()) >= to:
		return true
	}
	wctx, cancel := context.WithTimeout(ctx, r.wait)
	defer cancel()
	for {
		if lsn, err := r.replay(wctx); err == nil && lsn >= to {
			return true
		}
		select {
		case <-wctx.Done():
			return false
		case <-time.After(replayPoll):
		}
	}
}

// pollLag refreshes the replay position and lag every lagPoll until ctx
// ends, logging when the standby stops or starts answering.
func (r *replica) pollLag(ctx context.Context) {
	t := time.NewTicker(lagPoll)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, lagPoll)
		wasUp := r.up.Load()
		_, err := r.replay(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
		case err != nil && wasUp:
			r.log.Warn("the read database does not answer; reads go to the primary", "err", err)
		case err == nil && !wasUp:
			r.log.Info("the read database answers again; reads go to it")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gauges are the standby's figures for /metrics.
func (r *replica) gauges() []metrics.Gauge {
	up := func() float64 {
		if r.up.Load() {
			return 1
		}
		return 0
	}
	return []metrics.Gauge{
		{Name: "customerd_db_read_replay_lag_seconds", Type: "gauge",
			Help:  "How far the read database (-db-read) is behind the primary: the age of the last transaction it replayed, 0 when it has replayed all it received. Reads without a consistency token may be this stale.",
			Value: func() float64 { return math.Float64frombits(r.lag.Load()) }},
		{Name: "customerd_db_read_up", Type: "gauge", Help: "1 when the read database (-db-read) answered its last poll.", Value: up},
		{Name: "customerd_db_read_standby_total", Type: "counter", Help: "Reads served by the read database (-db-read).",
			Value: func() float64 { return float64(r.standbyReads.Load()) }},
		{Name: "customerd_db_read_primary_total", Type: "counter",
			Help:  "Reads sent to the primary although -db-read is set: the read database had not replayed a client's consistency token in time, or failed.",
			Value: func() float64 { return float64(r.primaryReads.Load()) }},
	}
}

// read runs fn on the standby's pool when the store has one and it has
// replayed the position ctx asks for, else (or when it fails there) on the
// primary's.
func (s *Store) read(ctx context.Context, fn func(pool *pgxpool.Pool) error) error {
	r := s.replica
	if r == nil {
		return fn(s.pool)
	}
	// A standby that did not answer is left alone until a poll reaches
	// it again (within lagPoll).
	if r.up.Load() && r.caughtUp(ctx, consistency.AtLeast(ctx)) {
		err := fn(r.pool)
		if err == nil || errors.Is(err, pgx.ErrNoRows) || ctx.Err() != nil {
			r.standbyReads.Add(1)
			return err
		}
		if isConnError(err) {
			r.up.Store(false)
		}
		s.log.Warn("a read failed on the read database; running it on the primary", "err", err)
	}
	r.primaryReads.Add(1)
	return fn(s.pool)
}

// write runs fn through the batch actor; when ctx records consistency
// tokens and the store reads from a standby, it records the WAL position
// of fn's commit (consistency.Primary when that could not be read).
func (s *Store) write(ctx context.Context, fn batch.Func[*txn]) error {
	if s.replica == nil || !consistency.Recording(ctx) {
		return s.batch.Do(ctx, fn)
	}
	var at consistency.LSN
	err := s.batch.Do(ctx, func(ctx context.Context, t *txn) error {
		t.lsns = append(t.lsns, &at)
		return fn(ctx, t)
	})
	if err == nil {
		consistency.Record(ctx, at)
	}
	return err
}

// commitPosition returns the WAL position just after a commit that has
// returned: the insert position, which is past every record written.
func commitPosition(ctx context.Context, pool *pgxpool.Pool) consistency.LSN {
	var text string
	if err := pool.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&text); err != nil {
		return consistency.Primary
	}
	lsn, err := consistency.Parse(text)
	if err != nil {
		return consistency.Primary
	}
	return lsn
}
