package rpc_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/waitfor"
)

// TestStalledWatchersDoNotBlockWriters opens watchers that read nothing
// while writers create more than their streams can buffer (flow control
// stops the server's sends to them), and checks that every write still
// succeeds, and that each watcher, once it reads, gets every change in
// order: the ones the server could not send at once come from the
// database.
func TestStalledWatchersDoNotBlockWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 large customers")
	}
	srv := startServer(t)
	c := customerv1connect.NewCustomerServiceClient(h2c, srv.url, connect.WithGRPC())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const watchers, writes = 4, 10_000
	streams := make([]*connect.ServerStreamForClient[customerv1.ChangeEvent], watchers)
	for i := range streams {
		s, err := c.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: fromTheStart})
		if err != nil {
			t.Fatal(err)
		}
		streams[i] = s // not read until every write is done
	}

	// ~800-byte events: 8 MB per watcher, more than an HTTP/2 stream's
	// 4 MB window.
	address := strings.Repeat("A long address line. ", 23)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				if _, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
					Name: strings.Repeat("N", 150), Email: fmt.Sprintf("stalled%d@example.com", i), Address: &address,
				}}); err != nil {
					t.Errorf("create %d beside stalled watchers: %v", i, err)
				}
			}
		})
	}
	for i := range writes {
		next <- i
	}
	close(next)
	waitfor.Group(t, &wg, "the creates beside stalled watchers")
	if t.Failed() {
		return
	}

	for w, s := range streams {
		// Ids are given in commit order, like the feed's sequence: the
		// events must be every create, ids strictly increasing.
		var last int64
		for n := range writes {
			if !s.Receive() {
				t.Fatalf("watcher %d: stream ended after %d of %d events: %v", w, n, writes, s.Err())
			}
			e := s.Msg()
			if e.Type != customerv1.ChangeType_CHANGE_TYPE_CREATED || e.Customer.Id <= last {
				t.Fatalf("watcher %d: event %d is customer %d after %d", w, n, e.Customer.Id, last)
			}
			last = e.Customer.Id
		}
	}
}
