// Package storetest holds checks that every storage engine must pass but
// that reach into an engine's internals (a test hook), so that each
// engine's own tests run them; unlike enginetest, it does not import the
// engines.
package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"customerd/internal/customer"
)

// wait bounds every wait of CheckScansLeavePointReads: far longer than any
// of them takes, so that a broken store fails the test instead of hanging it.
const wait = 30 * time.Second

// CheckScansLeavePointReads checks how a store shares its connections
// between scans (lists, searches, counts) and point reads, with every scan
// slot busy. install(onScan) makes each later scan of s call onScan once it
// holds a connection, then run a deliberately slow statement on that
// connection, one that ends only when the scan's context does;
// install(nil) undoes it. slots is how many scans s runs at once.
//
// It checks that GetCustomer answers while slots searches are blocked and
// one more waits; that a waiting search and the blocked ones return
// context.Canceled once their contexts are canceled; and that the
// connections then serve searches again.
func CheckScansLeavePointReads(t *testing.T, s customer.Store, slots int, install func(onScan func())) {
	t.Helper()
	ctx := context.Background()
	ada, err := s.CreateCustomer(ctx, customer.New{Name: "Ada Lovelace", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	search := customer.ListParams{Query: "ada", Limit: 10}

	entered := make(chan struct{}, slots+1)
	install(func() { entered <- struct{}{} })
	blockedCtx, cancelBlocked := context.WithCancel(ctx)
	defer cancelBlocked()
	blocked := make(chan error, slots)
	for range slots {
		go func() {
			_, err := s.ListCustomers(blockedCtx, search)
			blocked <- err
		}()
	}
	for i := range slots {
		select {
		case <-entered:
		case <-time.After(wait):
			t.Fatalf("only %d of %d searches got a connection", i, slots)
		}
	}
	waitingCtx, cancelWaiting := context.WithCancel(ctx)
	defer cancelWaiting()
	waiting := make(chan error, 1)
	go func() {
		_, err := s.CountCustomers(waitingCtx, search)
		waiting <- err
	}()

	getCtx, cancelGet := context.WithTimeout(ctx, wait)
	defer cancelGet()
	got, err := s.GetCustomer(getCtx, ada.ID)
	if err != nil || got.ID != ada.ID {
		t.Fatalf("GetCustomer beside %d blocked searches: %+v, %v", slots, got, err)
	}
	select {
	case <-entered:
		t.Fatalf("a scan beyond the %d slots got a connection", slots)
	default:
	}

	cancelWaiting()
	if err := receive(t, waiting, "the waiting count"); !errors.Is(err, context.Canceled) {
		t.Fatalf("the waiting count returned %v, want context.Canceled", err)
	}
	cancelBlocked()
	for range slots {
		if err := receive(t, blocked, "a blocked search"); !errors.Is(err, context.Canceled) {
			t.Fatalf("a blocked search returned %v, want context.Canceled", err)
		}
	}

	install(nil)
	for range 2 * slots {
		listCtx, cancel := context.WithTimeout(ctx, wait)
		cs, err := s.ListCustomers(listCtx, search)
		cancel()
		if err != nil || !slices.EqualFunc(cs, []customer.Customer{ada}, func(a, b customer.Customer) bool { return a.ID == b.ID }) {
			t.Fatalf("search after the cancels: %+v, %v", cs, err)
		}
	}
}

// receive returns the next value of ch, failing the test if none comes
// within wait.
func receive(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(wait):
		t.Fatalf("%s did not return within %v of its cancel", what, wait)
		return nil
	}
}
