// Package waitfor bounds the waits of tests: each helper fails the test,
// naming what it waited for, when the wait lasts longer than Timeout,
// instead of hanging until go test's own timeout ends the whole binary.
package waitfor

import (
	"sync"
	"testing"
	"time"
)

// Timeout is how long a test waits for anything: far longer than any wait
// takes on a loaded machine, far shorter than go test's ten minutes.
const Timeout = time.Minute

// Recv returns the next value received from ch, or fails the test after
// Timeout, saying it waited for what.
func Recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		tb.Fatalf("waited %v for %s", Timeout, what)
		panic("unreachable")
	}
}

// Group waits for wg, or fails the test after Timeout, saying it waited
// for what. The goroutines of wg are left running when it fails.
func Group(tb testing.TB, wg *sync.WaitGroup, what string) {
	tb.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	Recv(tb, done, what)
}

// Cond polls cond every few milliseconds until it reports true, or fails
// the test after Timeout, saying it waited for what.
func Cond(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s", Timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
