package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"connectrpc.com/connect"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it keeps every span that
// ExportTraceServiceRequests bring it.
type otlpReceiver struct {
	mu      sync.Mutex
	spans   []*tracepb.Span
	service string // service.name of the resource
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.Error(w, "not an OTLP trace export", http.StatusNotFound)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	data, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(data, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				o.service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// find returns the spans named name.
func (o *otlpReceiver) find(name string) []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range o.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// children returns the spans whose parent is p.
func (o *otlpReceiver) children(p *tracepb.Span) []*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range o.spans {
		if bytes.Equal(s.TraceId, p.TraceId) && bytes.Equal(s.ParentSpanId, p.SpanId) {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			if v := a.Value.GetStringValue(); v != "" {
				return v
			}
			return a.Value.String()
		}
	}
	return ""
}

func linksTo(s, target *tracepb.Span) bool {
	for _, l := range s.Links {
		if bytes.Equal(l.TraceId, target.TraceId) && bytes.Equal(l.SpanId, target.SpanId) {
			return true
		}
	}
	return false
}

// TestTracing runs the server with an OTLP endpoint in its environment and
// checks the spans it exports by the time it has stopped: a create that
// continues the caller's traceparent, with its write and the batch it rode
// in; a create refused as invalid; a list with its query.
func TestTracing(t *testing.T) {
	receiver := &otlpReceiver{}
	otlp := httptest.NewServer(receiver)
	defer otlp.Close()
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.URL,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_SERVICE_NAME":           "customerd-test",
	}
	for k, v := range env {
		t.Setenv(k, v) // the exporter reads the process's environment
	}
	url, stop := startRun(t, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "c.db")}, env)

	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	withParent := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if req.Spec().Procedure == customerv1connect.CustomerServiceCreateCustomerProcedure {
				req.Header().Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
			}
			return next(ctx, req)
		}
	})
	c := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url, connect.WithInterceptors(withParent))
	ctx := context.Background()
	if _, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "Ada", Email: "ada@example.com"}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "Bob", Email: "not an email"}})
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("create with a bad email: %v", err)
	}
	if _, err := c.ListCustomers(ctx, &customerv1.ListCustomersRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// Every span is exported by the time run has returned.

	if receiver.service != "customerd-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", receiver.service)
	}
	creates := receiver.find("customer.v1.CustomerService/CreateCustomer")
	if len(creates) != 2 {
		t.Fatalf("%d CreateCustomer spans, want 2", len(creates))
	}
	ok, bad := creates[0], creates[1]
	if attr(ok, "error.type") != "" {
		ok, bad = bad, ok
	}
	for _, s := range creates {
		if s.Kind != tracepb.Span_SPAN_KIND_SERVER || attr(s, "rpc.method") != "customer.v1.CustomerService/CreateCustomer" || attr(s, "rpc.system.name") == "" {
			t.Errorf("span %v: want a server span with the rpc attributes", s)
		}
	}
	if attr(ok, "rpc.response.status_code") != "OK" {
		t.Errorf("the create's span: %v, want rpc.response.status_code OK", ok.Attributes)
	}
	if hex.EncodeToString(ok.TraceId) != traceID || hex.EncodeToString(ok.ParentSpanId) != parentID {
		t.Errorf("the create's span is in trace %x under %x, want the traceparent's %s under %s", ok.TraceId, ok.ParentSpanId, traceID, parentID)
	}
	if attr(bad, "rpc.response.status_code") != "INVALID_ARGUMENT" || attr(bad, "error.type") != "INVALID_ARGUMENT" {
		t.Errorf("the refused create's span: %v, want rpc.response.status_code and error.type INVALID_ARGUMENT", bad.Attributes)
	}
	if kids := receiver.children(bad); len(kids) != 0 {
		t.Errorf("the refused create reached the database: %v", kids)
	}

	kids := receiver.children(ok)
	if len(kids) != 1 || kids[0].Name != "write" {
		t.Fatalf("children of the create's span: %v, want one write", kids)
	}
	write := kids[0]
	batches := receiver.find("batch")
	if len(batches) != 1 {
		t.Fatalf("%d batch spans, want 1", len(batches))
	}
	batch := batches[0]
	if len(batch.ParentSpanId) != 0 || !linksTo(batch, write) || !linksTo(write, batch) {
		t.Errorf("batch %v and write %v: want a root batch span and links both ways", batch, write)
	}
	if write.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("the write's span says it failed: %v", write.Status)
	}

	lists := receiver.find("customer.v1.CustomerService/ListCustomers")
	if len(lists) != 1 {
		t.Fatalf("%d ListCustomers spans, want 1", len(lists))
	}
	kids = receiver.children(lists[0])
	if len(kids) != 1 || kids[0].Name != "ListCustomers customers" || kids[0].Kind != tracepb.Span_SPAN_KIND_CLIENT ||
		attr(kids[0], "db.system.name") != "sqlite" {
		t.Fatalf("children of the list's span: %v, want its query", kids)
	}
}
