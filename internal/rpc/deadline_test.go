package rpc

import (
	"context"
	"errors"
	"testing"
	"time"

	"customerd/internal/waitfor"
)

// TestCallDeadline checks that callDeadline behaves as context.WithTimeout
// does: it ends at its deadline whether or not anyone asked for Done first,
// ends with its parent, ends on release, and its children end with it.
func TestCallDeadline(t *testing.T) {
	t.Run("deadline before Done", func(t *testing.T) {
		// A second, so that a stalled machine does not pass it before the
		// first Err.
		c := withCallDeadline(context.Background(), time.Second)
		defer c.release()
		if err := c.Err(); err != nil {
			t.Fatalf("Err at once: %v", err)
		}
		d, ok := c.Deadline()
		if !ok || time.Until(d) > time.Second {
			t.Fatalf("Deadline %v %v", d, ok)
		}
		time.Sleep(time.Until(d) + 10*time.Millisecond)
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err after the deadline: %v", err)
		}
		waitfor.Recv(t, c.Done(), "Done asked after the deadline")
	})
	t.Run("Done before deadline", func(t *testing.T) {
		c := withCallDeadline(context.Background(), 20*time.Millisecond)
		defer c.release()
		child, cancel := context.WithCancel(c)
		defer cancel()
		waitfor.Recv(t, c.Done(), "the deadline")
		waitfor.Recv(t, child.Done(), "a child at the deadline")
		if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err %v, child's %v", c.Err(), child.Err())
		}
	})
	t.Run("parent canceled", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := withCallDeadline(parent, time.Hour)
		defer c.release()
		done := c.Done()
		cancel()
		waitfor.Recv(t, done, "the parent's cancel")
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v", c.Err())
		}
		// Asked only after the parent ended: Err says so without Done.
		late := withCallDeadline(parent, time.Hour)
		if !errors.Is(late.Err(), context.Canceled) {
			t.Fatalf("late Err %v", late.Err())
		}
		waitfor.Recv(t, late.Done(), "a context made under a canceled parent")
	})
	t.Run("release", func(t *testing.T) {
		for _, askDone := range []bool{false, true} {
			c := withCallDeadline(context.Background(), time.Hour)
			if askDone {
				c.Done()
			}
			c.release()
			c.release() // twice is harmless
			waitfor.Recv(t, c.Done(), "release")
			if !errors.Is(c.Err(), context.Canceled) {
				t.Fatalf("Err after release: %v", c.Err())
			}
		}
	})
	t.Run("values", func(t *testing.T) {
		type key struct{}
		c := withCallDeadline(context.WithValue(context.Background(), key{}, "v"), time.Hour)
		defer c.release()
		if c.Value(key{}) != "v" {
			t.Fatal("the parent's value is lost")
		}
	})
}
