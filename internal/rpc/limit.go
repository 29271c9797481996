package rpc

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"connectrpc.com/connect"

	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/metrics"
)

// Defaults of the limits on calls.
const (
	DefaultMaxInFlight       = 512
	DefaultMaxWatchers       = 128
	DefaultMaxWatchersPerKey = 32
	maxReflectionStreams     = 32
	reflectionPathPrefix     = "/grpc.reflection."
)

// limits are how many calls of each kind may run at once.
type limits struct {
	inFlight, watchers, watchersPerKey int
}

// limitCalls caps the calls of each kind that run at once. It lets
// l.inFlight CustomerService calls run, l.watchers WatchCustomers streams
// in all and l.watchersPerKey per caller (API key), and a few reflection
// streams; it answers the others at once with RESOURCE_EXHAUSTED: under
// overload, queueing more work only makes every caller wait longer and the
// server's memory grow. Calls come here with their requests read
// (readBodies), so a slot is only held by a call the server is working on.
// Watches last as long as their clients, so they count against the watcher
// limits instead of the in-flight slots. Health checks are not limited.
func limitCalls(l limits, f refuser, next http.Handler) (http.Handler, []metrics.Gauge) {
	slots := make(chan struct{}, l.inFlight)
	reflection := make(chan struct{}, maxReflectionStreams)
	watchers := &watcherCount{max: l.watchers, maxPerKey: l.watchersPerKey, perKey: map[string]int{}}
	gauges := []metrics.Gauge{
		{Name: "customerd_rpc_in_flight", Help: "CustomerService calls running now (WatchCustomers aside).", Type: "gauge",
			Value: func() float64 { return float64(len(slots)) }},
		{Name: "customerd_watchers", Help: "WatchCustomers streams open now.", Type: "gauge",
			Value: func() float64 { return float64(watchers.open()) }},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case procedureOf(r) == customerv1connect.CustomerServiceWatchCustomersProcedure:
			caller := callerOf(r)
			if msg := watchers.join(caller); msg != "" {
				w.Header().Set("Retry-After", "10")
				f.refuse(w, r, connect.CodeResourceExhausted, msg)
				return
			}
			defer watchers.leave(caller)
		case strings.HasPrefix(r.URL.Path, servicePrefix):
			if !take(slots) {
				f.overloaded(w, r)
				return
			}
			defer func() { <-slots }()
		case strings.HasPrefix(r.URL.Path, reflectionPathPrefix):
			if !take(reflection) {
				f.overloaded(w, r)
				return
			}
			defer func() { <-reflection }()
		}
		next.ServeHTTP(w, r)
	}), gauges
}

// take takes a place in sem if one is free, and reports whether it did.
func take(sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// watcherCount counts open watches, in all and per caller.
type watcherCount struct {
	max, maxPerKey int
	mu             sync.Mutex
	total          int
	perKey         map[string]int
}

// join counts a new watch of caller, or says why it may not start.
func (c *watcherCount) join(caller string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.total >= c.max:
		return fmt.Sprintf("this server already serves %d watchers, its limit; retry later", c.max)
	case c.perKey[caller] >= c.maxPerKey && caller != localCaller:
		return fmt.Sprintf("this API key already has %d watchers open, its limit; close some, or retry later", c.maxPerKey)
	}
	c.total++
	c.perKey[caller]++
	return ""
}

// open returns how many watches are open.
func (c *watcherCount) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// leave counts a watch of caller as ended.
func (c *watcherCount) leave(caller string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.perKey[caller]--; c.perKey[caller] == 0 {
		delete(c.perKey, caller) // keeps the map as small as the callers watching
	}
}

// refuseWhileDraining refuses CustomerService calls while the server
// shuts down. Once draining reports true it answers each with UNAVAILABLE
// and asks HTTP/1.1 clients to close the connection, so that a call that
// arrives on a kept-alive connection gets a clear, retryable answer
// instead of a reset connection.
func refuseWhileDraining(draining func() bool, f refuser, next http.Handler) http.Handler {
	if draining == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining() {
			// Every answer now closes its HTTP/1.1 connection, so that no
			// client is left holding one the server is about to close.
			w.Header().Set("Connection", "close")
			if strings.HasPrefix(procedureOf(r), servicePrefix) {
				f.refuse(w, r, connect.CodeUnavailable, "the server is shutting down; retry")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
