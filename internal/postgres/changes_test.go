package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/pgtest"
	"customerd/internal/postgres"
	"customerd/internal/waitfor"
)

// TestChangeFeedInCommitOrder shows that a watcher reading "changes after
// the last seq I saw" skips nothing while many writers commit at once: some
// through stores (replicas) of their own, some with plain SQL on
// connections of their own that hold their transaction open a random while
// after the insert (so that, were seq not in commit order, a smaller seq
// would often commit after a larger one). At the end the watcher must have
// seen every change there is, each once, in seq order.
func TestChangeFeedInCommitOrder(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	watcher := mustOpen(t, url, postgres.Options{})

	var done atomic.Bool
	var seen []int64
	watched := make(chan error, 1)
	go func() {
		var last int64
		for {
			finished := done.Load() // read before the list: nothing commits after it is set
			changes, err := watcher.ListChanges(ctx, last, 50)
			if err != nil {
				watched <- err
				return
			}
			for _, c := range changes {
				if c.Seq <= last {
					watched <- fmt.Errorf("seq %d after %d", c.Seq, last)
					return
				}
				seen = append(seen, c.Seq)
				last = c.Seq
			}
			if len(changes) == 0 {
				if finished {
					watched <- nil
					return
				}
				wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				err := watcher.WaitForChange(wctx, last)
				cancel()
				if err != nil && wctx.Err() == nil {
					watched <- err
					return
				}
			}
		}
	}()

	const rounds = 30
	var wg sync.WaitGroup
	for w := range 4 {
		s := mustOpen(t, url, postgres.Options{})
		wg.Go(func() {
			for i := range rounds {
				c, err := s.CreateCustomer(ctx, customer.New{Name: "W", Email: fmt.Sprintf("s%d-%d@example.com", w, i)})
				if err == nil {
					_, err = s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: ptr("W2")})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for w := range 4 {
		conn := mustConnect(t, url)
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range rounds {
				tx, err := conn.Begin(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				_, err = tx.Exec(ctx, `INSERT INTO customers (name, email) VALUES ('P', $1)`, fmt.Sprintf("p%d-%d@example.com", w, i))
				if err == nil {
					_, err = tx.Exec(ctx, `SELECT pg_sleep($1)`, float64(r.IntN(3000))/1e6)
				}
				if err == nil {
					err = tx.Commit(ctx)
				}
				if err != nil {
					tx.Rollback(ctx)
					t.Error(err)
					return
				}
			}
		})
	}
	waitfor.Group(t, &wg, "the writers")
	done.Store(true)
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	all, err := watcher.ListChanges(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, c := range all {
		want = append(want, c.Seq)
	}
	if len(want) != 4*rounds*2+4*rounds {
		t.Fatalf("%d changes recorded, want %d", len(want), 4*rounds*3)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("the watcher saw %d changes, there are %d: it skipped some", len(seen), len(want))
	}
}

// TestWaitForChangeAcrossReplicas commits through one replica and checks
// that another receives the notification and its watchers wake. The
// fallback poll is set to an hour, so only the notification can wake them.
func TestWaitForChangeAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a := mustOpen(t, url, postgres.Options{})
	b := mustOpen(t, url, postgres.Options{})
	postgres.SetPoll(a, time.Hour)
	waitfor.Cond(t, "a's LISTEN connection", func() bool { return postgres.Listening(a) })
	for i := range 3 {
		_, newest, err := a.ChangeBounds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before := postgres.Notifications(a)
		woke := make(chan error, 1)
		go func() { woke <- a.WaitForChange(ctx, newest) }()
		mustCreate(t, b, "Ada", fmt.Sprintf("ada%d@example.com", i))
		waitfor.Cond(t, "the notification of b's commit", func() bool { return postgres.Notifications(a) > before })
		select {
		case err := <-woke:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the notification did not wake the watcher")
		}
	}
	// With a change already there, it returns at once.
	_, newest, _ := a.ChangeBounds(ctx)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := a.WaitForChange(cctx, newest-1); err != nil {
		t.Fatal(err)
	}
}

func TestChangeBounds(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	if oldest, newest, err := s.ChangeBounds(ctx); err != nil || oldest != 0 || newest != 0 {
		t.Fatalf("empty feed: %d, %d, %v", oldest, newest, err)
	}
	c := mustCreate(t, s, "Ada", "ada@example.com")
	if err := s.DeleteCustomer(ctx, c.ID, ""); err != nil {
		t.Fatal(err)
	}
	oldest, newest, err := s.ChangeBounds(ctx)
	if err != nil || oldest != 1 || newest != 2 {
		t.Fatalf("bounds %d, %d, %v; want 1, 2", oldest, newest, err)
	}
	changes, err := s.ListChanges(ctx, 0, 10)
	if err != nil || len(changes) != 2 || changes[1].Type != customer.Deleted || changes[1].Customer.Etag != c.Etag {
		t.Fatalf("changes %+v, %v", changes, err)
	}
}

func TestOldChangesArePruned(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, pgtest.URL(t), postgres.Options{ChangeRetention: 20 * time.Millisecond, CleanupInterval: 10 * time.Millisecond})
	mustCreate(t, s, "Ada", "ada@example.com")
	waitfor.Cond(t, "the cleanup to delete the old change", func() bool {
		_, newest, _ := s.ChangeBounds(ctx)
		return newest == 0
	})
}

// TestReplicasMigrateAtOnce starts several stores on a new database at the
// same moment: one applies the migrations, the others wait and find
// nothing to do.
func TestReplicasMigrateAtOnce(t *testing.T) {
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			s, err := postgres.Open(ctx, url, postgres.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		})
	}
	waitfor.Group(t, &wg, "the replicas to open")
	if n, want := countRows(t, url, "schema_migrations"), embeddedMigrations(t); n != want {
		t.Fatalf("%d migrations recorded, want %d (each embedded one once)", n, want)
	}
}
