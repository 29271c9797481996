package engine_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/waitfor"
)

// TestAuditReadsSurviveClose records read events and closes the store at
// once, before the recorder's next flush: a clean shutdown stores them.
func TestAuditReadsSurviveClose(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx := context.Background()
		dsn := e.DSN(t)
		s, err := engine.Open(ctx, dsn, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1000 {
			s.RecordAudit(customer.AuditEvent{Time: time.Now(), Principal: "p", Procedure: "GetCustomer", CustomerIDs: []int64{int64(i + 1)}, Code: "ok"})
		}
		// Enough events of one customer to span several blocks of the
		// SQLite index, read in pages both ways.
		const many = 9000
		for range many {
			s.RecordAudit(customer.AuditEvent{Time: time.Now(), Principal: "q", Procedure: "ListCustomers", CustomerIDs: []int64{2, 424242}, Code: "ok"})
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = e.Reopen(t, dsn, engine.Options{})
		for _, oldest := range []bool{true, false} {
			var seqs []int64
			var after int64
			for {
				page, err := s.ListAuditEvents(ctx, customer.AuditQuery{CustomerID: 424242, OldestFirst: oldest, After: after, Limit: 1500})
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range page {
					seqs = append(seqs, ev.Seq)
				}
				if len(page) < 1500 {
					break
				}
				if len(seqs) > many {
					t.Fatalf("oldest first %v: paging goes on past %d events", oldest, many)
				}
				after = page[len(page)-1].Seq
			}
			sorted := slices.IsSortedFunc(seqs, func(a, b int64) int { return int(a - b) })
			if !oldest {
				sorted = slices.IsSortedFunc(seqs, func(a, b int64) int { return int(b - a) })
			}
			if len(seqs) != many || !sorted || len(slices.Compact(slices.Clone(seqs))) != many {
				t.Fatalf("oldest first %v: %d events of customer 424242 (sorted %v), want %d", oldest, len(seqs), sorted, many)
			}
		}
		evs, err := s.ListAuditEvents(ctx, customer.AuditQuery{Principal: "p", OldestFirst: true, Limit: 2000})
		if err != nil || len(evs) != 1000 {
			t.Fatalf("after a clean shutdown: %d events, %v; want 1000", len(evs), err)
		}
		for i, ev := range evs {
			if !slices.Equal(ev.CustomerIDs, []int64{int64(i + 1)}) || ev.Principal != "p" || ev.Seq <= 0 {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		evs, err = s.ListAuditEvents(ctx, customer.AuditQuery{CustomerID: 500, Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].CustomerIDs[0] != 500 {
			t.Fatalf("customer 500: %+v, %v", evs, err)
		}
	})
}

// TestAuditWriteIsInItsTransaction checks that a write and its event go
// together: a write that fails stores no event of its own (the service
// records failures separately), one that succeeds is listed at once.
func TestAuditWriteIsInItsTransaction(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		s := e.Open(t, engine.Options{})
		ctx := customer.WithAudit(context.Background(), customer.AuditEvent{Principal: "w", Procedure: "CreateCustomer"})
		c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"}); err == nil {
			t.Fatal("a duplicate email was accepted")
		}
		evs, err := s.ListAuditEvents(context.Background(), customer.AuditQuery{Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].CustomerIDs[0] != c.ID || evs[0].Code != "ok" || evs[0].Principal != "w" {
			t.Fatalf("events: %+v, %v; want the one create", evs, err)
		}
	})
}

// TestAuditFailedWriteInBatch runs creates concurrently, so that they
// share transactions, half of them bound to fail on a taken email: the
// trail holds one event per create that succeeded and none for the others,
// also when a failure made the batch run again with savepoints.
func TestAuditFailedWriteInBatch(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		s := e.Open(t, engine.Options{})
		bounded, cancel := context.WithTimeout(context.Background(), waitfor.Timeout)
		defer cancel()
		ctx := customer.WithAudit(bounded, customer.AuditEvent{Principal: "w", Procedure: "CreateCustomer"})
		const pairs = 40
		created := make(chan int64, 2*pairs)
		var wg sync.WaitGroup
		for i := range 2 * pairs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				email := fmt.Sprintf("pair%d@example.com", i/2) // two creates per email: one fails
				if c, err := s.CreateCustomer(ctx, customer.New{Name: "P", Email: email}); err == nil {
					created <- c.ID
				}
			}()
		}
		waitfor.Group(t, &wg, "the concurrent creates")
		close(created)
		var want []int64
		for id := range created {
			want = append(want, id)
		}
		if len(want) != pairs {
			t.Fatalf("%d creates succeeded, want %d", len(want), pairs)
		}
		evs, err := s.ListAuditEvents(context.Background(), customer.AuditQuery{OldestFirst: true, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, ev := range evs {
			if len(ev.CustomerIDs) != 1 || ev.Procedure != "CreateCustomer" {
				t.Fatalf("event %+v", ev)
			}
			got = append(got, ev.CustomerIDs[0])
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("events of customers %v, want the created %v", got, want)
		}
	})
}

// TestAuditRetention checks that events older than the retention are
// deleted by the periodic clean-up, with their customer index.
func TestAuditRetention(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		s := e.Open(t, engine.Options{AuditRetention: time.Hour, CleanupInterval: 20 * time.Millisecond})
		old := time.Now().Add(-2 * time.Hour)
		for i := range 1200 {
			s.RecordAudit(customer.AuditEvent{Time: old, Principal: "p", Procedure: "ListCustomers", CustomerIDs: []int64{7, int64(i + 100)}, Code: "ok"})
		}
		s.RecordAudit(customer.AuditEvent{Time: time.Now(), Principal: "p", Procedure: "GetCustomer", CustomerIDs: []int64{7}, Code: "ok"})
		ctx := context.Background()
		var kept customer.AuditEvent
		waitfor.Cond(t, "old audit events to be deleted", func() bool {
			evs, err := s.ListAuditEvents(ctx, customer.AuditQuery{CustomerID: 7, Limit: 10})
			if err == nil && len(evs) == 1 && evs[0].Procedure == "GetCustomer" {
				kept = evs[0]
				return true
			}
			return false
		})
		// Later events of the same customer are found too, numbered after
		// the ones deleted.
		s.RecordAudit(customer.AuditEvent{Time: time.Now(), Principal: "p", Procedure: "UpdateCustomer", CustomerIDs: []int64{7}, Code: "ok"})
		waitfor.Cond(t, "the next event", func() bool {
			evs, err := s.ListAuditEvents(ctx, customer.AuditQuery{CustomerID: 7, Limit: 10})
			return err == nil && len(evs) == 2 && evs[0].Procedure == "UpdateCustomer" && evs[0].Seq > kept.Seq && kept.Seq > 1200
		})
	})
}
