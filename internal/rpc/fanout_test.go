package rpc

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/waitfor"
)

// TestFanoutDeliversEveryChangeOnce runs watchers that join at different
// points (the start, the middle, the present, behind a buffer of only 16
// events) while writers commit, and checks that each gets exactly the
// changes after its starting point, in order, with nothing missed or
// repeated.
func TestFanoutDeliversEveryChangeOnce(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx := context.Background()
		st := e.Open(t, engine.Options{})
		f := newFanout(st, 16)
		write := func(from, to int) {
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := from + w; i < to; i += 4 {
						c, err := st.CreateCustomer(ctx, customer.New{Name: "W", Email: fmt.Sprintf("w%d@example.com", i)})
						if err != nil {
							t.Error(err)
							return
						}
						name := "Updated"
						if _, err := st.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: &name}); err != nil {
							t.Error(err)
						}
					}
				})
			}
			waitfor.Group(t, &wg, "the writers")
		}
		write(0, 50) // 100 changes before anyone watches
		_, middle, err := st.ChangeBounds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		middle /= 2

		var target atomic.Int64 // the newest change, once the writers are done
		type result struct {
			after int64
			seqs  []int64
		}
		results := make(chan result, 3)
		watch := func(after int64) {
			leave := f.join(after)
			defer leave()
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			r := result{after: after}
			for n := target.Load(); n == 0 || after < n; n = target.Load() {
				events, err := f.next(ctx, after, 7) // small reads: many trips through the buffer
				if err != nil {
					t.Errorf("watcher from %d: %v after %d events", r.after, err, len(r.seqs))
					break
				}
				for _, e := range events {
					r.seqs = append(r.seqs, e.seq)
					after = e.seq
				}
			}
			results <- r
		}
		_, now, _ := st.ChangeBounds(ctx)
		var wg sync.WaitGroup
		for _, after := range []int64{0, middle, now} { // 0 is behind the buffer
			wg.Go(func() { watch(after) })
		}
		write(50, 200) // 300 more while they watch
		_, newest, err := st.ChangeBounds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		target.Store(newest)
		waitfor.Group(t, &wg, "the watchers to see every change")
		close(results)
		all, err := st.ListChanges(ctx, 0, 1000)
		if err != nil || len(all) != 400 {
			t.Fatalf("the feed holds %d changes, %v; want 400", len(all), err)
		}
		for r := range results {
			var want []int64
			for _, c := range all {
				if c.Seq > r.after {
					want = append(want, c.Seq)
				}
			}
			if fmt.Sprint(r.seqs) != fmt.Sprint(want) {
				t.Fatalf("watcher from %d got %d events, want %d", r.after, len(r.seqs), len(want))
			}
		}
	})
}
