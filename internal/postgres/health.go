package postgres

import (
	"context"
	"time"

	"customerd/internal/metrics"
)

// primaryPoll is how often the store checks that a primary is reachable
// for writes.
const primaryPoll = time.Second

// watchPrimary checks every primaryPoll, until ctx ends, that the pool
// reaches a primary (a server not in recovery) and reports every change
// to report (and s.writable), logging it: without one, writes fail with Unavailable, and
// reads go on only from a read database (reads-only, degraded mode).
func (s *Store) watchPrimary(ctx context.Context, report func(ok bool)) {
	t := time.NewTicker(primaryPoll)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*primaryPoll)
		var inRecovery bool
		err := s.pool.QueryRow(pctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery)
		cancel()
		if ctx.Err() != nil {
			return
		}
		ok := err == nil && !inRecovery
		if ok != s.writable.Load() {
			s.writable.Store(ok)
			switch {
			case ok:
				s.log.Info("a primary is reachable again: serving writes")
			case s.replica != nil && s.replica.up.Load():
				s.log.Warn("no primary reachable: degraded, reads only (from the read database); writes fail with unavailable", "err", err)
			default:
				s.log.Warn("no primary reachable: writes and reads fail with unavailable", "err", err)
			}
			if report != nil {
				report(ok)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// healthGauges are the store's health figures for /metrics.
func (s *Store) healthGauges() []metrics.Gauge {
	return []metrics.Gauge{{Name: "customerd_db_writable", Type: "gauge",
		Help: "1 while a PostgreSQL primary is reachable for writes; 0 when none is (degraded: reads only, from -db-read if set).",
		Value: func() float64 {
			if s.writable.Load() {
				return 1
			}
			return 0
		}}}
}
