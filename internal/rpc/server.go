// Package rpc serves the CustomerService over Connect, gRPC and gRPC-Web,
// with gRPC health checks, server reflection and GET /healthz, on one
// http.Handler.
package rpc

import (
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/apidoc"
	"customerd/internal/auth"
	"customerd/internal/customer"
	"customerd/internal/metrics"
)

// DefaultMaxRequestBytes is the default cap on the size of one request
// message (Options.MaxRequestBytes).
const DefaultMaxRequestBytes = 1 << 20

// ServiceName is the fully qualified name of the customer service, as health
// checks and reflection know it.
const ServiceName = customerv1connect.CustomerServiceName

// Options configure NewHandler. The zero value is ready to use.
type Options struct {
	// CORSOrigins are the origins whose web pages may call the API from a
	// browser ("*" for any). None by default.
	CORSOrigins []string
	// DefaultTimeout bounds a call whose client set no deadline
	// (Connect-Timeout-Ms, grpc-timeout); 0 means 10 seconds.
	DefaultTimeout time.Duration
	// Keys, when not nil, are the API keys every CustomerService call must
	// present; health checks, reflection and /healthz stay open.
	Keys *auth.Keys
	// MaxInFlight is how many CustomerService calls may run at once; more
	// are refused at once with RESOURCE_EXHAUSTED. 0 means
	// DefaultMaxInFlight. A call counts once its request has arrived.
	MaxInFlight int
	// MaxWatchers and MaxWatchersPerKey are how many WatchCustomers
	// streams may be open at once, in all and per API key; more are refused
	// with RESOURCE_EXHAUSTED. 0 means DefaultMaxWatchers and
	// DefaultMaxWatchersPerKey.
	MaxWatchers, MaxWatchersPerKey int
	// BodyBudget is how many bytes of request bodies all calls together
	// may hold while they arrive, beyond a small allowance each; a call
	// that finds it used up is refused with RESOURCE_EXHAUSTED. 0 means
	// DefaultBodyBudget.
	BodyBudget int64
	// BodyTimeout is how long a client may take to send a request body;
	// one that trickles it is cut off with DEADLINE_EXCEEDED. 0 means
	// DefaultBodyTimeout.
	BodyTimeout time.Duration
	// MaxRequestBytes caps one request message; larger ones fail with
	// RESOURCE_EXHAUSTED. 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int
	// Feed, when not nil, serves WatchCustomers.
	Feed customer.ChangeFeed
	// Audit, when not nil, keeps the audit trail: every call that reads or
	// changes customers is recorded there, and ListAuditEvents reads it.
	Audit customer.AuditLog
	// Personal, when not nil, serves ExportCustomerData and EraseCustomer
	// (with Audit, which they need too).
	Personal customer.PersonalData
	// Erased, when not nil, is told every customer EraseCustomer erased,
	// before the call is answered (an erasure log; see package erasurelog).
	Erased func(id int64) error
	// NoReadAudit records only the calls that change customers, not the
	// reads (GetCustomer, ListCustomers).
	NoReadAudit bool
	// Gauges are served at GET /metrics beside the RPC metrics: the
	// writer's queue and batches, the database's size.
	Gauges []metrics.Gauge
	// Draining, when not nil and true, makes every new CustomerService
	// call fail at once with UNAVAILABLE: the server is shutting down.
	Draining func() bool
	// Web, when not nil, answers every path no other route claims, such
	// as GET / (the web app). It sits behind the same Host check as the
	// API but needs no API key: the page asks the user for one.
	Web http.Handler
	// Tracing, when not nil, traces every CustomerService call (see
	// package tracing); it runs before the other interceptors.
	Tracing connect.Interceptor
}

// NewHandler returns the handler of every route the server answers: the
// CustomerService on store (over Connect, gRPC and gRPC-Web, and as REST
// under /v1/, described at GET /openapi.yaml and GET /docs), grpc.health.v1 answering from health, gRPC
// server reflection (v1 and v1alpha), GET /healthz, which answers 200
// while health reports the service as serving and 503 otherwise, and GET
// /metrics (Prometheus text). Every call is logged to log, one line each.
func NewHandler(store customer.Store, health *grpchealth.StaticChecker, log *slog.Logger, opts Options) http.Handler {
	maxBytes := cmp.Or(opts.MaxRequestBytes, DefaultMaxRequestBytes)
	rpcMetrics := metrics.NewRPC(append(procedures(), "/metrics")...)
	f := refuser{metrics: rpcMetrics}
	mux := http.NewServeMux()
	svc := &service{store: store, feed: opts.Feed, draining: opts.Draining, log: log, audit: opts.Audit, auditReads: !opts.NoReadAudit, personal: opts.Personal, erased: opts.Erased}
	if opts.Feed != nil {
		svc.fanout = newFanout(opts.Feed, fanoutKeep)
	}
	servicePath, serviceHandler := customerv1connect.NewCustomerServiceHandler(svc, append(codecs(),
		connect.WithReadMaxBytes(maxBytes),
		connect.WithInterceptors(append([]connect.Interceptor{observe(rpcMetrics, log)}, interceptors(opts, log)...)...),
		connect.WithCompressMinBytes(1024),
		// gzip at its fastest level, for the clients that ask for gzip
		// (browsers, connect-go): a page of 50 customers, 12.4 KB of JSON,
		// becomes 2.2 KB instead of 2.0 KB for 90 us of CPU instead of 306
		// (BenchmarkGzipPage).
		connect.WithCompression("gzip",
			func() connect.Decompressor { return &gzip.Reader{} },
			func() connect.Compressor { w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed); return w }),
		connect.WithRecover(func(_ context.Context, _ connect.Spec, _ http.Header, p any) error {
			log.Error("handler panicked", "panic", p)
			return connect.NewError(connect.CodeInternal, errors.New("internal error"))
		}),
	)...)
	mux.Handle(servicePath, serviceHandler)
	limited, limitGauges := limitCalls(limits{
		inFlight:       cmp.Or(opts.MaxInFlight, DefaultMaxInFlight),
		watchers:       cmp.Or(opts.MaxWatchers, DefaultMaxWatchers),
		watchersPerKey: cmp.Or(opts.MaxWatchersPerKey, DefaultMaxWatchersPerKey),
	}, f, serviceFirst(servicePath, serviceHandler, mux))
	mux.Handle("GET /metrics", rpcMetrics.Handler(append(limitGauges, opts.Gauges...)))
	mux.HandleFunc("GET "+WatchEventsPath, svc.serveEvents)
	mux.Handle(grpchealth.NewHandler(health))
	reflector := grpcreflect.NewStaticReflector(ServiceName, grpchealth.HealthV1ServiceName)
	// Reflection requests are small; they arrive on a stream that
	// readBodies cannot read ahead, so connect-go bounds each one.
	mux.Handle(grpcreflect.NewHandlerV1(reflector, connect.WithReadMaxBytes(reflectionMaxBytes)))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, connect.WithReadMaxBytes(reflectionMaxBytes)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		res, err := health.Check(r.Context(), &grpchealth.CheckRequest{})
		if err != nil || res.Status != grpchealth.StatusServing {
			http.Error(w, "not serving", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	apidoc.Register(mux)
	if opts.Web != nil {
		// Without a method, "/" is less specific than every route above,
		// so it only gets what they leave.
		mux.Handle("/", opts.Web)
	}
	bodies := bodyLimits{
		maxBytes: maxBytes,
		shared:   &budget{max: cmp.Or(opts.BodyBudget, DefaultBodyBudget)},
		timeout:  cmp.Or(opts.BodyTimeout, DefaultBodyTimeout),
	}
	return wholeResponses(maxWholeResponse, withBatchedFlushes(withCORS(opts.CORSOrigins, withREST(bodies, f,
		refuseWhileDraining(opts.Draining, f, guard(opts.Keys, log, f, readBodies(bodies, f, limited)))))))
}

// serviceFirst sends the calls under path, nearly every request, straight
// to service, and the rest to mux: the mux's matching of patterns would
// cost every call more than the call's own routing does.
func serviceFirst(path string, service http.Handler, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, path) {
			service.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// reflectionMaxBytes bounds one server reflection request.
const reflectionMaxBytes = 64 << 10

// procedures returns the path of every CustomerService procedure.
func procedures() []string {
	methods := customerv1.File_customer_v1_customer_proto.Services().ByName("CustomerService").Methods()
	out := make([]string, methods.Len())
	for i := range out {
		out[i] = servicePrefix + string(methods.Get(i).Name())
	}
	return out
}

// interceptors returns the CustomerService's interceptors, outermost first:
// tracing (if on), the default deadline, consistency tokens, then
// validation. Authentication happens before, in guard.
func interceptors(opts Options, log *slog.Logger) []connect.Interceptor {
	list := []connect.Interceptor{defaultTimeout(cmp.Or(opts.DefaultTimeout, 10*time.Second)), readYourWrites()}
	if opts.Tracing != nil {
		list = append([]connect.Interceptor{opts.Tracing}, list...)
	}
	return append(list, validation()...)
}

// defaultTimeout gives a unary call without a deadline one of d, so that no
// call can hold server resources forever (a callDeadline: no timer until
// something waits). A client's own deadline, which
// connect-go has already put on the context, is kept as it is.
func defaultTimeout(d time.Duration) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if _, ok := ctx.Deadline(); !ok {
				bounded := withCallDeadline(ctx, d)
				defer bounded.release()
				ctx = bounded
			}
			return next(ctx, req)
		}
	}
}

// ConfigureServer sets the limits of an HTTP server that serves the
// handler: how long a client may take to send its headers and how large
// they may be, how long an idle connection stays, and HTTP/2's own limits
// (streams per connection, header tables, flow-control windows), chosen
// rather than left to the library's defaults. There is no ReadTimeout or
// WriteTimeout: they would cut long-lived streams such as watches; request
// bodies are bounded per call (readBodies) and unary calls by deadlines.
func ConfigureServer(s *http.Server) {
	s.ReadHeaderTimeout = 10 * time.Second
	s.MaxHeaderBytes = 64 << 10 // also HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE
	s.IdleTimeout = 2 * time.Minute
	s.HTTP2 = &http.HTTP2Config{
		// Streams one connection may have open; Go's server runs at most
		// this many handlers per connection, so a client resetting streams
		// as fast as it opens them (rapid reset) waits for its own.
		MaxConcurrentStreams:      100,
		MaxDecoderHeaderTableSize: 4 << 10,
		MaxEncoderHeaderTableSize: 4 << 10,
		MaxReadFrameSize:          16 << 10,
		// What a client may send ahead of the handlers reading it.
		MaxReceiveBufferPerConnection: 1 << 20,
		MaxReceiveBufferPerStream:     256 << 10,
		// A connection that goes quiet is pinged after a minute and closed
		// if the ping goes unanswered, so dead peers free their watches.
		SendPingTimeout: time.Minute,
		PingTimeout:     15 * time.Second,
	}
}
