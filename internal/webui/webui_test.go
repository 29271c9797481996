package webui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()

	res, page := get(t, srv.URL+"/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: got %d, want 200", res.StatusCode)
	}
	if got, want := res.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
		t.Fatalf("GET /: Content-Type %q, want %q", got, want)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-cache" {
		t.Fatalf("GET /: Cache-Control %q, want no-cache", got)
	}
	if res.Header.Get("Content-Security-Policy") == "" {
		t.Fatal("GET /: no Content-Security-Policy")
	}
	if !strings.Contains(page, "<title>Customers") {
		t.Fatalf("GET /: not the admin page:\n%s", page)
	}

	t.Run("Bundle", func(t *testing.T) {
		m := regexp.MustCompile(`<script type="module" src="(/app-[A-Z0-9]{8}\.js)">`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("index.html names no bundle:\n%s", page)
		}
		res, js := get(t, srv.URL+m[1])
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200", m[1], res.StatusCode)
		}
		if got, want := res.Header.Get("Content-Type"), "text/javascript; charset=utf-8"; got != want {
			t.Fatalf("GET %s: Content-Type %q, want %q", m[1], got, want)
		}
		if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Fatalf("GET %s: Cache-Control %q, want immutable", m[1], got)
		}
		if !strings.Contains(js, "customerd.apiKey") {
			t.Fatal("the bundle is not the admin page's")
		}
		res, _ = get(t, srv.URL+m[1], "If-None-Match", res.Header.Get("ETag"))
		if res.StatusCode != http.StatusNotModified {
			t.Fatalf("GET %s with its ETag: got %d, want 304", m[1], res.StatusCode)
		}
	})

	t.Run("Stylesheet", func(t *testing.T) {
		m := regexp.MustCompile(`href="(/app-[A-Z0-9]{8}\.css)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("index.html names no stylesheet:\n%s", page)
		}
		res, _ := get(t, srv.URL+m[1])
		if got, want := res.Header.Get("Content-Type"), "text/css; charset=utf-8"; res.StatusCode != http.StatusOK || got != want {
			t.Fatalf("GET %s: got %d %q, want 200 %q", m[1], res.StatusCode, got, want)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		for _, p := range []string{"/app.js", "/app-AAAAAAAA.js", "/index.html", "/assets/index.html", "/nope/", "/customer.v1.CustomerService"} {
			if res, _ := get(t, srv.URL+p); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: got %d, want 404", p, res.StatusCode)
			}
		}
	})

	t.Run("MethodNotAllowed", func(t *testing.T) {
		res, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("POST /: got %d, want 405", res.StatusCode)
		}
	})
}
