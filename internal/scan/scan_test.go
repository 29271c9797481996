package scan_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"customerd/internal/scan"
	"customerd/internal/waitfor"
)

func TestSlotsShareOfThePool(t *testing.T) {
	for _, c := range []struct{ n, conns, want int }{
		{0, 8, 6}, {0, 4, 3}, {0, 2, 1}, {0, 1, 1}, {3, 8, 3}, {100, 4, 4}, {-1, 4, 1},
	} {
		if got := scan.NewSlots(c.n, c.conns).Len(); got != c.want {
			t.Errorf("NewSlots(%d, %d).Len() = %d, want %d", c.n, c.conns, got, c.want)
		}
	}
}

// TestRunWaitsForASlotInItsContextsTime holds the only slot: a second scan
// waits, returns its context's error when that ends without running, and
// runs once the slot is free.
func TestRunWaitsForASlotInItsContextsTime(t *testing.T) {
	slots := scan.NewSlots(1, 1)
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- slots.Run(context.Background(), func() error { close(holding); <-release; return nil })
	}()
	waitfor.Recv(t, holding, "the first scan to hold the slot")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	if err := slots.Run(ctx, func() error { ran = true; return nil }); !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("a scan without a slot: %v, ran %v; want its deadline, not run", err, ran)
	}
	close(release)
	if err := waitfor.Recv(t, done, "the first scan"); err != nil {
		t.Fatal(err)
	}
	if err := slots.Run(context.Background(), func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("a scan with a free slot: %v, ran %v", err, ran)
	}
}

// TestRunReportsTheContextOverTheDatabase: an error after the context
// ended (the database's "interrupted") is the context's error.
func TestRunReportsTheContextOverTheDatabase(t *testing.T) {
	slots := scan.NewSlots(1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	err := slots.Run(ctx, func() error { cancel(); return errors.New("interrupted") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	boom := errors.New("boom")
	if err := slots.Run(context.Background(), func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want fn's own error", err)
	}
}
