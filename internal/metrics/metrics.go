// Package metrics counts RPCs and serves them, with the writer's and the
// database's figures and the Go runtime's and the process's own, in the
// Prometheus text format, through prometheus/client_golang.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// durationBuckets are the upper bounds, in seconds, of the RPC latency
// histogram.
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Other is the procedure label of every call to a path that is not one of
// the procedures an RPC was made with.
const Other = "other"

// RPC counts calls by procedure and code, and their durations by procedure.
// Its labels come only from a fixed set of procedures and codes: a path or
// code outside them is counted as Other (or "unknown"), so that no client
// can add series, and memory, by calling made-up paths. It is safe for
// concurrent use.
type RPC struct {
	known     map[string]bool
	registry  *prometheus.Registry
	calls     *prometheus.CounterVec
	durations *prometheus.HistogramVec
}

// NewRPC returns metrics that label calls with one of procedures, or Other,
// on a registry of their own that also holds the Go runtime's, the
// process's and the build's collectors.
func NewRPC(procedures ...string) *RPC {
	m := &RPC{
		known:    map[string]bool{},
		registry: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customerd_rpc_calls_total", Help: "RPCs answered, by procedure and code.",
		}, []string{"procedure", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "customerd_rpc_duration_seconds", Help: "Time to answer an RPC, by procedure.", Buckets: durationBuckets,
		}, []string{"procedure"}),
	}
	for _, p := range procedures {
		m.known[p] = true
	}
	m.registry.MustRegister(m.calls, m.durations,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
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
	m.calls.WithLabelValues(procedure, code).Inc()
	m.durations.WithLabelValues(procedure).Observe(d.Seconds())
}

// Gauge is a named value read when metrics are scraped.
type Gauge struct {
	Name, Help, Type string // Type is "gauge" or "counter"
	Value            func() float64
}

// Handler registers gauges beside the RPC metrics and returns the handler
// that serves them all; it panics if a gauge's name is taken (a
// programming error). Call it once.
func (m *RPC) Handler(gauges []Gauge) http.Handler {
	for _, g := range gauges {
		if g.Type == "counter" {
			m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: g.Name, Help: g.Help}, g.Value))
		} else {
			m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.Name, Help: g.Help}, g.Value))
		}
	}
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
