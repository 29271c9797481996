package rpc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/rpc"
	"customerd/internal/waitfor"
)

// sse is one server-sent event as a client sees it.
type sse struct {
	id, event, data string
}

// eventStream is an open GET of the change feed as server-sent events.
type eventStream struct {
	resp   *http.Response
	events chan sse
}

// watchEvents opens the event stream at base with the resume token in the
// query (if any) and the Last-Event-ID header (if any), as key (if any).
// It fails the test unless the server answers 200 with text/event-stream.
func watchEvents(t *testing.T, client *http.Client, base, query, lastID, key string) *eventStream {
	t.Helper()
	s, status, body := tryWatchEvents(t, client, base, query, lastID, key)
	if s == nil {
		t.Fatalf("GET %s?resume_token=%s (Last-Event-ID %q): %d %s", rpc.WatchEventsPath, query, lastID, status, body)
	}
	return s
}

// tryWatchEvents is watchEvents that returns the status and body of a
// refusal instead of failing.
func tryWatchEvents(t *testing.T, client *http.Client, base, query, lastID, key string) (*eventStream, int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u := base + rpc.WatchEventsPath
	if query != "" {
		u += "?resume_token=" + url.QueryEscape(query)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	done := make(chan struct{})
	var resp *http.Response
	var err error
	go func() { defer close(done); resp, err = client.Do(req) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no response headers within 10 s")
	}
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return nil, resp.StatusCode, string(body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	s := &eventStream{resp: resp, events: make(chan sse, 100)}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		var e sse
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			field, value, _ := strings.Cut(line, ": ")
			switch {
			case line == "":
				if e != (sse{}) {
					s.events <- e
				}
				e = sse{}
			case strings.HasPrefix(line, ":"): // a comment
			case field == "id":
				e.id = value
			case field == "event":
				e.event = value
			case field == "data":
				e.data += value
			}
		}
	}()
	return s, resp.StatusCode, ""
}

// next returns the next event, failing after a timeout or at the end of
// the stream.
func (s *eventStream) next(t *testing.T) sse {
	t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	panic("unreachable")
}

// change returns the ChangeEvent of e, checking that its id is its resume
// token.
func (e sse) change(t *testing.T) *customerv1.ChangeEvent {
	t.Helper()
	var c customerv1.ChangeEvent
	if err := protojson.Unmarshal([]byte(e.data), &c); err != nil {
		t.Fatalf("event data %q: %v", e.data, err)
	}
	if e.event != "" || e.id == "" || e.id != c.ResumeToken {
		t.Fatalf("event %+v: want a plain event whose id is its resumeToken", e)
	}
	return &c
}

// connectError is the JSON body of a Connect error.
type connectError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func parseError(t *testing.T, body string) connectError {
	t.Helper()
	var e connectError
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == "" {
		t.Fatalf("body %q is not a Connect error: %v", body, err)
	}
	return e
}

// TestWatchEvents: the change feed as server-sent events, over HTTP/1.1
// and HTTP/2, carries the same events in the same order as the RPC, and
// Last-Event-ID (winning over the query) resumes exactly after an event.
func TestWatchEvents(t *testing.T) {
	for _, p := range []struct {
		name   string
		client *http.Client
	}{{"HTTP1", http1}, {"H2C", h2c}} {
		t.Run(p.name, func(t *testing.T) {
			srv := startServer(t)
			c := customerv1connect.NewCustomerServiceClient(http1, srv.url)
			stream := watchEvents(t, p.client, srv.url, "AQA", "", "")
			a := create(t, c, "Ada", "ada@example.com")
			if _, err := c.DeleteCustomer(context.Background(), &customerv1.DeleteCustomerRequest{Id: a.Id}); err != nil {
				t.Fatal(err)
			}
			b := create(t, c, "Bob", "bob@example.com")
			var got []*customerv1.ChangeEvent
			var ids []string
			for range 3 {
				e := stream.next(t)
				got = append(got, e.change(t))
				ids = append(ids, e.id)
			}
			want := []struct {
				typ customerv1.ChangeType
				id  int64
			}{{customerv1.ChangeType_CHANGE_TYPE_CREATED, a.Id}, {customerv1.ChangeType_CHANGE_TYPE_DELETED, a.Id}, {customerv1.ChangeType_CHANGE_TYPE_CREATED, b.Id}}
			for i, w := range want {
				if got[i].Type != w.typ || got[i].Customer.GetId() != w.id {
					t.Fatalf("event %d: %v, want %v of %d", i, got[i], w.typ, w.id)
				}
			}
			// The same events as the RPC's, byte for byte in protobuf terms.
			rpcStream, err := c.WatchCustomers(context.Background(), &customerv1.WatchCustomersRequest{ResumeToken: "AQA"})
			if err != nil {
				t.Fatal(err)
			}
			defer rpcStream.Close()
			for i, e := range receive(t, rpcStream, 3) {
				if !proto.Equal(e, got[i]) {
					t.Fatalf("event %d: RPC %v, events %v", i, e, got[i])
				}
			}

			// An EventSource reconnecting sends Last-Event-ID beside the
			// URL it first opened: the header wins.
			resumed := watchEvents(t, p.client, srv.url, "AQA", ids[0], "")
			if e := resumed.next(t); e.id != ids[1] {
				t.Fatalf("resumed after %s: first event %s, want %s", ids[0], e.id, ids[1])
			}
			if e := resumed.next(t); e.id != ids[2] {
				t.Fatalf("resumed: second event %s, want %s", e.id, ids[2])
			}
			carol := create(t, c, "Carol", "carol@example.com")
			if e := resumed.next(t).change(t); e.Customer.GetId() != carol.Id {
				t.Fatalf("resumed: then %v, want Carol's create", e)
			}
			// Browsers on another origin may send the key and Last-Event-ID.
			pre, _ := http.NewRequest(http.MethodOptions, srv.url+rpc.WatchEventsPath, nil)
			pre.Header.Set("Origin", "https://app.example")
			pre.Header.Set("Access-Control-Request-Method", "GET")
			pre.Header.Set("Access-Control-Request-Headers", "authorization,last-event-id")
			if resp, body := do(t, pre); resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
				t.Fatalf("preflight: %d %v %s", resp.StatusCode, resp.Header, body)
			}
			// Without a token: only what happens from now on.
			fresh := watchEvents(t, p.client, srv.url, "", "", "")
			dave := create(t, c, "Dave", "dave@example.com")
			if e := fresh.next(t).change(t); e.Customer.GetId() != dave.Id {
				t.Fatalf("without a token: %v, want Dave's create", e)
			}
		})
	}
}

// TestWatchEventsRefusals: bad tokens get 400 with a clear message, as
// INVALID_ARGUMENT; a token whose changes were pruned gets OUT_OF_RANGE
// with the RPC's message.
func TestWatchEventsRefusals(t *testing.T) {
	srv := startServerOn(t, enginetest.All()[0], engine.Options{ChangeRetention: 500 * time.Millisecond, CleanupInterval: 10 * time.Millisecond})
	c := customerv1connect.NewCustomerServiceClient(http1, srv.url)
	create(t, c, "Ada", "ada@example.com")
	for _, bad := range []struct{ query, lastID, says string }{
		{"garbage", "", "resume_token"},
		{"", "AWQ", "ahead"},
		{strings.Repeat("A", 65), "", "resume_token"},
		{"AQA", "AgA", "resume_token"},
	} {
		_, status, body := tryWatchEvents(t, http1, srv.url, bad.query, bad.lastID, "")
		e := parseError(t, body)
		if status != http.StatusBadRequest || e.Code != "invalid_argument" || !strings.Contains(e.Message, bad.says) {
			t.Errorf("token %q, Last-Event-ID %q: %d %s, want 400 invalid_argument naming %s", bad.query, bad.lastID, status, body, bad.says)
		}
	}
	create(t, c, "Bob", "bob@example.com")
	waitfor.Cond(t, "the cleanup to prune both changes", func() bool {
		_, newest, err := srv.store.ChangeBounds(context.Background())
		return err != nil || newest == 0
	})
	create(t, c, "Carol", "carol@example.com")
	rpcStream, err := c.WatchCustomers(context.Background(), &customerv1.WatchCustomersRequest{ResumeToken: fromTheStart})
	if err == nil {
		rpcStream.Receive()
		err = rpcStream.Err()
		rpcStream.Close()
	}
	_, status, body := tryWatchEvents(t, http1, srv.url, fromTheStart, "", "")
	e := parseError(t, body)
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeOutOfRange {
		t.Fatalf("RPC after pruning: %v, want out_of_range", err)
	}
	if status != http.StatusBadRequest || e.Code != "out_of_range" || e.Message != cerr.Message() {
		t.Fatalf("events after pruning: %d %s, want 400 out_of_range %q as the RPC", status, body, cerr.Message())
	}
}

// TestWatchEventsAuthAndLimits: with keys, the event stream needs one,
// counts against the watcher caps like the RPC, and ends with an "error"
// event of UNAVAILABLE when the server drains.
func TestWatchEventsAuthAndLimits(t *testing.T) {
	var draining atomic.Bool
	s := startAttackServer(t, true, rpc.Options{MaxWatchersPerKey: 1, Draining: draining.Load})
	_, status, body := tryWatchEvents(t, http1, s.url, "", "", "")
	if e := parseError(t, body); status != http.StatusUnauthorized || e.Code != "unauthenticated" {
		t.Fatalf("without a key: %d %s, want 401 unauthenticated", status, body)
	}
	_, status, body = tryWatchEvents(t, http1, s.url, "", "", "not-a-key")
	if e := parseError(t, body); status != http.StatusUnauthorized || e.Code != "unauthenticated" {
		t.Fatalf("with a wrong key: %d %s, want 401 unauthenticated", status, body)
	}
	stream := watchEvents(t, http1, s.url, "", "", s.key)
	// The key's one watch is taken, by an event stream or an RPC alike.
	_, status, body = tryWatchEvents(t, http1, s.url, "", "", s.key)
	if e := parseError(t, body); status != http.StatusTooManyRequests || e.Code != "resource_exhausted" {
		t.Fatalf("a second watch of the key: %d %s, want 429 resource_exhausted", status, body)
	}
	rpcStream, err := s.target().Client().WatchCustomers(context.Background(), &customerv1.WatchCustomersRequest{})
	if err == nil {
		rpcStream.Receive()
		err = rpcStream.Err()
		rpcStream.Close()
	}
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("an RPC watch beside the event stream: %v, want resource_exhausted", err)
	}
	draining.Store(true)
	e := stream.next(t)
	var got connectError
	if err := json.Unmarshal([]byte(e.data), &got); err != nil || e.event != "error" || got.Code != "unavailable" {
		t.Fatalf("while draining: %+v, want an error event of unavailable", e)
	}
	select {
	case e, ok := <-stream.events:
		if ok {
			t.Fatalf("after the error event: %+v, want the end of the stream", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream stays open after its error event")
	}
	_, status, body = tryWatchEvents(t, http1, s.url, "", "", s.key)
	if e := parseError(t, body); status != http.StatusServiceUnavailable || e.Code != "unavailable" {
		t.Fatalf("a new watch while draining: %d %s, want 503 unavailable", status, body)
	}
}
