package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/grpchealth"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"customerd/internal/auth"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/rpc"
)

// restServer is a real server on a fresh SQLite database, with the
// OpenAPI document it serves, for REST calls checked against it.
type restServer struct {
	t      *testing.T
	url    string
	router routers.Router
	// header is sent with every request (an API key).
	header http.Header
	// checked counts the requests and responses the document validated.
	checked *atomic.Int64
}

func startRESTServer(t *testing.T, opts rpc.Options) *restServer {
	t.Helper()
	st := enginetest.All()[0].Open(t, engine.Options{})
	opts.Feed, opts.Audit, opts.Personal = st, st, st
	srv := httptest.NewServer(rpc.NewHandler(st, grpchealth.NewStaticChecker(rpc.ServiceName), slog.New(slog.DiscardHandler), opts))
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /openapi.yaml: %s %q", res.Status, res.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("the served OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served OpenAPI document is not valid OpenAPI 3: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &restServer{t: t, url: srv.URL, router: router, header: http.Header{}, checked: new(atomic.Int64)}
}

// restResult is one REST answer.
type restResult struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a REST request with the given headers (name, value pairs) and
// returns the answer. Unless the request is meant to break the document's
// rules (unchecked), it validates the request before sending it and the
// response after, against the served OpenAPI document.
func (s *restServer) do(method, target, body string, headers ...string) restResult {
	return s.send(true, method, target, body, headers...)
}

// unchecked sends a request the document does not allow, and validates
// only that the error response has the documented shape.
func (s *restServer) unchecked(method, target, body string, headers ...string) restResult {
	return s.send(false, method, target, body, headers...)
}

func (s *restServer) send(check bool, method, target, body string, headers ...string) restResult {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.url+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	var input *openapi3filter.RequestValidationInput
	route, pathParams, routeErr := s.router.FindRoute(req)
	if routeErr == nil {
		input = &openapi3filter.RequestValidationInput{
			Request: req, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
	}
	if check {
		if routeErr != nil {
			t.Fatalf("%s %s: not in the OpenAPI document: %v", method, target, routeErr)
		}
		if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
			t.Fatalf("%s %s: the request breaks the OpenAPI document: %v", method, target, err)
		}
		s.checked.Add(1)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if input != nil {
		input.Options = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
		err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
			RequestValidationInput: input, Status: res.StatusCode, Header: res.Header,
			Body: io.NopCloser(bytes.NewReader(data)), Options: input.Options,
		})
		if err != nil {
			t.Fatalf("%s %s: the response (%d %s) breaks the OpenAPI document: %v", method, target, res.StatusCode, data, err)
		}
		s.checked.Add(1)
	}
	out := restResult{status: res.StatusCode, header: res.Header}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, want application/json (%d %s)", method, target, ct, res.StatusCode, data)
	}
	if err := json.Unmarshal(data, &out.body); err != nil {
		t.Fatalf("%s %s: body %q: %v", method, target, data, err)
	}
	return out
}

// wantStatus checks an answer's HTTP status, and for an error its
// google.rpc.Status code and, when given, the fields of its
// google.rpc.BadRequest detail.
func (r restResult) wantStatus(t *testing.T, status, code int, fields ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %v, want %d", r.status, r.body, status)
	}
	if status == http.StatusOK {
		return
	}
	if got, _ := r.body["code"].(float64); int(got) != code {
		t.Fatalf("got code %v (%v), want %d", r.body["code"], r.body["message"], code)
	}
	if msg, _ := r.body["message"].(string); msg == "" {
		t.Fatalf("error without a message: %v", r.body)
	}
	var got []string
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		d := d.(map[string]any)
		if d["@type"] != "type.googleapis.com/google.rpc.BadRequest" {
			continue
		}
		for _, fv := range d["fieldViolations"].([]any) {
			got = append(got, fv.(map[string]any)["field"].(string))
		}
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Fatalf("BadRequest fields %v, want %v (%v)", got, fields, r.body)
	}
}

func (r restResult) customer(t *testing.T) map[string]any {
	t.Helper()
	c, ok := r.body["customer"].(map[string]any)
	if !ok {
		t.Fatalf("no customer in %v", r.body)
	}
	return c
}

// gRPC codes as google.rpc.Status carries them.
const (
	codeInvalidArgument   = 3
	codeNotFound          = 5
	codeAlreadyExists     = 6
	codePermissionDenied  = 7
	codeResourceExhausted = 8
	codeAborted           = 10
	codeUnimplemented     = 12
	codeUnavailable       = 14
	codeUnauthenticated   = 16
)

// TestREST drives every REST route with real HTTP requests, each request
// and response validated against the OpenAPI document the server serves.
func TestREST(t *testing.T) {
	s := startRESTServer(t, rpc.Options{CORSOrigins: []string{"https://app.example"}})

	// A browser may PATCH with If-Match from an allowed origin.
	preflight, _ := http.NewRequest("OPTIONS", s.url+"/v1/customers/1", nil)
	preflight.Header.Set("Origin", "https://app.example")
	preflight.Header.Set("Access-Control-Request-Method", "PATCH")
	preflight.Header.Set("Access-Control-Request-Headers", "content-type,if-match")
	res, err := http.DefaultClient.Do(preflight)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Methods") != "PATCH" {
		t.Fatalf("CORS preflight of a PATCH: %s, allowed methods %q", res.Status, res.Header.Get("Access-Control-Allow-Methods"))
	}

	// Create, with an idempotency key: the retry returns the same customer.
	const key = "6a2f41a3-c54c-4f1f-9d3a-8a1c6a1e0e11"
	created := s.do("POST", "/v1/customers?requestId="+key, `{"name":" Ada Lovelace ","email":"ada@example.com","phone":"+44 20 7946 0000"}`)
	created.wantStatus(t, 200, 0)
	ada := created.customer(t)
	id, etag := ada["id"].(string), ada["etag"].(string)
	if ada["name"] != "Ada Lovelace" || id == "" || etag == "" || ada["createTime"] == nil {
		t.Fatalf("created %v", ada)
	}
	again := s.do("POST", "/v1/customers?request_id="+key, `{"name":"Ada Lovelace","email":"ada@example.com","phone":"+44 20 7946 0000"}`)
	again.wantStatus(t, 200, 0)
	if again.customer(t)["id"] != id {
		t.Fatalf("a retry with the same request_id made %v, want %s", again.customer(t)["id"], id)
	}
	s.do("POST", "/v1/customers", `{"name":"Grace Hopper","email":"grace@example.com"}`).wantStatus(t, 200, 0)
	s.do("POST", "/v1/customers", `{"name":"Alan Turing","email":"alan@example.com"}`).wantStatus(t, 200, 0)

	// Get, with the ETag header of a conditional GET.
	got := s.do("GET", "/v1/customers/"+id, "")
	got.wantStatus(t, 200, 0)
	if got.customer(t)["email"] != "ada@example.com" || got.header.Get("ETag") != `"`+etag+`"` {
		t.Fatalf("got %v, ETag %q", got.body, got.header.Get("ETag"))
	}

	// List, with search, AIP-132 order_by, paging and the total.
	page := s.do("GET", "/v1/customers?pageSize=2&orderBy="+urlEscape(" name  desc , id desc")+"&includeTotal=true", "")
	page.wantStatus(t, 200, 0)
	if names := customerNames(page.body); strings.Join(names, ",") != "Grace Hopper,Alan Turing" || page.body["totalSize"] != float64(3) {
		t.Fatalf("first page %v", page.body)
	}
	next := s.do("GET", "/v1/customers?pageSize=2&orderBy=name+desc&pageToken="+urlEscape(page.body["nextPageToken"].(string)), "")
	next.wantStatus(t, 200, 0)
	if names := customerNames(next.body); strings.Join(names, ",") != "Ada Lovelace" || next.body["nextPageToken"] != nil {
		t.Fatalf("second page %v", next.body)
	}
	search := s.do("GET", "/v1/customers?query=grace&updatedAfter=2000-01-01T00:00:00Z", "")
	if names := customerNames(search.body); strings.Join(names, ",") != "Grace Hopper" {
		t.Fatalf("search %v", search.body)
	}
	// The proto's own field names work as query parameters too.
	snake := s.unchecked("GET", "/v1/customers?page_size=1&order_by=email&include_total=true", "")
	if names := customerNames(snake.body); snake.status != 200 || strings.Join(names, ",") != "Ada Lovelace" {
		t.Fatalf("snake_case parameters: %d %v", snake.status, snake.body)
	}

	// Patch: If-Match with the current etag, then with the stale one.
	patched := s.do("PATCH", "/v1/customers/"+id+"?updateMask=phone,address", `{"address":"London"}`, "If-Match", `"`+etag+`"`)
	patched.wantStatus(t, 200, 0)
	if c := patched.customer(t); c["address"] != "London" || c["phone"] != nil || c["name"] != "Ada Lovelace" || c["etag"] == etag {
		t.Fatalf("patched %v", c)
	}
	s.do("PATCH", "/v1/customers/"+id, `{"name":"Ada King"}`, "If-Match", `"`+etag+`"`).wantStatus(t, 409, codeAborted)
	s.do("PATCH", "/v1/customers/"+id, `{"name":"Ada King"}`, "If-Match", `W/"`+etag+`"`).wantStatus(t, 400, codeInvalidArgument, "If-Match")
	s.do("PATCH", "/v1/customers/"+id, `{"name":"Ada King","etag":"other"}`, "If-Match", `"`+etag+`"`).wantStatus(t, 400, codeInvalidArgument, "If-Match")
	etag = patched.customer(t)["etag"].(string)
	// Without If-Match and without a mask: every field sent changes.
	renamed := s.do("PATCH", "/v1/customers/"+id, `{"name":"Ada King"}`, "If-Match", "*")
	renamed.wantStatus(t, 200, 0)
	if c := renamed.customer(t); c["name"] != "Ada King" || c["address"] != "London" {
		t.Fatalf("renamed %v", c)
	}
	// id is output only in the document, but a Connect-era body may carry it.
	s.unchecked("PATCH", "/v1/customers/"+id, `{"id":"999","name":"X"}`).wantStatus(t, 400, codeInvalidArgument, "id")

	// Delete: a stale etag (If-Match or the etag parameter) is refused.
	s.do("DELETE", "/v1/customers/"+id, "", "If-Match", `"`+etag+`"`).wantStatus(t, 409, codeAborted)
	s.do("DELETE", "/v1/customers/"+id+"?etag="+etag, "").wantStatus(t, 409, codeAborted)
	deleted := s.do("DELETE", "/v1/customers/"+id, "", "If-Match", `"`+renamed.customer(t)["etag"].(string)+`"`)
	deleted.wantStatus(t, 200, 0)
	s.do("GET", "/v1/customers/"+id, "").wantStatus(t, 404, codeNotFound)
	s.do("DELETE", "/v1/customers/"+id, "").wantStatus(t, 404, codeNotFound)
	s.do("PATCH", "/v1/customers/"+id, `{"name":"Nobody"}`).wantStatus(t, 404, codeNotFound)

	// Client mistakes: 4xx with a google.rpc.Status, never 500.
	s.do("POST", "/v1/customers", `{"name":"Grace","email":"GRACE@example.com"}`).wantStatus(t, 409, codeAlreadyExists)
	s.do("POST", "/v1/customers", `{"name":"","email":"not an address"}`).wantStatus(t, 400, codeInvalidArgument, "customer.name", "customer.email")
	s.do("POST", "/v1/customers?requestId=nope", `{"name":"A","email":"a@example.com"}`).wantStatus(t, 400, codeInvalidArgument, "request_id")
	s.do("GET", "/v1/customers?orderBy="+urlEscape("name desc, id"), "").wantStatus(t, 400, codeInvalidArgument, "order_by")
	s.do("GET", "/v1/customers?orderBy=phone", "").wantStatus(t, 400, codeInvalidArgument, "order_by")
	s.do("GET", "/v1/customers?pageToken=forged", "").wantStatus(t, 400, codeInvalidArgument, "page_token")
	s.do("GET", "/v1/customers/0", "").wantStatus(t, 400, codeInvalidArgument, "id")
	s.do("PATCH", "/v1/customers/1?updateMask=birthday", `{"name":"A"}`).wantStatus(t, 400, codeInvalidArgument, "update_mask")
	s.unchecked("GET", "/v1/customers/abc", "").wantStatus(t, 400, codeInvalidArgument)
	s.unchecked("GET", "/v1/customers?pageSize=many", "").wantStatus(t, 400, codeInvalidArgument)
	s.unchecked("GET", "/v1/customers?bogus=1", "").wantStatus(t, 400, codeInvalidArgument)
	s.unchecked("POST", "/v1/customers", `{"name":`).wantStatus(t, 400, codeInvalidArgument)
	s.unchecked("POST", "/v1/customers", `{"name":5}`).wantStatus(t, 400, codeInvalidArgument)
	s.unchecked("POST", "/v1/customers", `{"name":"A","email":"a@example.com"}`, "Content-Type", "text/plain").wantStatus(t, 415, codeInvalidArgument)
	s.unchecked("PUT", "/v1/customers/1", `{}`).wantStatus(t, 405, codeUnimplemented)
	s.unchecked("GET", "/v1/orders", "").wantStatus(t, 404, codeNotFound)

	t.Logf("%d requests and responses validated against the served OpenAPI document", s.checked.Load())
}

// TestRESTGuards checks that REST calls pass the same guards as Connect
// calls: API keys and their scope, the request size and body budget, and
// shutdown.
func TestRESTGuards(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	writeKey, err := auth.AddKey(file, auth.Write)
	if err != nil {
		t.Fatal(err)
	}
	readKey, err := auth.AddKey(file, auth.Read)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var draining atomic.Bool
	s := startRESTServer(t, rpc.Options{Keys: keys, MaxRequestBytes: 4 << 10, Draining: draining.Load})
	body := `{"name":"Ada Lovelace","email":"ada@example.com"}`

	s.do("GET", "/v1/customers", "").wantStatus(t, 401, codeUnauthenticated)
	s.do("POST", "/v1/customers", body, "Authorization", "Bearer wrong").wantStatus(t, 401, codeUnauthenticated)
	s.do("POST", "/v1/customers", body, "Authorization", "Bearer "+readKey).wantStatus(t, 403, codePermissionDenied)
	s.do("POST", "/v1/customers", body, "Authorization", "Bearer "+writeKey).wantStatus(t, 200, 0)
	s.do("GET", "/v1/customers", "", "Authorization", "Bearer "+readKey).wantStatus(t, 200, 0)
	s.do("DELETE", "/v1/customers/1", "", "Authorization", "Bearer "+readKey).wantStatus(t, 403, codePermissionDenied)
	// The documentation stays open, as /healthz does.
	for _, path := range []string{"/openapi.yaml", "/docs", "/docs/swagger-ui-bundle.js"} {
		res, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s without a key: %s", path, res.Status)
		}
	}

	big := `{"name":"Ada","email":"ada@example.com","address":"` + strings.Repeat("x", 8<<10) + `"}`
	s.do("POST", "/v1/customers", big, "Authorization", "Bearer "+writeKey).wantStatus(t, 429, codeResourceExhausted)

	draining.Store(true)
	s.do("GET", "/v1/customers/1", "", "Authorization", "Bearer "+readKey).wantStatus(t, 503, codeUnavailable)
}

// TestRESTBodyBudget checks that REST bodies draw on the body budget like
// any other call's: with none left, a large body is refused with 429.
func TestRESTBodyBudget(t *testing.T) {
	s := startRESTServer(t, rpc.Options{BodyBudget: 1})
	big := `{"name":"Ada","email":"ada@example.com","address":"` + strings.Repeat("x", 20<<10) + `"}`
	res := s.do("POST", "/v1/customers", big)
	res.wantStatus(t, 429, codeResourceExhausted)
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func customerNames(body map[string]any) []string {
	var names []string
	list, _ := body["customers"].([]any)
	for _, c := range list {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	return names
}

func urlEscape(s string) string {
	return strings.NewReplacer(" ", "%20", ",", "%2C", "+", "%2B", "/", "%2F", "=", "%3D").Replace(s)
}
