// Package broadcast wakes every goroutine waiting for the next event, such
// as watchers of the change feed waiting for the next commit.
package broadcast

import (
	"context"
	"sync"
	"time"
)

// Signal is a broadcast without payload: Wait returns a channel that Notify
// closes. The zero value is ready to use and safe for concurrent use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// Wait returns a channel closed by the next Notify.
func (s *Signal) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Notify wakes everyone waiting on a channel from Wait.
func (s *Signal) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// Await waits until wake (from Wait) is closed or d has passed, and
// returns nil; or until ctx ends, and returns ctx.Err().
func Await(ctx context.Context, wake <-chan struct{}, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-wake:
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// AwaitNewer returns at once when newest reports a change after after;
// otherwise when s is notified, after poll at most, or when ctx ends (with
// ctx's error).
func (s *Signal) AwaitNewer(ctx context.Context, after int64, newest func(context.Context) (int64, error), poll time.Duration) error {
	wake := s.Wait() // before reading newest: a notification in between is not lost
	if n, err := newest(ctx); err != nil || n > after {
		return err
	}
	return Await(ctx, wake, poll)
}
