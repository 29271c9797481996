package apidoc

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRoutes serves the document, the page and its assets, with their
// types, ETags and the page's Content-Security-Policy, and answers a
// revalidation with 304.
func TestRoutes(t *testing.T) {
	mux := http.NewServeMux()
	Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for path, want := range map[string]struct{ contentType, contains string }{
		"/openapi.yaml":              {"application/yaml", "openapi: 3."},
		"/docs":                      {"text/html; charset=utf-8", `src="/docs/swagger-ui-bundle.js"`},
		"/docs/docs.js":              {"text/javascript; charset=utf-8", `url: "/openapi.yaml"`},
		"/docs/swagger-ui-bundle.js": {"text/javascript; charset=utf-8", "SwaggerUIBundle"},
		"/docs/swagger-ui.css":       {"text/css; charset=utf-8", ".swagger-ui"},
		"/docs/licenses.txt":         {"text/plain; charset=utf-8", "Apache License"},
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != want.contentType || !strings.Contains(string(body), want.contains) {
			t.Errorf("GET %s: %s %q, body has %q: %v", path, res.Status, res.Header.Get("Content-Type"), want.contains, strings.Contains(string(body), want.contains))
		}
		if path == "/docs" && !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET /docs: Content-Security-Policy %q", res.Header.Get("Content-Security-Policy"))
		}
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %s, want 304", path, res.Status)
		}
	}
	for _, path := range []string{"/docs/nothing.js", "/docs/../openapi.yaml/x"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, res.Status)
		}
	}
}
