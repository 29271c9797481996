package rpc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitDone fails t unless ch is closed within a few seconds.
func waitDone(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: Done was not closed within 5 s", what)
	}
}

// TestCallDeadline checks that callDeadline behaves as context.WithTimeout
// does: it ends at its deadline whether or not anyone asked for Done first,
// ends with its parent, ends on release, and its children end with it.
func TestCallDeadline(t *testing.T) {
	t.Run("deadline before Done", func(t *testing.T) {
		c := withCallDeadline(context.Background(), 20*time.Millisecond)
		defer c.release()
		if err := c.Err(); err != nil {
			t.Fatalf("Err at once: %v", err)
		}
		if d, ok := c.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
			t.Fatalf("Deadline %v %v", d, ok)
		}
		time.Sleep(30 * time.Millisecond)
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err after the deadline: %v", err)
		}
		waitDone(t, c.Done(), "Done asked after the deadline")
	})
	t.Run("Done before deadline", func(t *testing.T) {
		c := withCallDeadline(context.Background(), 20*time.Millisecond)
		defer c.release()
		child, cancel := context.WithCancel(c)
		defer cancel()
		waitDone(t, c.Done(), "the deadline")
		waitDone(t, child.Done(), "a child at the deadline")
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
		waitDone(t, done, "the parent's cancel")
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v", c.Err())
		}
		// Asked only after the parent ended: Err says so without Done.
		late := withCallDeadline(parent, time.Hour)
		if !errors.Is(late.Err(), context.Canceled) {
			t.Fatalf("late Err %v", late.Err())
		}
		waitDone(t, late.Done(), "a context made under a canceled parent")
	})
	t.Run("release", func(t *testing.T) {
		for _, askDone := range []bool{false, true} {
			c := withCallDeadline(context.Background(), time.Hour)
			if askDone {
				c.Done()
			}
			c.release()
			c.release() // twice is harmless
			waitDone(t, c.Done(), "release")
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
