package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebApp checks that the web app is served at / beside the API routes,
// without a key when keys are on, and only to loopback hosts without keys.
func TestWebApp(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	addKey(t, keys, "read")
	for name, args := range map[string][]string{
		"NoKeys": {"-addr", "127.0.0.1:0", "-db", ":memory:"},
		"Keys":   {"-addr", "127.0.0.1:0", "-db", ":memory:", "-auth-keys", keys},
	} {
		t.Run(name, func(t *testing.T) {
			url, _ := startRun(t, args, nil)
			for _, c := range []struct {
				method, path, host string
				want               int
				contentType        string
			}{
				{"GET", "/", "", http.StatusOK, "text/html"},
				{"HEAD", "/", "", http.StatusOK, "text/html"},
				{"GET", "/healthz", "", http.StatusOK, "text/plain"},
				{"GET", "/no-such-asset.js", "", http.StatusNotFound, ""},
				{"POST", "/", "", http.StatusMethodNotAllowed, ""},
				// Still the RPC route, not the web app.
				{"GET", "/customer.v1.CustomerService/ListCustomers?encoding=json&message=%7B%7D", "", map[string]int{"NoKeys": 200, "Keys": 401}[name], "application/json"},
			} {
				req, err := http.NewRequest(c.method, url+c.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != c.want || !strings.HasPrefix(res.Header.Get("Content-Type"), c.contentType) {
					t.Errorf("%s %s: got %d %q, want %d %q", c.method, c.path, res.StatusCode, res.Header.Get("Content-Type"), c.want, c.contentType)
				}
			}
			if name == "NoKeys" {
				// DNS rebinding: a foreign name pointed at 127.0.0.1 gets nothing.
				req, _ := http.NewRequest("GET", url+"/", nil)
				req.Host = "evil.example"
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("GET / for host evil.example: got %d, want 403", res.StatusCode)
				}
			}
		})
	}
}
