package broadcast

import (
	"context"
	"testing"
	"time"
)

func TestNotifyWakesEveryWaiter(t *testing.T) {
	var s Signal
	a, b := s.Wait(), s.Wait()
	select {
	case <-a:
		t.Fatal("woken before Notify")
	default:
	}
	s.Notify()
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatal("a waiter was not woken")
		}
	}
	// A wait that starts after Notify waits for the next one.
	c := s.Wait()
	select {
	case <-c:
		t.Fatal("a new wait was woken by an old Notify")
	default:
	}
	s.Notify()
	<-c
}

func TestAwait(t *testing.T) {
	var s Signal
	wake := s.Wait()
	s.Notify()
	if err := Await(context.Background(), wake, time.Hour); err != nil {
		t.Fatalf("woken: %v", err)
	}
	if err := Await(context.Background(), s.Wait(), time.Millisecond); err != nil {
		t.Fatalf("timed out: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Await(ctx, s.Wait(), time.Hour); err != context.Canceled {
		t.Fatalf("canceled: %v, want context.Canceled", err)
	}
}
