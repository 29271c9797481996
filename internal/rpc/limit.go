package rpc

import (
	"context"
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
func limitInFlight(n int, next http.Handler) http.Handler {
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
			writeOverloaded(w, r)
		}
	})
}

// refuseWhileDraining answers every CustomerService call with UNAVAILABLE
// once draining reports true, and asks HTTP/1.1 clients to close the
// connection: during shutdown a call that arrives on a kept-alive
// connection gets a clear, retryable answer instead of a reset connection.
func refuseWhileDraining(draining func() bool, next http.Handler) http.Handler {
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
				writeRefusal(w, r, "14", http.StatusServiceUnavailable, "unavailable", "the server is shutting down; retry")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// writeOverloaded answers RESOURCE_EXHAUSTED in the request's protocol.
func writeOverloaded(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "1")
	writeRefusal(w, r, "8", http.StatusTooManyRequests, "resource_exhausted", "the server is overloaded; retry later, with backoff")
}

// writeRefusal answers an error without reading the request: as a gRPC
// status for gRPC and gRPC-Web, else in the Connect protocol (an HTTP
// status and a JSON error body). msg must need no JSON escaping.
func writeRefusal(w http.ResponseWriter, r *http.Request, grpcCode string, status int, code, msg string) {
	if slot, ok := r.Context().Value(refusalKey{}).(*string); ok {
		*slot = code
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/grpc") {
		writeGRPCError(w, ct, grpcCode, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"code":"` + code + `","message":"` + msg + `"}`))
}

// refusalKey marks, in a request's context, where writeRefusal notes the
// code it answered with, for countRefusals.
type refusalKey struct{}

// countRefusals records in m the calls the middleware answers by itself
// (unauthenticated, overloaded, draining, broken frames): they never reach
// the Connect interceptors that count the others.
func countRefusals(m *metrics.RPC, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code string
		start := time.Now()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), refusalKey{}, &code)))
		if code != "" {
			m.Observe(r.URL.Path, code, time.Since(start))
		}
	})
}
