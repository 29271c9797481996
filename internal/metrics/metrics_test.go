package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	m := NewRPC("/s/Get", "/s/Create")
	m.Observe("/s/Get", "ok", 3*time.Millisecond)
	m.Observe("/s/Get", "ok", 30*time.Millisecond)
	m.Observe("/s/Get", "not_found", time.Millisecond)
	m.Observe("/s/Create", "ok", 20*time.Second)
	m.Observe("/s/"+strings.Repeat("junk", 1000), "unauthenticated", time.Millisecond)
	m.Observe("/elsewhere", "made-up code", time.Millisecond)
	h := m.Handler([]Gauge{
		{Name: "x_queue", Help: "Queue.", Type: "gauge", Value: func() float64 { return 7 }},
		{Name: "x_done_total", Help: "Done.", Type: "counter", Value: func() float64 { return 3 }},
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		`customerd_rpc_calls_total{code="ok",procedure="/s/Get"} 2`,
		`customerd_rpc_calls_total{code="not_found",procedure="/s/Get"} 1`,
		`customerd_rpc_duration_seconds_bucket{procedure="/s/Get",le="0.005"} 2`,
		`customerd_rpc_duration_seconds_bucket{procedure="/s/Get",le="+Inf"} 3`,
		`customerd_rpc_duration_seconds_bucket{procedure="/s/Create",le="10"} 0`,
		`customerd_rpc_duration_seconds_count{procedure="/s/Create"} 1`,
		"# TYPE x_queue gauge\nx_queue 7",
		"# TYPE x_done_total counter\nx_done_total 3",
		"go_goroutines ", "process_cpu_seconds_total ", "go_build_info{",
		`customerd_rpc_calls_total{code="unauthenticated",procedure="other"} 1`,
		`customerd_rpc_calls_total{code="unknown",procedure="other"} 1`,
		`customerd_rpc_duration_seconds_count{procedure="other"} 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "junk") || strings.Contains(out, "elsewhere") || strings.Contains(out, "made-up") {
		t.Errorf("a label came from an unknown path or code:\n%s", out)
	}
}
