package rpc_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/auth"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/rpc"
	"customerd/internal/waitfor"
)

// bearer returns a client option that sends key with every call, unary
// and streaming.
func bearer(key string) connect.ClientOption { return connect.WithInterceptors(bearerKey(key)) }

type bearerKey string

func (k bearerKey) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(k))
		return next(ctx, req)
	}
}

func (k bearerKey) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(k))
		return conn
	}
}

func (k bearerKey) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// auditKeys makes a key file with a named admin key, a named write key and
// an unnamed read key, and returns the keys and the read key's id.
func auditKeys(t *testing.T) (keys *auth.Keys, admin, writer, reader, readerID string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keys")
	var err error
	if admin, err = auth.AddNamedKey(file, auth.Admin, "dpo"); err != nil {
		t.Fatal(err)
	}
	if writer, err = auth.AddNamedKey(file, auth.Write, "crm-sync"); err != nil {
		t.Fatal(err)
	}
	if reader, err = auth.AddKey(file, auth.Read); err != nil {
		t.Fatal(err)
	}
	if keys, err = auth.Load(file); err != nil {
		t.Fatal(err)
	}
	k, err := keys.Check("Bearer " + reader)
	if err != nil {
		t.Fatal(err)
	}
	return keys, admin, writer, reader, k.ID
}

// maxAuditPages bounds the paging of auditEvents: far more pages than any
// test here makes events.
const maxAuditPages = 10_000

// auditEvents returns every event req selects, paging with the tokens.
func auditEvents(t *testing.T, c customerv1connect.CustomerServiceClient, req *customerv1.ListAuditEventsRequest) []*customerv1.AuditEvent {
	t.Helper()
	var all []*customerv1.AuditEvent
	for range maxAuditPages {
		ctx, cancel := context.WithTimeout(context.Background(), waitfor.Timeout)
		res, err := c.ListAuditEvents(ctx, req)
		cancel()
		if err != nil {
			t.Fatalf("ListAuditEvents: %v", err)
		}
		all = append(all, res.GetAuditEvents()...)
		if res.GetNextPageToken() == "" {
			return all
		}
		req.PageToken = res.GetNextPageToken()
	}
	t.Fatalf("ListAuditEvents: still a next page after %d pages", maxAuditPages)
	return nil
}

type auditLine struct {
	principal, procedure, code string
	ids                        []int64
}

func lines(events []*customerv1.AuditEvent) []auditLine {
	out := make([]auditLine, len(events))
	for i, ev := range events {
		out[i] = auditLine{ev.GetPrincipal(), ev.GetProcedure(), ev.GetCode(), ev.GetCustomerIds()}
	}
	return out
}

// TestAuditTrail makes calls with three keys over every protocol and
// engine and reads them back from ListAuditEvents: who, what, which
// customers, how it ended; with each filter, in both orders, paged; and
// only with the admin key.
func TestAuditTrail(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		for _, p := range protocols {
			t.Run(p.name, func(t *testing.T) {
				keys, adminKey, writeKey, readKey, readID := auditKeys(t)
				srv := startServerWith(t, e, engine.Options{}, rpc.Options{Keys: keys})
				client := func(key string) customerv1connect.CustomerServiceClient {
					return customerv1connect.NewCustomerServiceClient(p.client, srv.url, append(slices.Clone(p.opts), bearer(key))...)
				}
				admin, writer, reader := client(adminKey), client(writeKey), client(readKey)
				ctx := context.Background()
				start := time.Now()

				a := create(t, writer, "Ada Lovelace", "ada@example.com")
				b := create(t, writer, "Grace Hopper", "grace@example.com")
				// A write's event is committed with the write: it is there
				// as soon as the write is acknowledged, before any flush.
				got := lines(auditEvents(t, admin, &customerv1.ListAuditEventsRequest{Procedure: "CreateCustomer", OldestFirst: true}))
				want := []auditLine{{"crm-sync", "CreateCustomer", "ok", []int64{a.Id}}, {"crm-sync", "CreateCustomer", "ok", []int64{b.Id}}}
				if !slices.EqualFunc(got, want, equalLine) {
					t.Fatalf("right after the creates: %v, want %v", got, want)
				}
				if _, err := reader.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: a.Id}); err != nil {
					t.Fatal(err)
				}
				_, err := reader.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: 999})
				wantError(t, err, connect.CodeNotFound)
				if _, err := reader.ListCustomers(ctx, &customerv1.ListCustomersRequest{}); err != nil {
					t.Fatal(err)
				}
				_, err = writer.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{Id: b.Id, Customer: &customerv1.Customer{Etag: "stale"}})
				wantError(t, err, connect.CodeAborted)
				if _, err := writer.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: b.Id}); err != nil {
					t.Fatal(err)
				}
				// Only an admin key reads the trail.
				for _, c := range []customerv1connect.CustomerServiceClient{reader, writer} {
					_, err := c.ListAuditEvents(ctx, &customerv1.ListAuditEventsRequest{})
					wantError(t, err, connect.CodePermissionDenied)
				}

				want = append(want,
					auditLine{readID, "GetCustomer", "ok", []int64{a.Id}},
					auditLine{readID, "GetCustomer", "not_found", []int64{999}},
					auditLine{readID, "ListCustomers", "ok", []int64{a.Id, b.Id}},
					auditLine{"crm-sync", "UpdateCustomer", "aborted", []int64{b.Id}},
					auditLine{"crm-sync", "DeleteCustomer", "ok", []int64{b.Id}},
				)
				// Reads and failed writes are stored in batches: wait for them.
				var all []*customerv1.AuditEvent
				waitfor.Cond(t, "the audit events of the reads", func() bool {
					all = auditEvents(t, admin, &customerv1.ListAuditEventsRequest{OldestFirst: true, PageSize: 2})
					return len(all) >= len(want)
				})
				if got := lines(all); !sameLines(got, want) {
					t.Fatalf("audit trail:\n%v\nwant (in any order among batches):\n%v", got, want)
				}
				newest := auditEvents(t, admin, &customerv1.ListAuditEventsRequest{PageSize: 3})
				if len(newest) != len(all) || newest[0].GetTime().AsTime().Before(newest[len(newest)-1].GetTime().AsTime()) {
					t.Fatalf("newest first: %v", lines(newest))
				}
				for _, ev := range all {
					if ev.GetTime().AsTime().Before(start.Add(-time.Second)) || ev.GetTime().AsTime().After(time.Now().Add(time.Second)) {
						t.Fatalf("event time %v outside the test", ev.GetTime().AsTime())
					}
				}
				// Filters.
				forB := lines(auditEvents(t, admin, &customerv1.ListAuditEventsRequest{CustomerId: b.Id, OldestFirst: true}))
				if want := filterLines(want, func(l auditLine) bool { return slices.Contains(l.ids, b.Id) }); !sameLines(forB, want) {
					t.Fatalf("customer %d: %v, want %v", b.Id, forB, want)
				}
				byReader := lines(auditEvents(t, admin, &customerv1.ListAuditEventsRequest{Principal: readID, Procedure: "GetCustomer"}))
				if len(byReader) != 2 {
					t.Fatalf("principal and procedure filter: %v", byReader)
				}
				none := auditEvents(t, admin, &customerv1.ListAuditEventsRequest{StartTime: timestamppb.New(time.Now().Add(time.Hour))})
				before := auditEvents(t, admin, &customerv1.ListAuditEventsRequest{EndTime: timestamppb.New(time.Now().Add(time.Hour))})
				if len(none) != 0 || len(before) != len(all) {
					t.Fatalf("time range: %d events after an hour from now, %d before", len(none), len(before))
				}
				// A token belongs to its filters.
				res, err := admin.ListAuditEvents(ctx, &customerv1.ListAuditEventsRequest{PageSize: 1})
				if err != nil {
					t.Fatal(err)
				}
				_, err = admin.ListAuditEvents(ctx, &customerv1.ListAuditEventsRequest{PageSize: 1, PageToken: res.GetNextPageToken(), OldestFirst: true})
				wantError(t, err, connect.CodeInvalidArgument, "page_token")
				_, err = admin.ListAuditEvents(ctx, &customerv1.ListAuditEventsRequest{PageToken: "garbage"})
				wantError(t, err, connect.CodeInvalidArgument, "page_token")
			})
		}
	})
}

func equalLine(a, b auditLine) bool {
	return a.principal == b.principal && a.procedure == b.procedure && a.code == b.code && slices.Equal(a.ids, b.ids)
}

// sameLines reports whether got and want hold the same lines: reads are
// stored in batches, so their order among writes may differ.
func sameLines(got, want []auditLine) bool {
	if len(got) != len(want) {
		return false
	}
	left := slices.Clone(want)
	for _, g := range got {
		i := slices.IndexFunc(left, func(w auditLine) bool { return equalLine(g, w) })
		if i < 0 {
			return false
		}
		left = slices.Delete(left, i, i+1)
	}
	return true
}

func filterLines(ls []auditLine, keep func(auditLine) bool) []auditLine {
	var out []auditLine
	for _, l := range ls {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}
