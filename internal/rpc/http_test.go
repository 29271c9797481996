package rpc_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
)

// getCustomerURL is the Connect GET form of GetCustomer{id}.
func getCustomerURL(base string, id int64) string {
	return base + "/customer.v1.CustomerService/GetCustomer?encoding=json&message=" +
		url.QueryEscape(`{"id":`+strconv.FormatInt(id, 10)+`}`)
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestConditionalGet(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		client := customerv1connect.NewCustomerServiceClient(http1, srv.url)
		c := create(t, client, "Ada", "ada@example.com")

		req, _ := http.NewRequest(http.MethodGet, getCustomerURL(srv.url, c.Id), nil)
		resp, body := do(t, req)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || etag != `"`+c.Etag+`"` {
			t.Fatalf("GET: %d, ETag %q (want %q): %s", resp.StatusCode, etag, `"`+c.Etag+`"`, body)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") || !strings.Contains(cc, "no-cache") {
			t.Errorf("Cache-Control %q: personal data must be private and revalidated", cc)
		}

		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			req, _ = http.NewRequest(http.MethodGet, getCustomerURL(srv.url, c.Id), nil)
			req.Header.Set("If-None-Match", inm)
			resp, body = do(t, req)
			if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("ETag") != etag {
				t.Fatalf("If-None-Match %s: %d, ETag %q, body %q; want 304 with the ETag and no body", inm, resp.StatusCode, resp.Header.Get("ETag"), body)
			}
		}

		// After an update the old tag no longer matches.
		if _, err := client.UpdateCustomer(context.Background(), &customerv1.UpdateCustomerRequest{
			Customer: &customerv1.Customer{Id: c.Id, Name: "Ada L."},
		}); err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequest(http.MethodGet, getCustomerURL(srv.url, c.Id), nil)
		req.Header.Set("If-None-Match", etag)
		resp, body = do(t, req)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || !strings.Contains(body, "Ada L.") {
			t.Fatalf("after update: %d, ETag %q, %s; want 200 with a new ETag", resp.StatusCode, resp.Header.Get("ETag"), body)
		}

		// An unknown customer is still 404, whatever the client holds.
		req, _ = http.NewRequest(http.MethodGet, getCustomerURL(srv.url, c.Id+100), nil)
		req.Header.Set("If-None-Match", "*")
		if resp, _ = do(t, req); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown id with If-None-Match *: %d, want 404", resp.StatusCode)
		}
	})
}

func TestCORS(t *testing.T) {
	srv := startServer(t) // allows https://app.example
	preflight := func(origin, method, headers string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.url+"/customer.v1.CustomerService/CreateCustomer", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", headers)
		resp, _ := do(t, req)
		return resp
	}
	t.Run("AllowedOrigin", func(t *testing.T) {
		// Browsers send the header names sorted and lower-case.
		for _, h := range []string{"connect-protocol-version,content-type", "content-type,x-grpc-web,x-user-agent", "if-none-match"} {
			resp := preflight("https://app.example", http.MethodPost, h)
			if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
				t.Fatalf("preflight for %s: %d, allow-origin %q", h, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
		}
		req, _ := http.NewRequest(http.MethodGet, getCustomerURL(srv.url, 1), nil)
		req.Header.Set("Origin", "https://app.example")
		resp, _ := do(t, req)
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers")), "etag") {
			t.Fatalf("GET from an allowed origin: allow-origin %q, expose %q", resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Expose-Headers"))
		}
	})
	t.Run("RefusedOrigin", func(t *testing.T) {
		resp := preflight("https://evil.example", http.MethodPost, "content-type")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("preflight from a refused origin got Access-Control-Allow-Origin %q", got)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/customer.v1.CustomerService/ListCustomers", strings.NewReader("{}"))
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Content-Type", "application/json")
		if resp, _ = do(t, req); resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatal("a refused origin got Access-Control-Allow-Origin")
		}
	})
}
