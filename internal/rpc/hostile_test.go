package rpc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
)

// hostileCase is one request a hostile or broken client could send, as raw
// bytes on the wire.
type hostileCase struct {
	name        string
	method      string // RPC name
	contentType string
	body        []byte
}

const svcPath = "/customer.v1.CustomerService/"

// grpcFrame wraps msg in a gRPC length-prefixed frame.
func grpcFrame(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg))), msg...)
}

// customerBytes encodes CreateCustomerRequest{customer{name, email}} by
// hand, so that it can carry what the Go protobuf library refuses to send
// (invalid UTF-8).
func customerBytes(name, email string) []byte {
	var c []byte
	c = protowire.AppendTag(c, 2, protowire.BytesType)
	c = protowire.AppendString(c, name)
	c = protowire.AppendTag(c, 3, protowire.BytesType)
	c = protowire.AppendString(c, email)
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	return protowire.AppendBytes(req, c)
}

func hostileCases() []hostileCase {
	deep := strings.Repeat(`{"customer":`, 10000) + "{}" + strings.Repeat("}", 10000)
	huge := `{"customer":{"name":"` + strings.Repeat("A", 2<<20) + `","email":"a@example.com"}}`
	return []hostileCase{
		{"InvalidUTF8JSON", "CreateCustomer", "application/json", []byte("{\"customer\":{\"name\":\"\xff\xfe\",\"email\":\"a@example.com\"}}")},
		{"InvalidUTF8Proto", "CreateCustomer", "application/proto", customerBytes("\xff\xfe", "a@example.com")},
		{"InvalidUTF8GRPC", "CreateCustomer", "application/grpc", grpcFrame(customerBytes("ok", "\xc3\x28@example.com"))},
		{"NULInName", "CreateCustomer", "application/json", []byte(`{"customer":{"name":"a\u0000b","email":"a@example.com"}}`)},
		{"HugeString", "CreateCustomer", "application/json", []byte(huge)},
		{"DeeplyNestedJSON", "CreateCustomer", "application/json", []byte(deep)},
		{"TruncatedJSON", "CreateCustomer", "application/json", []byte(`{"customer":{"name":"Ada","em`)},
		{"JSONArray", "CreateCustomer", "application/json", []byte(`[1,2,3]`)},
		{"WrongType", "CreateCustomer", "application/json", []byte(`{"customer":{"name":42,"email":true}}`)},
		{"WrongContentType", "CreateCustomer", "text/plain", []byte(`{"customer":{"name":"Ada","email":"a@example.com"}}`)},
		{"XMLContentType", "CreateCustomer", "application/xml", []byte(`<customer/>`)},
		{"TruncatedGRPCFrame", "CreateCustomer", "application/grpc", grpcFrame(customerBytes("Ada", "a@example.com"))[:9]},
		{"GRPCFrameLengthLies", "CreateCustomer", "application/grpc", append([]byte{0, 0x7f, 0xff, 0xff, 0xff}, 1, 2, 3)},
		{"GarbageProto", "CreateCustomer", "application/proto", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"Int64OverflowID", "GetCustomer", "application/json", []byte(`{"id":"9223372036854775808"}`)},
		{"NegativeID", "GetCustomer", "application/json", []byte(`{"id":"-1"}`)},
		{"FractionalID", "GetCustomer", "application/json", []byte(`{"id":1.5}`)},
		{"NegativePageSize", "ListCustomers", "application/json", []byte(`{"pageSize":-5}`)},
		{"PageSizeOverflow", "ListCustomers", "application/json", []byte(`{"pageSize":4294967296}`)},
		{"ForgedPageToken", "ListCustomers", "application/json", []byte(`{"pageToken":"AgAAAAAAAAAAAf____8P"}`)},
		{"SQLInOrderBy", "ListCustomers", "application/json", []byte(`{"orderBy":"name; DROP TABLE customers"}`)},
		{"FTSSyntaxInQuery", "ListCustomers", "application/json", []byte(`{"query":"NEAR( \" * OR AND -ada ^"}`)},
		{"UnknownMaskPath", "UpdateCustomer", "application/json", []byte(`{"customer":{"id":"1","name":"x"},"updateMask":"name,customers.email"}`)},
		{"EmptyBody", "CreateCustomer", "application/json", nil},
		{"InvalidUTF8GRPCWeb", "CreateCustomer", "application/grpc-web+proto", grpcFrame(customerBytes("\xed\xa0\x80", "a@example.com"))},
		{"TruncatedGRPCWebFrame", "CreateCustomer", "application/grpc-web+proto", grpcFrame(customerBytes("Ada", "a@example.com"))[:12]},
		{"UnknownFieldsProto", "CreateCustomer", "application/proto", append(protowire.AppendTag(nil, 99, protowire.VarintType), 1)},
	}
}

// TestHostileInput sends each hostile request over Connect (JSON or
// binary, HTTP/1.1) or gRPC (HTTP/2), checks that it is refused with a
// client-error code (never internal or unknown, never a 5xx), and that the
// database is exactly as before.
func TestHostileInput(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		ctx := context.Background()
		client := customerv1connect.NewCustomerServiceClient(h2c, srv.url)
		before := create(t, client, "Ada", "ada@example.com")
		snapshot := func() string {
			res, err := client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(res.Customers)
		}
		want := snapshot()
		for _, tc := range hostileCases() {
			t.Run(tc.name, func(t *testing.T) {
				httpClient := http1
				if strings.HasPrefix(tc.contentType, "application/grpc") {
					httpClient = h2c
				}
				req, _ := http.NewRequest(http.MethodPost, srv.url+svcPath+tc.method, bytes.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.contentType)
				if tc.contentType == "application/grpc" {
					req.Header.Set("TE", "trailers")
				}
				resp, err := httpClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				code := observedCode(t, resp, body)
				t.Logf("%s → HTTP %d, %s", tc.name, resp.StatusCode, code)
				if resp.StatusCode >= 500 || code == "internal" || code == "unknown" || code == "ok" && tc.name != "FTSSyntaxInQuery" {
					t.Fatalf("got HTTP %d, code %s: %s", resp.StatusCode, code, body)
				}
			})
		}
		if got := snapshot(); got != want {
			t.Fatalf("hostile requests changed the database:\nbefore %s\nafter  %s", want, got)
		}
		// Strings that look like SQL are data: stored and returned literally.
		for _, s := range []string{`Robert'); DROP TABLE customers;--`, `" OR 1=1 --`, `%_\`} {
			res, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
				Name: s, Email: fmt.Sprintf("x%d@example.com", len(s)), Address: &s,
			}})
			if err != nil {
				t.Fatalf("create with %q: %v", s, err)
			}
			got, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: res.Customer.Id})
			if err != nil || got.Customer.Name != s || got.Customer.GetAddress() != s {
				t.Fatalf("%q came back as %v, %v", s, got, err)
			}
		}
		if _, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: before.Id}); err != nil {
			t.Fatalf("the table is gone: %v", err)
		}
	})
}

// observedCode reads the Connect or gRPC code of a raw response: "ok" for
// success.
func observedCode(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	if st := resp.Header.Get("Grpc-Status") + resp.Trailer.Get("Grpc-Status"); st != "" {
		var n int
		fmt.Sscan(st, &n)
		if n == 0 {
			return "ok"
		}
		return connect.Code(n).String()
	}
	// A Connect stream answers 200, with any error in its end message.
	streamErr := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/connect+") && bytes.Contains(body, []byte(`"error":{"code":"`))
	if resp.StatusCode == http.StatusOK && !streamErr {
		return "ok"
	}
	if i := bytes.Index(body, []byte(`"code":"`)); i >= 0 {
		rest := body[i+len(`"code":"`):]
		return string(rest[:bytes.IndexByte(rest, '"')])
	}
	return fmt.Sprintf("http-%d", resp.StatusCode)
}
