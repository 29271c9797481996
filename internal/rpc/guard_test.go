package rpc

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"customerd/internal/auth"
	"customerd/internal/waitfor"
)

func TestGuardWithoutKeysRefusesForeignHosts(t *testing.T) {
	h := guard(nil, slog.New(slog.DiscardHandler), refuser{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "LOCALHOST": 200, "app.localhost:3000": 200,
		"evil.example": 403, "evil.example:8080": 403, "10.0.0.5:8080": 403, "127.0.0.1.evil.example": 403,
	} {
		req := httptest.NewRequest(http.MethodPost, "/customer.v1.CustomerService/ListCustomers", strings.NewReader("{}"))
		req.Host = host
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}

// TestGuardRunsBeforeTheLimiter fills the only in-flight slot with a
// keyed call: a call without a key must still get UNAUTHENTICATED (it never
// competes for a slot), and /metrics needs a key too.
func TestGuardRunsBeforeTheLimiter(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	key, err := auth.AddKey(file, auth.Read)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := guard(keys, slog.New(slog.DiscardHandler), refuser{}, onlyHandler(limitCalls(limits{inFlight: 1, watchers: 1, watchersPerKey: 1}, refuser{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			close(entered)
			<-release
		}
	}))))
	request := func(path, auth string, hold bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		if hold {
			req.Header.Set("X-Hold", "1")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	done := make(chan struct{})
	go func() { request("/customer.v1.CustomerService/GetCustomer", key, true); close(done) }()
	waitfor.Recv(t, entered, "the held call to reach the handler")
	if rec := request("/customer.v1.CustomerService/GetCustomer", "", false); rec.Code != http.StatusUnauthorized {
		t.Fatalf("no key while the slot is taken: %d, want 401", rec.Code)
	}
	if rec := request("/customer.v1.CustomerService/GetCustomer", key, false); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("a keyed call while the slot is taken: %d, want 429", rec.Code)
	}
	if rec := request("/customer.v1.CustomerService/CreateCustomer", key, false); rec.Code != http.StatusForbidden {
		t.Fatalf("read key on a write: %d, want 403", rec.Code)
	}
	if rec := request("/metrics", "", false); rec.Code != http.StatusUnauthorized {
		t.Fatalf("/metrics without a key: %d, want 401", rec.Code)
	}
	if rec := request("/healthz", "", false); rec.Code != http.StatusOK {
		t.Fatalf("/healthz without a key: %d, want 200", rec.Code)
	}
	close(release)
	waitfor.Recv(t, done, "the held call to return")
}
