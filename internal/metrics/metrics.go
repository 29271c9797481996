// Package metrics counts RPCs and renders them, with the writer's and the
// database's figures, in the Prometheus text format. It has no dependencies
// beyond the standard library: a handful of counters and histograms do not
// need a metrics framework.
package metrics

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// durationBuckets are the upper bounds, in seconds, of the RPC latency
// histogram.
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type key struct{ procedure, code string }

type histogram struct {
	counts []uint64 // one per bucket, not cumulative
	sum    float64
	count  uint64
}

// Other is the procedure label of every call to a path that is not one of
// the procedures an RPC was made with.
const Other = "other"

// RPC counts calls by procedure and code, and their durations by procedure.
// Its labels come only from a fixed set of procedures and codes: a path or
// code outside them is counted as Other, so that no client can add series
// (and memory) by calling made-up paths. It is safe for concurrent use.
type RPC struct {
	known     map[string]bool
	mu        sync.Mutex
	calls     map[key]uint64
	durations map[string]*histogram
}

// NewRPC returns metrics that label calls with one of procedures, or Other.
func NewRPC(procedures ...string) *RPC {
	m := &RPC{known: map[string]bool{}, calls: map[key]uint64{}, durations: map[string]*histogram{}}
	for _, p := range procedures {
		m.known[p] = true
	}
	return m
}

// codes are the code labels Observe keeps: the gRPC codes by their Connect
// names, and the two successes.
var codes = map[string]bool{
	"ok": true, "not_modified": true, "canceled": true, "unknown": true, "invalid_argument": true,
	"deadline_exceeded": true, "not_found": true, "already_exists": true, "permission_denied": true,
	"resource_exhausted": true, "failed_precondition": true, "aborted": true, "out_of_range": true,
	"unimplemented": true, "internal": true, "unavailable": true, "data_loss": true, "unauthenticated": true,
}

// Observe records one finished call.
func (m *RPC) Observe(procedure, code string, d time.Duration) {
	if !m.known[procedure] {
		procedure = Other
	}
	if !codes[code] {
		code = "unknown"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[key{procedure, code}]++
	h := m.durations[procedure]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(durationBuckets))}
		m.durations[procedure] = h
	}
	s := d.Seconds()
	if i, _ := slices.BinarySearch(durationBuckets, s); i < len(durationBuckets) {
		h.counts[i]++
	}
	h.sum += s
	h.count++
}

// Gauge is a named value read when metrics are rendered.
type Gauge struct {
	Name, Help, Type string // Type is "gauge" or "counter"
	Value            func() float64
}

// Write renders the RPC metrics, then each gauge, in the Prometheus text
// exposition format.
func (m *RPC) Write(w io.Writer, gauges []Gauge) error {
	var b strings.Builder
	m.mu.Lock()
	b.WriteString("# HELP customerd_rpc_calls_total RPCs answered, by procedure and code.\n# TYPE customerd_rpc_calls_total counter\n")
	for _, k := range slices.SortedFunc(maps.Keys(m.calls), func(a, b key) int {
		return strings.Compare(a.procedure+" "+a.code, b.procedure+" "+b.code)
	}) {
		fmt.Fprintf(&b, "customerd_rpc_calls_total{procedure=%q,code=%q} %d\n", k.procedure, k.code, m.calls[k])
	}
	b.WriteString("# HELP customerd_rpc_duration_seconds Time to answer an RPC, by procedure.\n# TYPE customerd_rpc_duration_seconds histogram\n")
	for _, p := range slices.Sorted(maps.Keys(m.durations)) {
		h := m.durations[p]
		var cum uint64
		for i, le := range durationBuckets {
			cum += h.counts[i]
			fmt.Fprintf(&b, "customerd_rpc_duration_seconds_bucket{procedure=%q,le=\"%g\"} %d\n", p, le, cum)
		}
		fmt.Fprintf(&b, "customerd_rpc_duration_seconds_bucket{procedure=%q,le=\"+Inf\"} %d\n", p, h.count)
		fmt.Fprintf(&b, "customerd_rpc_duration_seconds_sum{procedure=%q} %g\n", p, h.sum)
		fmt.Fprintf(&b, "customerd_rpc_duration_seconds_count{procedure=%q} %d\n", p, h.count)
	}
	m.mu.Unlock()
	for _, g := range gauges {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", g.Name, g.Help, g.Name, g.Type, g.Name, g.Value())
	}
	_, err := io.WriteString(w, b.String())
	return err
}
