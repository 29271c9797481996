package rpc_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/grpchealth"

	"customerd/internal/rpc"
	"customerd/internal/sqlite"
)

// The fuzz targets below run their seed corpus as ordinary tests. A longer
// run, one target at a time:
//
//	go test ./internal/rpc -run '^$' -fuzz FuzzCreateCustomerJSON -fuzztime 2m

// fuzzHandler serves the API in process on a fresh database.
func fuzzHandler(f *testing.F) http.Handler {
	st, err := sqlite.Open(filepath.Join(f.TempDir(), "fuzz.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	return rpc.NewHandler(st, grpchealth.NewStaticChecker(rpc.ServiceName), slog.New(slog.DiscardHandler), rpc.Options{})
}

// call sends body to method with contentType and returns the HTTP status
// and the Connect error code in the body, if any.
func call(h http.Handler, method, contentType string, body []byte) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/customer.v1.CustomerService/"+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out, _ := io.ReadAll(rec.Body)
	code := ""
	if i := bytes.Index(out, []byte(`"code":"`)); i >= 0 {
		rest := out[i+len(`"code":"`):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			code = string(rest[:j])
		}
	}
	return rec.Code, code
}

// FuzzCreateCustomerJSON sends arbitrary bodies as Connect JSON: whatever
// the bytes, the answer is success or a client error, never a server fault.
func FuzzCreateCustomerJSON(f *testing.F) {
	for _, seed := range []string{
		`{"customer":{"name":"Ada","email":"ada@example.com"}}`,
		`{"customer":{"name":"Ada","email":"ada@example.com","phone":"1","address":"x"},"requestId":"0b5e6f3c-9d2a-4e7b-8c1f-2a3b4c5d6e7f"}`,
		`{"customer":{"name":" ","email":"@"}}`, `{}`, `[]`, `null`, `{"customer":null}`,
		"{\"customer\":{\"name\":\"\xff\"}}", `{"customer":{"name":"` + strings.Repeat("x", 300) + `"}}`,
		`{"customer":{"id":"-9223372036854775808","createTime":"9999-12-31T23:59:59Z"}}`,
	} {
		f.Add([]byte(seed))
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, code := call(h, "CreateCustomer", "application/json", body)
		if status >= 500 || code == "internal" || code == "unknown" {
			t.Fatalf("HTTP %d, code %q for %q", status, code, body)
		}
	})
}

// FuzzListCustomers fuzzes the page token, order and query of a list.
func FuzzListCustomers(f *testing.F) {
	f.Add("", "", "ada", int32(0))
	f.Add("AgAAAAAAAAAAAQA", "name desc", "lond ada", int32(3))
	f.Add("!!", "name; drop", `"NEAR(`, int32(-1))
	f.Add("Ag", "update_time", "* OR -", int32(2000))
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, token, orderBy, query string, size int32) {
		body, _ := json.Marshal(map[string]any{"pageToken": token, "orderBy": orderBy, "query": query, "pageSize": size})
		status, code := call(h, "ListCustomers", "application/json", body)
		if status >= 500 || code == "internal" || code == "unknown" {
			t.Fatalf("HTTP %d, code %q for %s", status, code, body)
		}
	})
}

// FuzzUpdateMask fuzzes the field mask of an update: never a server fault,
// and a refused update changes nothing.
func FuzzUpdateMask(f *testing.F) {
	for _, seed := range []string{"name", "name,phone", "*", "etag", "id,name", "customer.name", "", ",", "name,,email", "NAME", "address.street"} {
		f.Add(seed, "New Name")
	}
	h := fuzzHandler(f)
	if status, _ := call(h, "CreateCustomer", "application/json", []byte(`{"customer":{"name":"Ada","email":"ada@example.com","phone":"1"}}`)); status != 200 {
		f.Fatalf("seeding the customer: HTTP %d", status)
	}
	get := func() string {
		req := httptest.NewRequest(http.MethodGet, `http://127.0.0.1/customer.v1.CustomerService/GetCustomer?encoding=json&message={"id":1}`, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	f.Fuzz(func(t *testing.T, mask, name string) {
		before := get()
		body, _ := json.Marshal(map[string]any{"customer": map[string]any{"id": "1", "name": name}, "updateMask": mask})
		status, code := call(h, "UpdateCustomer", "application/json", body)
		if status >= 500 || code == "internal" || code == "unknown" {
			t.Fatalf("HTTP %d, code %q for %s", status, code, body)
		}
		if status != 200 && get() != before {
			t.Fatalf("a refused update (%s) changed the customer", body)
		}
	})
}
