package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/pgtest"
)

// bearer is a transport that presents an API key on every request, unary
// or streaming.
type bearer struct {
	key  string
	next http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.next.RoundTrip(r)
}

// replicaClients returns a client of each replica, each over another
// protocol (Connect JSON, gRPC, gRPC-Web), presenting key.
func replicaClients(urls []string, key string) []customerv1connect.CustomerServiceClient {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: bearer{key, &http.Transport{Protocols: p}}}
	http1 := &http.Client{Transport: bearer{key, http.DefaultTransport}}
	opts := [][]connect.ClientOption{{connect.WithProtoJSON()}, {connect.WithGRPC()}, {connect.WithGRPCWeb()}}
	clients := make([]customerv1connect.CustomerServiceClient, len(urls))
	for i, url := range urls {
		hc := http1
		if i%3 == 1 {
			hc = h2c
		}
		clients[i] = customerv1connect.NewCustomerServiceClient(hc, url, opts[i%3]...)
	}
	return clients
}

// startReplicas starts n customerd processes on a new PostgreSQL database,
// all reading one key file, and returns a function that kills each, their
// addresses, and a key with write scope.
func startReplicas(t *testing.T, n int) (kills []func(), urls []string, key string) {
	t.Helper()
	db := pgtest.URL(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	key = addKey(t, keys, "write")
	bin := buildBinary(t)
	for range n {
		cmd, url, _ := startBinary(t, bin, db, "-auth-keys", keys)
		kill := sync.OnceFunc(func() { cmd.Process.Kill(); cmd.Wait() })
		t.Cleanup(kill)
		kills, urls = append(kills, kill), append(urls, url)
	}
	return kills, urls, key
}

// watchAll reads every event of a watch on c into a slice until ctx ends.
func watchAll(ctx context.Context, t *testing.T, c customerv1connect.CustomerServiceClient, token string) func() []*customerv1.ChangeEvent {
	stream, err := c.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: token})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	var mu sync.Mutex
	var events []*customerv1.ChangeEvent
	go func() {
		for stream.Receive() {
			mu.Lock()
			events = append(events, stream.Msg())
			mu.Unlock()
		}
	}()
	return func() []*customerv1.ChangeEvent {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(events)
	}
}

// TestReplicas runs three customerd processes on one PostgreSQL database,
// with clients spread across them, and checks what must hold across
// replicas: one winner per email, one winner per etag, request_id retries
// landing on other replicas, page tokens carried between replicas, API
// keys, and watchers on every replica seeing every change in one order,
// resumable anywhere.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three servers")
	}
	_, urls, key := startReplicas(t, 3)
	clients := replicaClients(urls, key)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Keys: the same key works on every replica, no key on none.
	for i, url := range urls {
		anon := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
		if _, err := anon.ListCustomers(ctx, &customerv1.ListCustomersRequest{}); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Fatalf("replica %d without a key: %v", i, err)
		}
	}

	// A watcher on every replica, from before any write.
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	watchers := make([]func() []*customerv1.ChangeEvent, len(clients))
	for i, c := range clients {
		watchers[i] = watchAll(watchCtx, t, c, "AQA") // from the start of the feed
	}

	var writes atomic.Int64 // acknowledged creates, updates and deletes
	t.Run("CollidingEmails", func(t *testing.T) {
		for e := range 20 {
			email := fmt.Sprintf("contested%d@example.com", e)
			var wins, collisions atomic.Int64
			var wg sync.WaitGroup
			for r, c := range clients {
				for range 2 {
					wg.Go(func() {
						_, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
							Customer: &customerv1.Customer{Name: fmt.Sprint("Replica ", r), Email: email},
						})
						switch {
						case err == nil:
							wins.Add(1)
						case connect.CodeOf(err) == connect.CodeAlreadyExists:
							collisions.Add(1)
						default:
							t.Errorf("create %s on replica %d: %v", email, r, err)
						}
					})
				}
			}
			wg.Wait()
			if wins.Load() != 1 || collisions.Load() != 5 {
				t.Fatalf("%s: %d creates won, %d collided; want 1 and 5", email, wins.Load(), collisions.Load())
			}
			writes.Add(1)
		}
	})

	t.Run("ConflictingUpdates", func(t *testing.T) {
		for round := range 20 {
			c, err := clients[round%3].CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
				Customer: &customerv1.Customer{Name: "Start", Email: fmt.Sprintf("conflict%d@example.com", round)},
			})
			if err != nil {
				t.Fatal(err)
			}
			writes.Add(1)
			var wins, aborted atomic.Int64
			var wg sync.WaitGroup
			for r, client := range clients {
				wg.Go(func() {
					_, err := client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
						Customer:   &customerv1.Customer{Id: c.Customer.Id, Name: fmt.Sprint("Replica ", r), Etag: c.Customer.Etag},
						UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
					})
					switch {
					case err == nil:
						wins.Add(1)
					case connect.CodeOf(err) == connect.CodeAborted:
						aborted.Add(1)
					default:
						t.Errorf("update on replica %d: %v", r, err)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 || aborted.Load() != 2 {
				t.Fatalf("round %d: %d updates won, %d aborted; want 1 and 2", round, wins.Load(), aborted.Load())
			}
			writes.Add(1)
		}
	})

	t.Run("RequestIDOnEveryReplica", func(t *testing.T) {
		for k := range 20 {
			req := &customerv1.CreateCustomerRequest{
				RequestId: fmt.Sprintf("6f1d2c3b-4a5e-4f60-8a9b-%012d", k),
				Customer:  &customerv1.Customer{Name: "Retried", Email: fmt.Sprintf("retried%d@example.com", k)},
			}
			ids := make([]int64, len(clients))
			var wg sync.WaitGroup
			for r, c := range clients {
				wg.Go(func() {
					res, err := c.CreateCustomer(ctx, req)
					if err != nil {
						t.Errorf("request %d on replica %d: %v", k, r, err)
						return
					}
					ids[r] = res.Customer.Id
				})
			}
			wg.Wait()
			if ids[0] == 0 || ids[1] != ids[0] || ids[2] != ids[0] {
				t.Fatalf("request %d: replicas answered customers %v; want one customer", k, ids)
			}
			writes.Add(1)
		}
	})

	t.Run("PageTokensAcrossReplicas", func(t *testing.T) {
		for _, order := range []string{"id", "name desc", "email", "update_time desc"} {
			var all []int64
			full, err := clients[0].ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 1000, OrderBy: order})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range full.Customers {
				all = append(all, c.Id)
			}
			var paged []int64
			req := &customerv1.ListCustomersRequest{PageSize: 7, OrderBy: order}
			for page := 0; ; page++ {
				res, err := clients[page%3].ListCustomers(ctx, req) // each page from the next replica
				if err != nil {
					t.Fatalf("%s, page %d: %v", order, page, err)
				}
				for _, c := range res.Customers {
					paged = append(paged, c.Id)
				}
				if req.PageToken = res.NextPageToken; req.PageToken == "" {
					break
				}
			}
			if !slices.Equal(paged, all) {
				t.Fatalf("%s: pages from three replicas %v, one listing %v", order, paged, all)
			}
		}
	})

	t.Run("WatchersAgree", func(t *testing.T) {
		// Every acknowledged write (and nothing else: there were no other
		// writes) reaches every watcher, in the same order.
		want := int(writes.Load())
		deadline := time.Now().Add(30 * time.Second)
		for _, w := range watchers {
			for len(w()) < want && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		}
		first := tokens(watchers[0]())
		if len(first) != want {
			t.Fatalf("replica 0's watcher got %d events, want %d", len(first), want)
		}
		for r, w := range watchers[1:] {
			if got := tokens(w()); !slices.Equal(got, first) {
				t.Fatalf("replica %d's watcher saw %d events, replica 0's %d, or another order", r+1, len(got), len(first))
			}
		}
		// Resume on another replica from the middle: exactly the rest.
		mid := len(first) / 2
		rctx, rcancel := context.WithCancel(ctx)
		defer rcancel()
		resumed := watchAll(rctx, t, clients[2], first[mid-1])
		for len(resumed()) < len(first)-mid && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := tokens(resumed()); !slices.Equal(got, first[mid:]) {
			t.Fatalf("resumed on replica 2 after event %d: %d events, want the %d that followed", mid, len(got), len(first)-mid)
		}
	})
}

func tokens(events []*customerv1.ChangeEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ResumeToken
	}
	return out
}

// TestReplicaCrash kills one of three replicas with SIGKILL while clients
// write through all of them: the other two keep serving, and every write
// acknowledged by any replica, the killed one included, is in the database
// as acknowledged; writes in flight at the kill are whole or absent.
func TestReplicaCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills servers")
	}
	kills, urls, key := startReplicas(t, 3)
	clients := make([]customerv1connect.CustomerServiceClient, len(urls))
	for i, url := range urls {
		clients[i] = customerv1connect.NewCustomerServiceClient(&http.Client{
			Timeout: 5 * time.Second, Transport: bearer{key, http.DefaultTransport},
		}, url, connect.WithProtoJSON())
	}

	l := &ledger{all: map[string]*tracked{}}
	var killed atomic.Bool
	var afterKill [3]atomic.Int64 // writes acknowledged by each replica after the kill
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 12 {
		r := w % 3
		wg.Go(func() {
			l.write(clients[r], fmt.Sprintf("w%d", w), 1, stop, func() {
				if killed.Load() {
					afterKill[r].Add(1)
				}
			})
		})
	}
	time.Sleep(time.Second)
	kills[1]()         // SIGKILL replica 1 mid-write; returns once it is gone
	killed.Store(true) // only writes acknowledged from now on count as "after"
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	for _, r := range []int{0, 2} {
		if afterKill[r].Load() == 0 {
			t.Errorf("replica %d acknowledged nothing after replica 1 was killed", r)
		}
	}
	if afterKill[1].Load() > 0 {
		t.Logf("replica 1 acknowledged %d writes while being killed", afterKill[1].Load())
	}
	if lost := verify(t, clients[0], l.all, 0); lost > 0 {
		t.Fatalf("%d acknowledged writes lost", lost)
	}
	t.Logf("%d customers written; replicas 0 and 2 acknowledged %d and %d writes after the kill",
		len(l.all), afterKill[0].Load(), afterKill[2].Load())
}
