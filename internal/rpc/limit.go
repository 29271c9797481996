package rpc

import (
	"net/http"
	"strings"
	"time"

	"customerd/internal/gen/customer/v1/customerv1connect"
	"customerd/internal/metrics"
)

// bodyReadTimeout bounds how long a call may take to send its request body.
const bodyReadTimeout = 30 * time.Second

// limitInFlight lets at most n CustomerService calls run at once and
// answers the others at once with RESOURCE_EXHAUSTED, before reading their
// bodies: under overload, queueing more work only makes every caller wait
// longer and the server's memory grow. Health checks and reflection are not
// limited.
func limitInFlight(n int, f refuser, next http.Handler) http.Handler {
	slots := make(chan struct{}, n)
	prefix := "/" + customerv1connect.CustomerServiceName + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Watches last as long as their clients: they hold no slot.
		if !strings.HasPrefix(r.URL.Path, prefix) || r.URL.Path == customerv1connect.CustomerServiceWatchCustomersProcedure {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			// A client that sends its headers and then stalls must not
			// hold a slot for long: bound the time to read its body.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
			next.ServeHTTP(w, r)
		default:
			f.overloaded(w, r)
		}
	})
}

// refuseWhileDraining answers every CustomerService call with UNAVAILABLE
// once draining reports true, and asks HTTP/1.1 clients to close the
// connection: during shutdown a call that arrives on a kept-alive
// connection gets a clear, retryable answer instead of a reset connection.
func refuseWhileDraining(draining func() bool, f refuser, next http.Handler) http.Handler {
	if draining == nil {
		return next
	}
	prefix := "/" + customerv1connect.CustomerServiceName + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining() {
			// Every answer now closes its HTTP/1.1 connection, so that no
			// client is left holding one the server is about to close.
			w.Header().Set("Connection", "close")
			if strings.HasPrefix(r.URL.Path, prefix) {
				f.refuse(w, r, "14", http.StatusServiceUnavailable, "unavailable", "the server is shutting down; retry")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// refuser answers calls the middleware refuses by itself (unauthenticated,
// overloaded, draining, broken frames) and counts them in metrics, as the
// Connect interceptors count the calls that reach the service. Its zero
// value answers without counting.
type refuser struct{ metrics *metrics.RPC }

// overloaded answers RESOURCE_EXHAUSTED.
func (f refuser) overloaded(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "1")
	f.refuse(w, r, "8", http.StatusTooManyRequests, "resource_exhausted", "the server is overloaded; retry later, with backoff")
}

// refuse answers an error without reading the request: as a gRPC status
// for gRPC and gRPC-Web, else in the Connect protocol (an HTTP status and a
// JSON error body). msg must need no JSON escaping.
func (f refuser) refuse(w http.ResponseWriter, r *http.Request, grpcCode string, status int, code, msg string) {
	if f.metrics != nil {
		f.metrics.Observe(r.URL.Path, code, 0) // answered before any work
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/grpc") {
		writeGRPCError(w, ct, grpcCode, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"code":"` + code + `","message":"` + msg + `"}`))
}
