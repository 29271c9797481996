package rpc

import (
	"context"
	"net/http"
	"strings"

	"customerd/gen/customer/v1/customerv1connect"
)

// batchedFlusher lets WatchCustomers send a run of events with one flush.
// connect-go flushes the response after every message of a stream, which
// for a watcher means one write to the connection per event: with many
// watchers and busy writers, those writes cost more CPU than the writes
// being watched. While held, flushes are skipped (the events stay in the
// response buffer, which still writes out when full); release flushes once.
type batchedFlusher struct {
	http.ResponseWriter
	held bool
}

// Flush flushes the response unless the flusher is held.
func (b *batchedFlusher) Flush() {
	if !b.held {
		http.NewResponseController(b.ResponseWriter).Flush()
	}
}

// Unwrap gives http.ResponseController the writer beneath.
func (b *batchedFlusher) Unwrap() http.ResponseWriter { return b.ResponseWriter }

func (b *batchedFlusher) hold() { b.held = true }

func (b *batchedFlusher) release() {
	b.held = false
	b.Flush()
}

type flusherKey struct{}

// flusherFrom returns the request's batchedFlusher, or nil.
func flusherFrom(ctx context.Context) *batchedFlusher {
	b, _ := ctx.Value(flusherKey{}).(*batchedFlusher)
	return b
}

// withBatchedFlushes gives WatchCustomers calls a batchedFlusher, outside
// every other wrapper of the response, so that their flushes pass through
// it.
func withBatchedFlushes(next http.Handler) http.Handler {
	watch := customerv1connect.CustomerServiceWatchCustomersProcedure
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, watch) {
			next.ServeHTTP(w, r)
			return
		}
		b := &batchedFlusher{ResponseWriter: w}
		next.ServeHTTP(b, r.WithContext(context.WithValue(r.Context(), flusherKey{}, b)))
	})
}
