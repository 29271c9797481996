package rpc

import (
	"net/http"
	"strings"

	"customerd/internal/gen/customer/v1/customerv1connect"
)

// limitInFlight lets at most n CustomerService calls run at once and
// answers the others at once with RESOURCE_EXHAUSTED, before reading their
// bodies: under overload, queueing more work only makes every caller wait
// longer and the server's memory grow. Health checks and reflection are not
// limited.
func limitInFlight(n int, next http.Handler) http.Handler {
	slots := make(chan struct{}, n)
	prefix := "/" + customerv1connect.CustomerServiceName + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			writeOverloaded(w, r)
		}
	})
}

// writeOverloaded answers RESOURCE_EXHAUSTED in the request's protocol.
func writeOverloaded(w http.ResponseWriter, r *http.Request) {
	const msg = "the server is overloaded; retry later, with backoff"
	w.Header().Set("Retry-After", "1")
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/grpc") {
		writeGRPCError(w, ct, "8", msg)
		return
	}
	// The Connect protocol: an HTTP status and a JSON error body.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(`{"code":"resource_exhausted","message":"` + msg + `"}`))
}
