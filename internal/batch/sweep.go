package batch

import (
	"context"
	"log/slog"
	"time"
)

// SweepRows is how many rows one round of a Sweep deletes: small enough
// that the writes queued behind a round wait a few milliseconds at most.
const SweepRows = 500

// Sweep is a clean-up that deletes expired rows: Round deletes at most
// SweepRows of them, in a write of its own, and returns how many it deleted.
type Sweep struct {
	What  string // for the log: "expired request_ids"
	Round func(ctx context.Context) (int64, error)
}

// NewSweep returns the sweep whose rounds run del as a write of a.
func NewSweep[T any](a *Actor[T], what string, del func(ctx context.Context, tx T) (int64, error)) Sweep {
	return Sweep{What: what, Round: func(ctx context.Context) (n int64, err error) {
		err = a.Do(ctx, func(ctx context.Context, tx T) (err error) {
			n, err = del(ctx, tx)
			return err
		})
		return n, err
	}}
}

// Run runs rounds until one deletes fewer than SweepRows rows, one fails or
// ctx ends, so that other writes run in between; it returns how many rows
// it deleted.
func (sw Sweep) Run(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := sw.Round(ctx)
		total += n
		if err != nil || n < SweepRows || ctx.Err() != nil {
			return total, err
		}
	}
}

// Sweeper runs sweeps every interval until ctx ends, logging a sweep that
// fails (after passing its error to failed, when set). It returns when ctx
// ends.
func Sweeper(ctx context.Context, interval time.Duration, log *slog.Logger, failed func(error), sweeps ...Sweep) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for _, sw := range sweeps {
			if _, err := sw.Run(ctx); err != nil && ctx.Err() == nil {
				if failed != nil {
					failed(err)
				}
				log.Warn("deleting "+sw.What+" failed", "err", err)
			}
		}
	}
}
