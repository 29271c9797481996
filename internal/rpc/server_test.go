package rpc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/rpc"
)

// testServer is a real HTTP server on 127.0.0.1 serving the whole handler
// over HTTP/1.1 and cleartext HTTP/2, on a fresh database.
type testServer struct {
	url    string
	dsn    string // the database's address
	store  engine.Engine
	health *grpchealth.StaticChecker
}

// startServer starts a server on the first engine under test, for tests of
// the HTTP layer rather than of stored behaviour.
func startServer(t testing.TB) *testServer {
	t.Helper()
	return startServerOn(t, enginetest.All()[0], engine.Options{})
}

// startServerOn starts a server on a fresh database of engine e.
func startServerOn(t testing.TB, e enginetest.Engine, opts engine.Options) *testServer {
	t.Helper()
	return startServerWith(t, e, opts, rpc.Options{})
}

// startServerWith starts a server with ropts on a fresh database of engine
// e; the server's feed and audit trail are the store's.
func startServerWith(t testing.TB, e enginetest.Engine, opts engine.Options, ropts rpc.Options) *testServer {
	t.Helper()
	dsn := e.DSN(t)
	st := e.Reopen(t, dsn, opts)
	health := grpchealth.NewStaticChecker(rpc.ServiceName)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ropts.CORSOrigins, ropts.Feed, ropts.Audit, ropts.Personal = []string{"https://app.example"}, st, st, st
	srv := httptest.NewUnstartedServer(rpc.NewHandler(st, health, log, ropts))
	rpc.ConfigureServer(srv.Config)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close) // before the store closes: cleanups run last in, first out
	return &testServer{url: srv.URL, dsn: dsn, store: st, health: health}
}

// http1 and h2c are clients for HTTP/1.1 and for HTTP/2 without TLS.
var (
	http1 = &http.Client{}
	h2c   = func() *http.Client {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		return &http.Client{Transport: &http.Transport{Protocols: p}}
	}()
)

// protocol is one way a client can talk to the server.
type protocol struct {
	name   string
	client *http.Client
	opts   []connect.ClientOption
}

var protocols = []protocol{
	{"ConnectJSON", http1, []connect.ClientOption{connect.WithProtoJSON()}},
	{"ConnectBinaryHTTP2", h2c, nil},
	{"ConnectGET", http1, []connect.ClientOption{connect.WithProtoJSON(), connect.WithHTTPGet()}},
	{"GRPC", h2c, []connect.ClientOption{connect.WithGRPC()}},
	{"GRPCWeb", http1, []connect.ClientOption{connect.WithGRPCWeb()}},
}

// forEachProtocol runs test once per engine and protocol, each against its
// own server.
func forEachProtocol(t *testing.T, test func(t *testing.T, c customerv1connect.CustomerServiceClient, srv *testServer)) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		for _, p := range protocols {
			t.Run(p.name, func(t *testing.T) {
				srv := startServerOn(t, e, engine.Options{})
				test(t, customerv1connect.NewCustomerServiceClient(p.client, srv.url, p.opts...), srv)
			})
		}
	})
}

func ptr(s string) *string { return &s }

func create(t *testing.T, c customerv1connect.CustomerServiceClient, name, email string) *customerv1.Customer {
	t.Helper()
	res, err := c.CreateCustomer(context.Background(), &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{Name: name, Email: email},
	})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return res.Customer
}

// wantError checks the code of err, that its message leaks nothing from the
// database, and that its BadRequest detail names exactly fields (if any).
func wantError(t *testing.T, err error, code connect.Code, fields ...string) {
	t.Helper()
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got %v, want a %v error", err, code)
	}
	if cerr.Code() != code {
		t.Fatalf("got code %v (%q), want %v", cerr.Code(), cerr.Message(), code)
	}
	for _, leak := range []string{"sqlite", "SQL", "constraint", "UNIQUE", "customers.", "database/sql"} {
		if strings.Contains(cerr.Message(), leak) {
			t.Fatalf("message %q leaks %q", cerr.Message(), leak)
		}
	}
	var got []string
	var sawViolations bool
	for _, d := range cerr.Details() {
		v, err := d.Value()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.(*validate.Violations); ok {
			sawViolations = true
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				got = append(got, fv.GetField())
				if fv.GetDescription() == "" {
					t.Errorf("violation of %s has no description", fv.GetField())
				}
			}
		}
	}
	if diff := cmp.Diff(fields, got); diff != "" {
		t.Fatalf("BadRequest fields (-want +got):\n%s", diff)
	}
	// Rules of the proto also come back as buf.validate.Violations, which
	// protovalidate clients read; the page token, the order and If-Match
	// are checked by the server.
	if len(fields) > 0 && !serverChecked[fields[0]] && !sawViolations {
		t.Fatalf("no buf.validate.Violations detail in %v", cerr)
	}
}

// serverChecked are the fields the server checks itself, not by a rule of
// the proto.
var serverChecked = map[string]bool{"page_token": true, "order_by": true, "If-Match": true}

func count(t *testing.T, c customerv1connect.CustomerServiceClient) int {
	t.Helper()
	res, err := c.ListCustomers(context.Background(), &customerv1.ListCustomersRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Customers)
}

func TestCreateCustomer(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, c customerv1connect.CustomerServiceClient, _ *testServer) {
		ctx := context.Background()
		res, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
			Id: 999, Name: "  Ada Lovelace ", Email: " Ada@Example.com", Phone: ptr("+44 20 7946 0000"), Etag: "ignored",
		}})
		if err != nil {
			t.Fatal(err)
		}
		got := res.Customer
		if got.Id <= 0 || got.Id == 999 || got.Name != "Ada Lovelace" || got.Email != "Ada@Example.com" ||
			got.GetPhone() != "+44 20 7946 0000" || got.Address != nil || got.Etag == "" || got.Etag == "ignored" {
			t.Fatalf("created %v", got)
		}
		if !got.CreateTime.IsValid() || !got.CreateTime.AsTime().Equal(got.UpdateTime.AsTime()) {
			t.Fatalf("timestamps: %v %v", got.CreateTime, got.UpdateTime)
		}
		fetched, err := c.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: got.Id})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, fetched.Customer, protocmp.Transform()); diff != "" {
			t.Fatalf("get after create (-created +got):\n%s", diff)
		}

		t.Run("ErrAlreadyExists", func(t *testing.T) {
			_, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
				Customer: &customerv1.Customer{Name: "Other", Email: "ada@EXAMPLE.com"},
			})
			wantError(t, err, connect.CodeAlreadyExists)
		})
		t.Run("ErrInvalidArgument", func(t *testing.T) {
			cases := []struct {
				name   string
				c      *customerv1.Customer
				fields []string
			}{
				{"NoCustomer", nil, []string{"customer"}},
				{"Empty", &customerv1.Customer{}, []string{"customer.name", "customer.email"}},
				{"BlankName", &customerv1.Customer{Name: "   ", Email: "b@example.com"}, []string{"customer.name"}},
				{"LongName", &customerv1.Customer{Name: strings.Repeat("é", 201), Email: "b@example.com"}, []string{"customer.name"}},
				{"BadEmail", &customerv1.Customer{Name: "B", Email: "not an email"}, []string{"customer.email"}},
				{"DisplayNameEmail", &customerv1.Customer{Name: "B", Email: "Bob <b@example.com>"}, []string{"customer.email"}},
				{"LongEmail", &customerv1.Customer{Name: "B", Email: strings.Repeat("b", 250) + "@example.com"}, []string{"customer.email"}},
				{"LongPhone", &customerv1.Customer{Name: "B", Email: "b@example.com", Phone: ptr(strings.Repeat("1", 33))}, []string{"customer.phone"}},
				{"LongAddress", &customerv1.Customer{Name: "B", Email: "b@example.com", Address: ptr(strings.Repeat("a", 501))}, []string{"customer.address"}},
				{"NULInName", &customerv1.Customer{Name: "B\x00b", Email: "b@example.com"}, []string{"customer.name"}},
				{"NewlineInName", &customerv1.Customer{Name: "B\nb", Email: "b@example.com"}, []string{"customer.name"}},
				{"PaddedLongName", &customerv1.Customer{Name: " " + strings.Repeat("b", 201) + " ", Email: "b@example.com"}, []string{"customer.name"}},
				{"ControlInPhone", &customerv1.Customer{Name: "B", Email: "b@example.com", Phone: ptr("1\t2")}, []string{"customer.phone"}},
				{"NULInAddress", &customerv1.Customer{Name: "B", Email: "b@example.com", Address: ptr("a\x00")}, []string{"customer.address"}},
				{"EmailNoDomain", &customerv1.Customer{Name: "B", Email: "b@"}, []string{"customer.email"}},
				{"EmailTwoAts", &customerv1.Customer{Name: "B", Email: "b@c@example.com"}, []string{"customer.email"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: tc.c})
					wantError(t, err, connect.CodeInvalidArgument, tc.fields...)
				})
			}
			for _, id := range []string{"not-a-uuid", "7f1d2c3b4a5e4f608a9b0c1d2e3f4a5b0", "'; DROP TABLE customers; --"} {
				_, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
					RequestId: id, Customer: &customerv1.Customer{Name: "B", Email: "b@example.com"},
				})
				wantError(t, err, connect.CodeInvalidArgument, "request_id")
			}
			if n := count(t, c); n != 1 {
				t.Fatalf("customers after rejected creates: %d, want 1", n)
			}
		})
		t.Run("EdgesThatPass", func(t *testing.T) {
			for i, cust := range []*customerv1.Customer{
				{Name: " \t" + strings.Repeat("é", 200) + "\n ", Email: "  edge0@example.com "},
				{Name: "Zoë O'Brien-Łukasiewicz", Email: "o'brien+tag@sub.example.co.uk", Address: ptr("1 Road\r\nLondon\tUK")},
				{Name: "x", Email: "x@localhost", Phone: ptr(strings.Repeat("9", 32))},
			} {
				res, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: cust})
				if err != nil {
					t.Fatalf("edge case %d: %v", i, err)
				}
				if res.Customer.Name != strings.Trim(cust.Name, " \t\n") || res.Customer.Email != strings.TrimSpace(cust.Email) {
					t.Fatalf("edge case %d stored %q %q: name and email must be trimmed", i, res.Customer.Name, res.Customer.Email)
				}
			}
		})
	})
}

func TestGetCustomer(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, c customerv1connect.CustomerServiceClient, _ *testServer) {
		ctx := context.Background()
		_, err := c.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: 424242})
		wantError(t, err, connect.CodeNotFound)
		_, err = c.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: 0})
		wantError(t, err, connect.CodeInvalidArgument, "id")
		_, err = c.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: -5})
		wantError(t, err, connect.CodeInvalidArgument, "id")
	})
}

func TestUpdateCustomer(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, c customerv1connect.CustomerServiceClient, _ *testServer) {
		ctx := context.Background()
		orig, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
			Name: "Ada", Email: "ada@example.com", Phone: ptr("123"), Address: ptr("London"),
		}})
		if err != nil {
			t.Fatal(err)
		}
		cur := orig.Customer

		t.Run("MaskClearsUnsetOptional", func(t *testing.T) {
			res, err := c.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer:   &customerv1.Customer{Id: cur.Id, Etag: cur.Etag, Name: "Ada L.", Email: "ignored@example.com"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "phone"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			u := res.Customer
			if u.Name != "Ada L." || u.Phone != nil || u.GetAddress() != "London" || u.Email != "ada@example.com" {
				t.Fatalf("updated %v", u)
			}
			if u.Etag == cur.Etag || !u.UpdateTime.AsTime().After(cur.UpdateTime.AsTime()) ||
				!u.CreateTime.AsTime().Equal(cur.CreateTime.AsTime()) {
				t.Fatalf("etag/update_time did not move or create_time did: before %v, after %v", cur, u)
			}
			got, err := c.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: cur.Id})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(u, got.Customer, protocmp.Transform()); diff != "" {
				t.Fatalf("update response differs from a later get (-update +get):\n%s", diff)
			}
			cur = u
		})
		t.Run("NoMaskChangesPopulatedFields", func(t *testing.T) {
			res, err := c.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer: &customerv1.Customer{Id: cur.Id, Phone: ptr("456")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if u := res.Customer; u.Name != "Ada L." || u.GetPhone() != "456" || u.GetAddress() != "London" {
				t.Fatalf("updated %v", u)
			}
			cur = res.Customer
		})
		t.Run("MaskOfEveryField", func(t *testing.T) {
			res, err := c.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer:   &customerv1.Customer{Id: cur.Id, Name: "Ada King", Email: "ADA@example.com"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "email", "phone", "address"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if u := res.Customer; u.Name != "Ada King" || u.Email != "ADA@example.com" || u.Phone != nil || u.Address != nil {
				t.Fatalf("updated %v", u)
			}
			cur = res.Customer
		})
		t.Run("ErrAborted", func(t *testing.T) {
			_, err := c.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer: &customerv1.Customer{Id: cur.Id, Etag: orig.Customer.Etag, Name: "Stale"},
			})
			wantError(t, err, connect.CodeAborted)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := c.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer: &customerv1.Customer{Id: cur.Id + 1000, Name: "Nobody"},
			})
			wantError(t, err, connect.CodeNotFound)
		})
		t.Run("ErrAlreadyExists", func(t *testing.T) {
			other := create(t, c, "Bob", "bob@example.com")
			_, err := c.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer: &customerv1.Customer{Id: other.Id, Email: "ada@EXAMPLE.com"},
			})
			wantError(t, err, connect.CodeAlreadyExists)
		})
		t.Run("ErrInvalidArgument", func(t *testing.T) {
			cases := []struct {
				name   string
				req    *customerv1.UpdateCustomerRequest
				fields []string
			}{
				{"NoCustomer", &customerv1.UpdateCustomerRequest{}, []string{"customer"}},
				{"NoID", &customerv1.UpdateCustomerRequest{Customer: &customerv1.Customer{Name: "x"}}, []string{"customer.id"}},
				{"UnknownPath", &customerv1.UpdateCustomerRequest{
					Customer:   &customerv1.Customer{Id: cur.Id, Name: "x"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"nickname"}},
				}, []string{"update_mask"}},
				{"OutputOnlyPath", &customerv1.UpdateCustomerRequest{
					Customer:   &customerv1.Customer{Id: cur.Id, Etag: "x"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"etag"}},
				}, []string{"update_mask"}},
				{"IDPath", &customerv1.UpdateCustomerRequest{
					Customer:   &customerv1.Customer{Id: cur.Id},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"id"}},
				}, []string{"update_mask"}},
				{"MaskedEmptyName", &customerv1.UpdateCustomerRequest{
					Customer:   &customerv1.Customer{Id: cur.Id},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
				}, []string{"customer.name"}},
				{"BadEmail", &customerv1.UpdateCustomerRequest{
					Customer: &customerv1.Customer{Id: cur.Id, Email: "nope"},
				}, []string{"customer.email"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := c.UpdateCustomer(ctx, tc.req)
					wantError(t, err, connect.CodeInvalidArgument, tc.fields...)
				})
			}
			got, err := c.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: cur.Id})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cur, got.Customer, protocmp.Transform()); diff != "" {
				t.Fatalf("rejected updates changed the customer (-before +after):\n%s", diff)
			}
		})
	})
}

func TestDeleteCustomer(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, c customerv1connect.CustomerServiceClient, _ *testServer) {
		ctx := context.Background()
		a := create(t, c, "Ada", "ada@example.com")
		_, err := c.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: a.Id, Etag: "stale"})
		wantError(t, err, connect.CodeAborted)
		if _, err := c.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: a.Id, Etag: a.Etag}); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: a.Id})
		wantError(t, err, connect.CodeNotFound)
		_, err = c.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: a.Id})
		wantError(t, err, connect.CodeNotFound)
		_, err = c.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{})
		wantError(t, err, connect.CodeInvalidArgument, "id")
	})
}

func TestListCustomers(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, c customerv1connect.CustomerServiceClient, srv *testServer) {
		ctx := context.Background()
		res, err := c.ListCustomers(ctx, &customerv1.ListCustomersRequest{})
		if err != nil || len(res.Customers) != 0 || res.NextPageToken != "" {
			t.Fatalf("empty list: %v, %v", res, err)
		}
		var ids []int64
		for i := range 7 {
			ids = append(ids, create(t, c, "C", fmt.Sprintf("c%d@example.com", i)).Id)
		}
		res, err = c.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		seen := idsOf(res.Customers)
		if fmt.Sprint(seen) != fmt.Sprint(ids[:3]) || res.NextPageToken == "" {
			t.Fatalf("page 1: %v token %q", seen, res.NextPageToken)
		}
		if strings.Contains(res.NextPageToken, fmt.Sprint(ids[2])) {
			t.Errorf("page token %q shows the id in plain text", res.NextPageToken)
		}
		// Changes between pages: delete a seen and an unseen row, add one.
		for _, id := range []int64{ids[1], ids[4]} {
			if _, err := c.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
		}
		late := create(t, c, "Late", "late@example.com")
		token := res.NextPageToken
		for token != "" {
			res, err = c.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 3, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Customers) == 0 {
				t.Fatal("a page token led to an empty page")
			}
			seen = append(seen, idsOf(res.Customers)...)
			token = res.NextPageToken
		}
		want := []int64{ids[0], ids[1], ids[2], ids[3], ids[5], ids[6], late.Id}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Fatalf("paged ids: got %v, want %v", seen, want)
		}

		t.Run("ErrInvalidArgument", func(t *testing.T) {
			_, err := c.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: -1})
			wantError(t, err, connect.CodeInvalidArgument, "page_size")
			for _, tok := range []string{"garbage", "42", "AQ", "!!!!", strings.Repeat("A", 4000)} {
				_, err = c.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageToken: tok})
				wantError(t, err, connect.CodeInvalidArgument, "page_token")
			}
		})
	})
}

// TestListPageSizeLimits checks the default and the largest page size, on
// one server per engine holding more customers than the largest page, over
// every protocol.
func TestListPageSizeLimits(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		srv := startServerOn(t, e, engine.Options{})
		bulkInsert(t, srv, rpc.MaxPageSize+100)
		for _, p := range protocols {
			t.Run(p.name, func(t *testing.T) {
				c := customerv1connect.NewCustomerServiceClient(p.client, srv.url, p.opts...)
				ctx := context.Background()
				res, err := c.ListCustomers(ctx, &customerv1.ListCustomersRequest{})
				if err != nil || len(res.Customers) != rpc.DefaultPageSize {
					t.Fatalf("page_size 0: %d customers, %v; want %d", len(res.GetCustomers()), err, rpc.DefaultPageSize)
				}
				res, err = c.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 5000})
				if err != nil || len(res.Customers) != rpc.MaxPageSize || res.NextPageToken == "" {
					t.Fatalf("page_size 5000: %d customers, %v; want %d and a next page", len(res.GetCustomers()), err, rpc.MaxPageSize)
				}
			})
		}
	})
}

// bulkInsert adds n customers named Bulk to srv's database cheaply. On
// PostgreSQL one INSERT adds them all, in one round trip and one commit,
// instead of a round trip per statement of every create (which on a loaded
// machine, each round trip waiting for both processes to be scheduled, was
// seen to crawl at a row a second); those rows have an empty search
// document, so no search finds them. On SQLite the creates go through the
// store, many at once, so that the writer commits them in a few batches.
func bulkInsert(t *testing.T, srv *testServer, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if engine.IsPostgres(srv.dsn) {
		conn, err := pgx.Connect(ctx, srv.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `INSERT INTO customers (name, email)
			SELECT 'Bulk', 'bulk' || i || '@example.com' FROM generate_series(1, $1) AS i`, n); err != nil {
			t.Fatalf("insert %d customers: %v", n, err)
		}
		return
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 128 { // the writer's batch: one transaction takes them all
		wg.Go(func() {
			for i := range next {
				if _, err := srv.store.CreateCustomer(ctx, customer.New{Name: "Bulk", Email: fmt.Sprintf("bulk%d@example.com", i)}); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func idsOf(cs []*customerv1.Customer) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.Id
	}
	return ids
}

func TestHealth(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	hc := grpchealth.NewClient(h2c, srv.url, connect.WithGRPC())
	res, err := hc.Check(ctx, &grpchealth.CheckRequest{Service: rpc.ServiceName})
	if err != nil || res.Status != grpchealth.StatusServing {
		t.Fatalf("health check: %v, %v", res, err)
	}
	get := func() int {
		resp, err := http.Get(srv.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("GET /healthz: %d", code)
	}
	srv.health.SetStatus("", grpchealth.StatusNotServing)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /healthz while not serving: %d, want 503", code)
	}
}

func TestReflection(t *testing.T) {
	srv := startServer(t)
	t.Run("V1", func(t *testing.T) {
		stream := grpcreflect.NewClient(h2c, srv.url, connect.WithGRPC()).NewStream(context.Background())
		defer stream.Close()
		names, err := stream.ListServices()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(fmt.Sprint(names), rpc.ServiceName) {
			t.Fatalf("services %v lack %s", names, rpc.ServiceName)
		}
		files, err := stream.FileContainingSymbol(rpc.ServiceName)
		if err != nil || len(files) == 0 {
			t.Fatalf("descriptor of %s: %v", rpc.ServiceName, err)
		}
	})
	t.Run("V1Alpha", func(t *testing.T) {
		// grpcurl still asks v1alpha first; send it a raw gRPC request:
		// ServerReflectionRequest{list_services: "*"} (field 7).
		msg := protowire.AppendTag(nil, 7, protowire.BytesType)
		msg = protowire.AppendString(msg, "*")
		frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
		frame = append(frame, msg...)
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", bytes.NewReader(frame))
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		resp, err := h2c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if st := resp.Trailer.Get("Grpc-Status"); st != "0" {
			t.Fatalf("grpc-status %q (%s)", st, resp.Trailer.Get("Grpc-Message"))
		}
		if !bytes.Contains(body, []byte(rpc.ServiceName)) {
			t.Fatalf("v1alpha list_services response lacks %s", rpc.ServiceName)
		}
	})
}

// TestCurl sends the README's plain JSON requests, as curl does.
func TestCurl(t *testing.T) {
	srv := startServer(t)
	post := func(method, body string) (int, string) {
		resp, err := http.Post(srv.url+"/customer.v1.CustomerService/"+method, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post("CreateCustomer", `{"customer":{"name":"Ada","email":"ada@example.com"}}`)
	if code != 200 || !strings.Contains(body, `"id":"1"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	resp, err := http.Get(srv.url + `/customer.v1.CustomerService/GetCustomer?encoding=json&message={"id":1}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"email":"ada@example.com"`) {
		t.Fatalf("GET: %d %s", resp.StatusCode, b)
	}
	code, body = post("CreateCustomer", `{"customer":{"name":"Ada","email":"ADA@example.com"}}`)
	if code != 409 || !strings.Contains(body, `"code":"already_exists"`) {
		t.Fatalf("duplicate: %d %s", code, body)
	}
	code, body = post("CreateCustomer", `{"customer":{"name":"Ada",`)
	if code != 400 || !strings.Contains(body, `"code":"invalid_argument"`) {
		t.Fatalf("truncated JSON: %d %s", code, body)
	}
}
