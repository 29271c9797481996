// Package rpc serves the CustomerService over Connect, gRPC and gRPC-Web,
// with gRPC health checks, server reflection and GET /healthz, on one
// http.Handler.
package rpc

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"customerd/internal/auth"
	"customerd/internal/customer"
	"customerd/internal/gen/customer/v1/customerv1connect"
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
	// are refused at once with RESOURCE_EXHAUSTED. 0 means 512.
	MaxInFlight int
	// MaxRequestBytes caps one request message; larger ones fail with
	// RESOURCE_EXHAUSTED. 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int
	// Feed, when not nil, serves WatchCustomers.
	Feed customer.ChangeFeed
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
}

// NewHandler returns the handler of every route the server answers: the
// CustomerService on store, grpc.health.v1 answering from health, gRPC
// server reflection (v1 and v1alpha), GET /healthz, which answers 200
// while health reports the service as serving and 503 otherwise, and GET
// /metrics (Prometheus text). Every call is logged to log, one line each.
func NewHandler(store customer.Store, health *grpchealth.StaticChecker, log *slog.Logger, opts Options) http.Handler {
	maxBytes := cmp.Or(opts.MaxRequestBytes, DefaultMaxRequestBytes)
	rpcMetrics := &metrics.RPC{}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(rpcMetrics, opts.Gauges))
	svc := &service{store: store, feed: opts.Feed, draining: opts.Draining, log: log}
	if opts.Feed != nil {
		svc.fanout = newFanout(opts.Feed, fanoutKeep)
	}
	mux.Handle(customerv1connect.NewCustomerServiceHandler(svc,
		connect.WithReadMaxBytes(maxBytes),
		connect.WithInterceptors(append([]connect.Interceptor{observe(rpcMetrics, log)}, interceptors(opts, log)...)...),
		connect.WithCompressMinBytes(1024),
		connect.WithRecover(func(_ context.Context, _ connect.Spec, _ http.Header, p any) error {
			log.Error("handler panicked", "panic", p)
			return connect.NewError(connect.CodeInternal, errors.New("internal error"))
		}),
	))
	mux.Handle(grpchealth.NewHandler(health))
	reflector := grpcreflect.NewStaticReflector(ServiceName, grpchealth.HealthV1ServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		res, err := health.Check(r.Context(), &grpchealth.CheckRequest{})
		if err != nil || res.Status != grpchealth.StatusServing {
			http.Error(w, "not serving", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	if opts.Web != nil {
		// Without a method, "/" is less specific than every route above,
		// so it only gets what they leave.
		mux.Handle("/", opts.Web)
	}
	f := refuser{metrics: rpcMetrics}
	return withBatchedFlushes(withCORS(opts.CORSOrigins, refuseWhileDraining(opts.Draining, f, guard(opts.Keys, log, f,
		limitInFlight(cmp.Or(opts.MaxInFlight, 512), f, checkFrames(maxBytes, f, mux))))))
}

// interceptors returns the CustomerService's interceptors, outermost first:
// the default deadline, then validation. Authentication happens before, in
// guard.
func interceptors(opts Options, log *slog.Logger) []connect.Interceptor {
	list := []connect.Interceptor{defaultTimeout(cmp.Or(opts.DefaultTimeout, 10*time.Second))}
	return append(list, validation()...)
}

// defaultTimeout gives a unary call without a deadline one of d, so that no
// call can hold server resources forever. A client's own deadline, which
// connect-go has already put on the context, is kept as it is.
func defaultTimeout(d time.Duration) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, d)
				defer cancel()
			}
			return next(ctx, req)
		}
	}
}
