package rpc

import (
	"context"
	"sync"
	"time"
)

// callDeadline is a call's context with the server's default deadline,
// made without a timer. context.WithTimeout arms a timer on every call and
// links it to the request's context, which cost a GetCustomer answered
// from the cache a twentieth of its CPU, while nearly every call ends long
// before its deadline without ever waiting on Done. Here the timer and the
// link to the parent are made the first time something asks for Done (a
// query, a write waiting for its batch); until then Err reads the clock.
// release ends the context, as a CancelFunc does.
type callDeadline struct {
	context.Context // the parent: its values and its cancellation
	deadline        time.Time

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	err   error         // why the context ended; set once
	timer *time.Timer   // armed by the first Done
	stop  func() bool   // undoes the first Done's link to the parent
}

// withCallDeadline returns a child of parent that ends d from now.
func withCallDeadline(parent context.Context, d time.Duration) *callDeadline {
	return &callDeadline{Context: parent, deadline: time.Now().Add(d)}
}

// Deadline returns the call's deadline.
func (c *callDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the context ends.
func (c *callDeadline) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	if c.err == nil {
		c.err = c.ended()
	}
	if c.err != nil {
		close(c.done)
		return c.done
	}
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.end(context.DeadlineExceeded) })
	c.stop = context.AfterFunc(c.Context, func() { c.end(c.Context.Err()) })
	return c.done
}

// Err returns why the context ended, or nil while it has not.
func (c *callDeadline) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		if c.err = c.ended(); c.err != nil && c.done != nil {
			close(c.done)
		}
	}
	return c.err
}

// ended returns why the context has ended by now, or nil.
func (c *callDeadline) ended() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// end ends the context with err, unless it has ended already.
func (c *callDeadline) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		if c.done != nil {
			close(c.done)
		}
	}
}

// release ends the context with context.Canceled (if nothing ended it
// before) and stops its timer and its link to the parent.
func (c *callDeadline) release() {
	c.end(context.Canceled)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.stop()
	}
}
