package engine_test

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/waitfor"
)

// TestConcurrentWriters runs many writers at once, with deliberate duplicate
// emails and stale etags, batched and unbatched, and checks that every
// acknowledged write is stored as acknowledged, every rejected one left
// nothing behind, and every caller got its own result.
// writerRounds is how many rounds of writes each of TestConcurrentWriters'
// 32 workers makes. Ten keep every race of the test (32 writers on one
// email, one etag, one customer) ten times over in a few seconds per
// engine; more, for a long run, cost a write transaction each on
// PostgreSQL without batching, minutes on a loaded machine.
var writerRounds = flag.Int("writers.rounds", 10, "rounds of TestConcurrentWriters (32 writers, 5 writes a round each)")

func TestConcurrentWriters(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		for _, tc := range []struct {
			name     string
			maxBatch int
		}{{"Batched", 0}, {"NotBatched", 1}} {
			t.Run(tc.name, func(t *testing.T) {
				testConcurrentWriters(t, e.Open(t, engine.Options{MaxBatch: tc.maxBatch}))
			})
		}
	})
}

func testConcurrentWriters(t *testing.T, s engine.Engine) {
	ctx := context.Background()
	const workers = 32
	rounds := *writerRounds
	contested, err := s.CreateCustomer(ctx, customer.New{Name: "Contested", Email: "contested@example.com"})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	// The latest acknowledged state of every customer: each worker writes
	// only its own customers, in order, and the contested one has one winner.
	acked := map[int64]customer.Customer{}
	sharedWinner := map[string]int64{} // shared email → the id whose create was acknowledged
	contestedWins := 0
	record := func(c customer.Customer) {
		mu.Lock()
		defer mu.Unlock()
		acked[c.ID] = c
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				// An own create: must succeed and return exactly what was asked.
				name, email := fmt.Sprintf("W%d R%d", w, i), fmt.Sprintf("w%d-r%d@example.com", w, i)
				c, err := s.CreateCustomer(ctx, customer.New{Name: name, Email: email})
				if err != nil {
					t.Errorf("create %s: %v", email, err)
					return
				}
				if c.Name != name || c.Email != email {
					t.Errorf("create %s returned someone else's customer: %+v", email, c)
				}
				record(c)

				// A duplicate: every worker races for the same email; one wins.
				shared := fmt.Sprintf("shared-%d@EXAMPLE.com", i)
				d, err := s.CreateCustomer(ctx, customer.New{Name: fmt.Sprint("W", w), Email: shared})
				switch {
				case err == nil:
					mu.Lock()
					if prev, ok := sharedWinner[shared]; ok {
						t.Errorf("%s created twice: %d and %d", shared, prev, d.ID)
					}
					sharedWinner[shared] = d.ID
					mu.Unlock()
					record(d)
				case customer.ErrorCode(err) != customer.AlreadyExists:
					t.Errorf("duplicate %s: %v, want AlreadyExists", shared, err)
				}

				// An update with the right etag, then one with the old, stale etag.
				newName := name + " updated"
				u, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Etag: c.Etag, Name: &newName})
				if err != nil || u.Name != newName || u.ID != c.ID {
					t.Errorf("update %d: %+v, %v", c.ID, u, err)
					return
				}
				record(u)
				stale := "stale " + name
				if _, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Etag: c.Etag, Name: &stale}); customer.ErrorCode(err) != customer.Aborted {
					t.Errorf("stale update %d: %v, want Aborted", c.ID, err)
				}

				// Everyone updates the contested customer with the etag it
				// had at the start: exactly one of all these may ever win.
				cn := fmt.Sprintf("Contested by W%d", w)
				if cu, err := s.UpdateCustomer(ctx, customer.Update{ID: contested.ID, Etag: contested.Etag, Name: &cn}); err == nil {
					mu.Lock()
					contestedWins++
					mu.Unlock()
					record(cu)
				} else if customer.ErrorCode(err) != customer.Aborted {
					t.Errorf("contested update: %v", err)
				}
			}
		})
	}
	waitfor.Group(t, &wg, "the writers")
	if t.Failed() {
		return
	}
	if contestedWins != 1 {
		t.Fatalf("%d updates with the same etag succeeded, want exactly 1", contestedWins)
	}

	// Everything acknowledged is there, as acknowledged; nothing else is.
	var all []customer.Customer
	var after *customer.Cursor
	for {
		page, err := s.ListCustomers(ctx, customer.ListParams{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 1000 {
			break
		}
		after = &customer.Cursor{ID: page[len(page)-1].ID}
	}
	if len(all) != len(acked) {
		t.Fatalf("%d customers stored, %d acknowledged", len(all), len(acked))
	}
	for _, got := range all {
		want, ok := acked[got.ID]
		if !ok {
			t.Fatalf("customer %d (%s) was never acknowledged", got.ID, got.Email)
		}
		if got.Name != want.Name || got.Email != want.Email || got.Etag != want.Etag {
			t.Fatalf("customer %d stored as %+v, last acknowledged as %+v", got.ID, got, want)
		}
	}
	if len(sharedWinner) != rounds {
		t.Fatalf("%d shared emails were created, want %d (one per round)", len(sharedWinner), rounds)
	}
}
