package rpc_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/waitfor"
)

// fromTheStart is the resume token of "before the first change" (the
// token format is the server's own; tests may know it).
const fromTheStart = "AQA"

// receive reads n events from stream, failing after a timeout.
func receive(t *testing.T, stream *connect.ServerStreamForClient[customerv1.ChangeEvent], n int) []*customerv1.ChangeEvent {
	t.Helper()
	var out []*customerv1.ChangeEvent
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(out) < n && stream.Receive() {
			out = append(out, stream.Msg())
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("got %d of %d events in 10 s", len(out), n)
	}
	if len(out) < n {
		t.Fatalf("stream ended after %d of %d events: %v", len(out), n, stream.Err())
	}
	return out
}

func TestWatchCustomers(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, c customerv1connect.CustomerServiceClient, _ *testServer) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream, err := c.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: fromTheStart})
		if err != nil {
			t.Fatal(err)
		}
		a := create(t, c, "Ada", "ada@example.com")
		res, err := c.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: a.Id, Name: "Ada L."}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: a.Id}); err != nil {
			t.Fatal(err)
		}
		events := receive(t, stream, 3)
		want := []customerv1.ChangeType{customerv1.ChangeType_CHANGE_TYPE_CREATED, customerv1.ChangeType_CHANGE_TYPE_UPDATED, customerv1.ChangeType_CHANGE_TYPE_DELETED}
		for i, e := range events {
			if e.Type != want[i] || e.Customer.Id != a.Id || e.ResumeToken == "" {
				t.Fatalf("event %d: %v", i, e)
			}
		}
		if events[1].Customer.Name != "Ada L." || events[1].Customer.Etag != res.Customer.Etag ||
			!events[1].Customer.UpdateTime.AsTime().Equal(res.Customer.UpdateTime.AsTime()) {
			t.Fatalf("update event %v does not carry the updated customer %v", events[1].Customer, res.Customer)
		}
		cancel()

		// Resume after the first event: exactly the two that followed, then
		// what happens next.
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		resumed, err := c.WatchCustomers(ctx2, &customerv1.WatchCustomersRequest{ResumeToken: events[0].ResumeToken})
		if err != nil {
			t.Fatal(err)
		}
		b := create(t, c, "Bob", "bob@example.com")
		got := receive(t, resumed, 3)
		if got[0].ResumeToken != events[1].ResumeToken || got[1].ResumeToken != events[2].ResumeToken || got[2].Customer.Id != b.Id {
			t.Fatalf("resumed stream: %v", got)
		}
	})
}

func TestWatchRefusesBadTokens(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		c := customerv1connect.NewCustomerServiceClient(h2c, srv.url, connect.WithGRPC())
		create(t, c, "Ada", "ada@example.com")
		for tok, code := range map[string]connect.Code{
			"garbage": connect.CodeInvalidArgument,
			"AQ":      connect.CodeInvalidArgument,
			"AWQ":     connect.CodeInvalidArgument, // ahead of the feed (seq 100)
			"AgA":     connect.CodeInvalidArgument, // another version
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			stream, err := c.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: tok})
			if err == nil {
				for stream.Receive() {
				}
				err = stream.Err()
			}
			cancel()
			if connect.CodeOf(err) != code {
				t.Errorf("token %q: %v, want %v", tok, err, code)
			}
		}
		// A valid token opens a stream that stays open until the client leaves.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		stream, err := c.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: fromTheStart})
		if err != nil {
			t.Fatal(err)
		}
		if !stream.Receive() || stream.Msg().Type != customerv1.ChangeType_CHANGE_TYPE_CREATED {
			t.Fatalf("valid token: %v", stream.Err())
		}
	})
}

// TestWatchAfterPruning resumes from a token whose changes were pruned.
func TestWatchAfterPruning(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{ChangeRetention: 500 * time.Millisecond, CleanupInterval: 10 * time.Millisecond})
		st := srv.store
		c := customerv1connect.NewCustomerServiceClient(http1, srv.url)
		create(t, c, "Ada", "ada@example.com")
		create(t, c, "Bob", "bob@example.com")
		waitfor.Cond(t, "the cleanup to prune both changes", func() bool {
			_, newest, err := st.ChangeBounds(context.Background())
			return err != nil || newest == 0
		})
		create(t, c, "Carol", "carol@example.com") // the feed now starts at the third change
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stream, err := c.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: fromTheStart})
		if err == nil {
			stream.Receive()
			err = stream.Err()
		}
		if connect.CodeOf(err) != connect.CodeOutOfRange {
			t.Fatalf("resuming before pruned changes: %v, want out_of_range", err)
		}
	})
}
