package rpc_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// TestUnaryResponsesHaveLength checks over real HTTP/1.1 that Connect
// unary answers carry a Content-Length equal to their body, not chunks:
// a page of customers larger than net/http's buffer, plain and gzipped, a
// small answer, and an error; and that clients of every protocol still
// read them.
func TestUnaryResponsesHaveLength(t *testing.T) {
	srv := startServer(t)
	c := customerv1connect.NewCustomerServiceClient(http1, srv.url)
	for i := range 60 {
		create(t, c, fmt.Sprintf("Customer %d", i), fmt.Sprintf("c%d@example.com", i))
	}
	// One transport for every request, without transparent gzip, so that
	// the body and its length are as the server sent them.
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	post := func(path, body string, header ...string) (*http.Response, []byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.url+"/customer.v1.CustomerService/"+path, bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	for _, tc := range []struct {
		name, path, body string
		header           []string
		status           int
	}{
		{"page", "ListCustomers", `{"pageSize":50}`, nil, 200},
		{"gzipped page", "ListCustomers", `{"pageSize":50}`, []string{"Accept-Encoding", "gzip"}, 200},
		{"small", "GetCustomer", `{"id":"1"}`, nil, 200},
		{"error", "GetCustomer", `{"id":"999999"}`, nil, 404},
	} {
		res, body := post(tc.path, tc.body, tc.header...)
		if res.StatusCode != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, res.StatusCode, tc.status, body)
		}
		if len(res.TransferEncoding) > 0 || res.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Fatalf("%s: Transfer-Encoding %v, Content-Length %q for a body of %d bytes", tc.name, res.TransferEncoding, res.Header.Get("Content-Length"), len(body))
		}
		if gzipped := res.Header.Get("Content-Encoding") == "gzip"; gzipped != (tc.header != nil) {
			t.Fatalf("%s: Content-Encoding %q", tc.name, res.Header.Get("Content-Encoding"))
		}
		if tc.header != nil {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !json.Valid(body) {
			t.Fatalf("%s: the body is not JSON: %.200s", tc.name, body)
		}
		if tc.name == "page" && len(body) < 4096 {
			t.Fatalf("the page is only %d bytes: the test no longer passes net/http's buffer", len(body))
		}
	}
	for _, p := range protocols {
		client := customerv1connect.NewCustomerServiceClient(p.client, srv.url, p.opts...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 50})
		cancel()
		if err != nil || len(res.Customers) != 50 {
			t.Fatalf("%s: %d customers, %v", p.name, len(res.GetCustomers()), err)
		}
	}
}
