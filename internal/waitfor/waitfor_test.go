package waitfor_test

import (
	"sync"
	"testing"

	"customerd/internal/waitfor"
)

func TestRecv(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if got := waitfor.Recv(t, ch, "a value"); got != 7 {
		t.Fatalf("got %d, want 7", got)
	}
}

func TestGroup(t *testing.T) {
	var wg sync.WaitGroup
	n := 0
	wg.Go(func() { n++ })
	waitfor.Group(t, &wg, "the goroutine")
	if n != 1 {
		t.Fatalf("Group returned before the goroutine ended")
	}
}

func TestCond(t *testing.T) {
	calls := 0
	waitfor.Cond(t, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3", calls)
	}
}
