// Package scan bounds how many lists, searches and counts ("scans") run at
// once on a pool of database connections.
//
// A scan can read many rows; a point read (GetCustomer, the change feed)
// reads a few by key. Scans hold at most a share of the pool's connections
// at once, so that a point read (and, on a server, a write) never waits for
// a connection behind them, however many scans are queued: the others wait
// for a slot, in their own context's time.
package scan

import (
	"cmp"
	"context"

	"golang.org/x/sync/semaphore"
)

// Slots are the places of the scans of one pool.
type Slots struct {
	sem *semaphore.Weighted
	n   int
}

// NewSlots returns the slots of a pool of conns connections: n of them,
// at least one and at most conns; 0 means all but a quarter of conns.
func NewSlots(n, conns int) *Slots {
	n = max(1, min(cmp.Or(n, conns-max(1, conns/4)), conns))
	return &Slots{sem: semaphore.NewWeighted(int64(n)), n: n}
}

// Len returns how many scans run at once.
func (s *Slots) Len() int { return s.n }

// Run runs fn once it holds a slot, and returns its error; when ctx ends
// first it returns ctx's error without running fn. An error fn returns after
// ctx ended (the database's "interrupted" or "canceled") is ctx's error too.
func (s *Slots) Run(ctx context.Context, fn func() error) error {
	if err := s.sem.Acquire(ctx, 1); err != nil {
		return err
	}
	defer s.sem.Release(1)
	if err := fn(); err != nil {
		return cmp.Or(ctx.Err(), err)
	}
	return nil
}
