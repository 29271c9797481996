package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/pgtest"
	"customerd/internal/postgres"
	"customerd/internal/waitfor"
)

// TestConcurrentWriters runs many writers at once through two replicas,
// batched and unbatched, with deliberate duplicate emails and stale etags,
// and checks that every caller got its own result and every acknowledged
// write is stored as acknowledged.
func TestConcurrentWriters(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBatch int
	}{{"Batched", 0}, {"NotBatched", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			url := pgtest.URL(t)
			replicas := []*postgres.Store{
				mustOpen(t, url, postgres.Options{MaxBatch: tc.maxBatch}),
				mustOpen(t, url, postgres.Options{MaxBatch: tc.maxBatch}),
			}
			contested := mustCreate(t, replicas[0], "Contested", "contested@example.com")
			const workers, rounds = 16, 10
			var mu sync.Mutex
			acked := map[int64]customer.Customer{}
			winners := map[int]int{}
			var wg sync.WaitGroup
			for w := range workers {
				s := replicas[w%2]
				wg.Go(func() {
					for i := range rounds {
						email := fmt.Sprintf("w%d-r%d@example.com", w, i)
						c, err := s.CreateCustomer(ctx, customer.New{Name: fmt.Sprint("W", w), Email: email})
						if err != nil || c.Email != email {
							t.Errorf("create %s: %+v, %v", email, c, err)
							return
						}
						u, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Etag: c.Etag, Phone: ptr(email), SetPhone: true})
						if err != nil || *u.Phone != email {
							t.Errorf("update %s: %+v, %v", email, u, err)
							return
						}
						_, err = s.CreateCustomer(ctx, customer.New{Name: "Shared", Email: fmt.Sprintf("SHARED-%d@example.com", i)})
						switch {
						case err == nil:
							mu.Lock()
							winners[i]++
							mu.Unlock()
						case customer.ErrorCode(err) != customer.AlreadyExists:
							t.Errorf("shared create: %v", err)
						}
						_, err = s.UpdateCustomer(ctx, customer.Update{ID: contested.ID, Etag: contested.Etag, Name: ptr(email)})
						if code := customer.ErrorCode(err); err != nil && code != customer.Aborted {
							t.Errorf("contested update: %v", err)
						}
						mu.Lock()
						acked[u.ID] = u
						mu.Unlock()
					}
				})
			}
			waitfor.Group(t, &wg, "the writers")
			for i := range rounds {
				if winners[i] != 1 {
					t.Errorf("round %d: %d creates of the shared email succeeded", i, winners[i])
				}
			}
			for id, want := range acked {
				got, err := replicas[1].GetCustomer(ctx, id)
				if err != nil || got.Etag != want.Etag || *got.Phone != *want.Phone {
					t.Fatalf("customer %d: stored %+v, %v; acknowledged %+v", id, got, err, want)
				}
			}
			got, _ := replicas[0].GetCustomer(ctx, contested.ID)
			if got.Etag != customer.Etag(contested.ID, 2) {
				t.Fatalf("the contested customer was updated %s times over one etag", got.Etag)
			}
		})
	}
}
