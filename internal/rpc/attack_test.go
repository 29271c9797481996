package rpc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"google.golang.org/protobuf/proto"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/attack"
	"customerd/internal/auth"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/rpc"
	"customerd/internal/waitfor"
)

// attackServer is a real server on 127.0.0.1 with options an attack test
// chooses, whose log is kept.
type attackServer struct {
	url  string
	key  string // a write key, when the server has keys
	id   int64  // a customer the probe reads
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAttackServer starts a server on a fresh SQLite database with opts;
// withKeys makes it require keys, and makes one write key.
func startAttackServer(t *testing.T, withKeys bool, opts rpc.Options) *attackServer {
	t.Helper()
	st := enginetest.All()[0].Open(t, engine.Options{})
	s := &attackServer{logs: &syncBuffer{}}
	if withKeys {
		file := filepath.Join(t.TempDir(), "keys")
		key, err := auth.AddKey(file, auth.Write)
		if err != nil {
			t.Fatal(err)
		}
		if opts.Keys, err = auth.Load(file); err != nil {
			t.Fatal(err)
		}
		s.key = key
	}
	opts.Feed = st
	log := slog.New(slog.NewTextHandler(s.logs, nil))
	srv := httptest.NewUnstartedServer(rpc.NewHandler(st, grpchealth.NewStaticChecker(rpc.ServiceName), log, opts))
	rpc.ConfigureServer(srv.Config)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	s.url = srv.URL
	res, err := s.target().Client().CreateCustomer(context.Background(), &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{Name: "Probe Target", Email: "probe@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.id = res.Customer.Id
	return s
}

func (s *attackServer) target() attack.Target { return attack.Target{URL: s.url, Key: s.key} }

// underAttack runs attackFn for d while a probe reads a customer, and
// checks that every probe call was answered ok (each has a deadline of 5
// seconds, so a starved probe fails instead of hanging).
func (s *attackServer) underAttack(t *testing.T, d time.Duration, attackFn func(ctx context.Context)) *attack.Probe {
	t.Helper()
	return s.underAttackUntil(t, d, d, nil, attackFn)
}

// underAttackUntil is underAttack for an attack that runs at least least
// and then until enough reports true (checked every 50 ms), or most has
// passed: on a loaded machine the answers an attack waits for can take
// far longer to come than on an idle one.
func (s *attackServer) underAttackUntil(t *testing.T, least, most time.Duration, enough func() bool, attackFn func(ctx context.Context)) *attack.Probe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), most)
	defer cancel()
	if enough != nil {
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			start := time.Now()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if time.Since(start) >= least && enough() {
						cancel()
						return
					}
				}
			}
		}()
	}
	probe := &attack.Probe{}
	var wg sync.WaitGroup
	wg.Go(func() { attack.RunProbe(ctx, s.target(), s.id, 20*time.Millisecond, 5*time.Second, probe.Record) })
	attackFn(ctx)
	cancel()
	wg.Wait()
	if probe.Calls() == 0 || probe.Answers().Count("ok") != probe.Calls() {
		t.Errorf("probe during the attack: %v (%d calls), want every call ok", probe.Answers(), probe.Calls())
	}
	t.Logf("probe: %d calls, p99 %v", probe.Calls(), probe.Quantile(0.99))
	return probe
}

// TestAttackJunkPathsAddNoSeries: refused calls to made-up paths, without
// a key or for a foreign host, are counted under "other" and quoted
// briefly in the log: no client can grow the metrics or the log lines.
func TestAttackJunkPathsAddNoSeries(t *testing.T) {
	for _, withKeys := range []bool{true, false} {
		t.Run(fmt.Sprintf("keys=%v", withKeys), func(t *testing.T) {
			s := startAttackServer(t, withKeys, rpc.Options{})
			want := "unauthenticated"
			if !withKeys {
				want = "permission_denied" // a DNS-rebinding page names its own host
			}
			got := attack.JunkPaths(context.Background(), s.target(), 200, 10<<10, !withKeys)
			if got.Count(want) != 200 {
				t.Fatalf("answers %v, want %s 200", got, want)
			}
			body, err := s.target().Metrics()
			if err != nil || len(body) > 32<<10 {
				t.Fatalf("/metrics: %d bytes, %v", len(body), err)
			}
			if !strings.Contains(body, `customerd_rpc_calls_total{code="`+want+`",procedure="other"} 200`) {
				t.Fatalf("/metrics does not count the refusals under other:\n%s", body)
			}
			for line := range strings.Lines(s.logs.String()) {
				if len(line) > 512 {
					t.Fatalf("a log line of %d bytes: %.200s…", len(line), line)
				}
			}
		})
	}
}

// TestAttackRapidReset: HTTP/2 streams opened and reset at once as fast as
// two connections can leave nothing behind: afterwards the heap and the
// goroutines are back near where they were, and the probe was answered
// throughout.
func TestAttackRapidReset(t *testing.T) {
	s := startAttackServer(t, true, rpc.Options{})
	heapBefore, goroutinesBefore := liveHeap(), runtime.NumGoroutine()
	var resets *attack.Answers
	s.underAttack(t, 2*time.Second, func(ctx context.Context) { resets = attack.RapidReset(ctx, s.target(), 2) })
	if resets.Count("reset") < 1000 {
		t.Fatalf("the attack reset only %d streams (%v); it did not run", resets.Count("reset"), resets)
	}
	// A stream whose state outlived it (a read deadline's timer holds it
	// for its whole duration) would still be on the heap here.
	heapAfter := liveHeap()
	t.Logf("%d streams reset (%v); live heap %d → %d MB", resets.Count("reset"), resets, heapBefore>>20, heapAfter>>20)
	if heapAfter > heapBefore+64<<20 {
		t.Fatalf("live heap grew from %d to %d MB after the attack", heapBefore>>20, heapAfter>>20)
	}
	waitfor.Cond(t, "goroutines to return to their number before the attack", func() bool {
		return runtime.NumGoroutine() <= goroutinesBefore+20
	})
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestAttackStalledBodies: bodies that stop arriving (a watch over gRPC-Web
// claiming 2 GiB, a chunked one promising a large frame, a gRPC call on
// HTTP/2) are refused at once when too large or over the body budget, and
// cut off when their time is up; they take no in-flight slot meanwhile.
func TestAttackStalledBodies(t *testing.T) {
	if raceDetector {
		// Reading megabytes of stalled bodies, instrumented, took the
		// server's answers to a probe past 5 s; the plain run tests this.
		t.Skip("its claims are about time and cost, which the race detector multiplies")
	}
	s := startAttackServer(t, true, rpc.Options{MaxInFlight: 4, BodyTimeout: time.Second, BodyBudget: 4 << 20})
	claims := attack.GRPCWebWatch()
	stalled := attack.Body{
		Path: "/customer.v1.CustomerService/CreateCustomer", ContentType: "application/connect+json", ContentLength: -1,
		First: append(binary.BigEndian.AppendUint32([]byte{0}, 1<<20), bytes.Repeat([]byte{' '}, 512<<10)...),
	}
	huge, chunked := &attack.Answers{}, &attack.Answers{}
	enough := func() bool {
		return huge.Total() > 0 && chunked.Count("resource_exhausted") > 0 && chunked.Count("deadline_exceeded") > 0
	}
	s.underAttackUntil(t, 3*time.Second, time.Minute, enough, func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { attack.SlowBodiesInto(ctx, s.target(), 10, claims, huge) })
		wg.Go(func() { attack.SlowBodiesInto(ctx, s.target(), 20, stalled, chunked) })
		wg.Wait()
	})
	t.Logf("2 GiB watch bodies: %v; stalled chunked bodies: %v", huge, chunked)
	if huge.Total() == 0 || huge.Count("resource_exhausted") != huge.Total() {
		t.Errorf("2 GiB bodies were answered %v, want resource_exhausted only", huge)
	}
	// 20 bodies of 512 KiB beyond the free allowance do not fit in a 4 MiB
	// budget: some are refused at once, the others cut off after a second.
	if chunked.Count("resource_exhausted") == 0 || chunked.Count("deadline_exceeded") == 0 ||
		chunked.Count("resource_exhausted")+chunked.Count("deadline_exceeded") != chunked.Total() {
		t.Errorf("stalled bodies were answered %v, want resource_exhausted and deadline_exceeded only", chunked)
	}
}

// TestAttackSlowBodies: connections that send a body a byte at a time
// take no in-flight slot while they do, and are cut off after the body
// timeout; every other caller is answered meanwhile, though there are
// more trickling connections than slots.
func TestAttackSlowBodies(t *testing.T) {
	s := startAttackServer(t, true, rpc.Options{MaxInFlight: 4, BodyTimeout: time.Second})
	trickle := attack.Body{
		Path: "/customer.v1.CustomerService/GetCustomer", ContentType: "application/json", ContentLength: 64,
		First: []byte(`{"id":`), Trickle: 200 * time.Millisecond,
	}
	got := &attack.Answers{}
	enough := func() bool { return got.Count("deadline_exceeded") >= 30 }
	s.underAttackUntil(t, 3*time.Second, time.Minute, enough, func(ctx context.Context) { attack.SlowBodiesInto(ctx, s.target(), 30, trickle, got) })
	if got.Count("deadline_exceeded") < 30 || got.Count("deadline_exceeded") != got.Total() {
		t.Fatalf("trickling bodies were answered %v, want deadline_exceeded for each", got)
	}
}

// watchWhileWriting opens n watches as key, waits until the server
// counts open ones, creates a customer and waits until each open one has
// received it, then closes them all and returns how each ended.
func (s *attackServer) watchWhileWriting(t *testing.T, key string, n, open int) *attack.Answers {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events atomic.Int64
	var got *attack.Answers
	var wg sync.WaitGroup
	wg.Go(func() { got = attack.Watchers(ctx, attack.Target{URL: s.url, Key: key}, n, &events) })
	waitfor.Cond(t, fmt.Sprintf("the server to count %d open watches", open), func() bool {
		return s.metric(t, "customerd_watchers") == float64(open)
	})
	// A watch counted open may not have joined the feed yet, and would miss
	// a change made before it did: create customers until one change
	// reaches as many watches as are open.
	client := s.target().Client()
	waitfor.Cond(t, "a change that every open watch receives", func() bool {
		before := events.Load()
		_, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
			Name: "Watched", Email: fmt.Sprintf("w%d@example.com", time.Now().UnixNano()),
		}})
		if err != nil {
			t.Fatalf("create beside the watchers: %v", err)
		}
		deadline := time.Now().Add(time.Second)
		for events.Load() < before+int64(open) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		return events.Load() >= before+int64(open)
	})
	cancel()
	wg.Wait()
	waitfor.Cond(t, "the server to count the closed watches as gone", func() bool {
		return s.metric(t, "customerd_watchers") == 0
	})
	return got
}

// metric returns the value of the unlabelled series name on /metrics.
func (s *attackServer) metric(t *testing.T, name string) float64 {
	t.Helper()
	v, err := s.target().Metric(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAttackWatchers: watches are capped per API key and in all, with
// RESOURCE_EXHAUSTED beyond; a closed watch frees its place.
func TestAttackWatchers(t *testing.T) {
	s := startAttackServer(t, true, rpc.Options{MaxWatchers: 10, MaxWatchersPerKey: 4})
	if got := s.watchWhileWriting(t, s.key, 7, 4); got.Count("open") != 4 || got.Count("resource_exhausted") != 3 {
		t.Fatalf("7 watches of one key: %v, want open 4, resource_exhausted 3", got)
	}
	// Once those have closed, the key may watch again.
	if got := s.watchWhileWriting(t, s.key, 4, 4); got.Count("open") != 4 {
		t.Fatalf("4 watches after the others closed: %v, want open 4", got)
	}
}

// TestWatcherCapInAll: without keys every caller is the same one, and the
// cap in all applies.
func TestWatcherCapInAll(t *testing.T) {
	s := startAttackServer(t, false, rpc.Options{MaxWatchers: 3, MaxWatchersPerKey: 1})
	if got := s.watchWhileWriting(t, "", 5, 3); got.Count("open") != 3 || got.Count("resource_exhausted") != 2 {
		t.Fatalf("5 watches: %v, want open 3, resource_exhausted 2", got)
	}
}

// TestProtocolErrorsAreClientErrors sends broken frames over each framed
// protocol: each is a client's mistake and gets INVALID_ARGUMENT, never
// INTERNAL.
func TestProtocolErrorsAreClientErrors(t *testing.T) {
	s := startAttackServer(t, false, rpc.Options{})
	watch := mustMarshalFrame(t, 0, &customerv1.WatchCustomersRequest{})
	get := mustMarshalFrame(t, 0, &customerv1.GetCustomerRequest{Id: s.id})
	compressed := mustMarshalFrame(t, 1, &customerv1.GetCustomerRequest{Id: s.id})
	for _, tc := range []struct {
		name, method, contentType string
		body                      []byte
		header                    [2]string
	}{
		{"GRPCCompressedFlagWithoutEncoding", "GetCustomer", "application/grpc", compressed, [2]string{}},
		{"GRPCCompressedFlagIdentityEncoding", "GetCustomer", "application/grpc", compressed, [2]string{"Grpc-Encoding", "identity"}},
		{"GRPCWebCompressedFlagWithoutEncoding", "GetCustomer", "application/grpc-web+proto", compressed, [2]string{}},
		{"GRPCUnknownFlags", "GetCustomer", "application/grpc", append([]byte{0x80}, get[1:]...), [2]string{}},
		{"GRPCTruncatedWatch", "WatchCustomers", "application/grpc", watch[:3], [2]string{}},
		{"ConnectStreamTruncatedEnvelope", "WatchCustomers", "application/connect+proto", append(binary.BigEndian.AppendUint32([]byte{0}, 2), 'x'), [2]string{}},
		{"ConnectStreamEndStreamFlag", "WatchCustomers", "application/connect+json", append(binary.BigEndian.AppendUint32([]byte{2}, 2), "{}"...), [2]string{}},
		{"ConnectStreamCompressedWithoutEncoding", "WatchCustomers", "application/connect+json", append(binary.BigEndian.AppendUint32([]byte{1}, 2), "{}"...), [2]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, msg := s.rawCall(t, tc.method, tc.contentType, tc.body, tc.header)
			if code != "invalid_argument" || status >= 500 {
				t.Fatalf("HTTP %d, code %s (%s), want invalid_argument", status, code, msg)
			}
			t.Logf("%s", msg)
		})
	}
}

// rawCall posts body to the service's method as contentType (over HTTP/2
// for gRPC, else HTTP/1.1), with one more header if header names one, and
// returns the HTTP status, the Connect or gRPC code and the error message.
func (s *attackServer) rawCall(t *testing.T, method, contentType string, body []byte, header [2]string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+svcPath+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if header[0] != "" {
		req.Header.Set(header[0], header[1])
	}
	client := http1
	if contentType == "application/grpc" {
		client = h2c
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	msg, _ := url.PathUnescape(resp.Header.Get("Grpc-Message") + resp.Trailer.Get("Grpc-Message"))
	var connectErr struct{ Message string }
	if json.Unmarshal(b, &connectErr) == nil {
		msg += connectErr.Message
	}
	return resp.StatusCode, observedCode(t, resp, b), msg
}

// mustMarshalFrame returns msg in a length-prefixed frame with flags.
func mustMarshalFrame(t *testing.T, flags byte, msg proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint32([]byte{flags}, uint32(len(b))), b...)
}

// TestDecodeErrorsSpeakTheRequestsWords: a request that cannot be decoded
// is answered INVALID_ARGUMENT naming the message, the field and what it
// expects, over every protocol, and nothing of Go's types or libraries.
func TestDecodeErrorsSpeakTheRequestsWords(t *testing.T) {
	s := startAttackServer(t, false, rpc.Options{})
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		want              []string
	}{
		{"JSONWrongType", "application/json", []byte(`{"pageSize":"abc"}`), []string{"ListCustomersRequest", "pageSize", "32-bit integer", `"abc"`, "line 1, column"}},
		{"JSONOverflow", "application/json", []byte(`{"pageSize":4294967296}`), []string{"pageSize", "32-bit integer"}},
		{"JSONSyntax", "application/json", []byte(`{"pageSize"`), []string{"ListCustomersRequest", "JSON"}},
		{"JSONNotAnObject", "application/json", []byte(`[1]`), []string{"ListCustomersRequest", "unexpected token"}},
		{"ProtoGarbage", "application/proto", []byte{0xff, 0xff, 0xff}, []string{"ListCustomersRequest", "protobuf binary"}},
		{"GRPCGarbage", "application/grpc", append(binary.BigEndian.AppendUint32([]byte{0}, 3), 0xff, 0xff, 0xff), []string{"ListCustomersRequest", "protobuf binary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, code, msg := s.rawCall(t, "ListCustomers", tc.contentType, tc.body, [2]string{})
			if code != "invalid_argument" {
				t.Fatalf("code %s (%s), want invalid_argument", code, msg)
			}
			for _, leak := range []string{"customerv1", "*", "proto:", "unmarshal into", "Go"} {
				if strings.Contains(msg, leak) {
					t.Errorf("message %q names %q", msg, leak)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
			t.Logf("%s", msg)
		})
	}
	// The generated client sees the same wording.
	c := customerv1connect.NewCustomerServiceClient(http1, s.url, connect.WithProtoJSON())
	_, err := c.GetCustomer(context.Background(), &customerv1.GetCustomerRequest{Id: s.id})
	if err != nil {
		t.Fatalf("a good call after the bad ones: %v", err)
	}
}
