package rpc

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"customerd/internal/metrics"
	"customerd/internal/waitfor"
)

func TestLimitInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := onlyHandler(limitCalls(limits{inFlight: 1, watchers: 1, watchersPerKey: 1}, refuser{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/customer.v1.CustomerService/GetCustomer" {
			close(entered)
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})))
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/customer.v1.CustomerService/GetCustomer", nil))
		close(done)
	}()
	waitfor.Recv(t, entered, "the held call to reach the handler")

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/customer.v1.CustomerService/ListCustomers", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"code":"resource_exhausted"`) {
		t.Fatalf("Connect call over the limit: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodPost, "/customer.v1.CustomerService/ListCustomers", nil)
	req.Header.Set("Content-Type", "application/grpc")
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Grpc-Status") != "8" {
		t.Fatalf("gRPC call over the limit: grpc-status %q, want 8 (resource exhausted)", rec.Header().Get("Grpc-Status"))
	}
	// Health checks are never limited.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/healthz over the limit: %d", rec.Code)
	}
	close(release)
	waitfor.Recv(t, done, "the held call to return")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/customer.v1.CustomerService/ListCustomers", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("after the slot freed: %d", rec.Code)
	}
}

// onlyHandler drops limitCalls' gauges.
func onlyHandler(h http.Handler, _ []metrics.Gauge) http.Handler { return h }
