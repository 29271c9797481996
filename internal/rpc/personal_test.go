package rpc_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/rpc"
)

// TestExportAndErase exports a customer, erases it and exports it again,
// over every protocol and engine, with a watcher open throughout: the
// export holds the customer, its changes and its audit events; after the
// erasure the customer is gone, its changes are tombstones ending in
// ERASED, for the watcher resuming from before it too (from the server's
// buffer of recent events), and both calls need an admin key.
func TestExportAndErase(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		for _, p := range protocols {
			t.Run(p.name, func(t *testing.T) {
				keys, adminKey, writeKey, _, _ := auditKeys(t)
				srv := startServerWith(t, e, engine.Options{}, rpc.Options{Keys: keys})
				client := func(key string) customerv1connect.CustomerServiceClient {
					return customerv1connect.NewCustomerServiceClient(p.client, srv.url, append(slices.Clone(p.opts), bearer(key))...)
				}
				admin, writer := client(adminKey), client(writeKey)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()

				watch, err := admin.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: fromTheStart})
				if err != nil {
					t.Fatal(err)
				}
				defer watch.Close()
				create(t, writer, "Grace Hopper", "grace@example.com")
				target := create(t, writer, "Zyxwvut Qrstuvwxy", "zyxw@example.org")
				if _, err := writer.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{Id: target.Id, Customer: &customerv1.Customer{Phone: ptr("+99 8877 665544")}}); err != nil {
					t.Fatal(err)
				}
				seen := receive(t, watch, 3) // the fanout now keeps them, with values

				_, err = writer.ExportCustomerData(ctx, &customerv1.ExportCustomerDataRequest{Id: target.Id})
				wantError(t, err, connect.CodePermissionDenied)
				_, err = writer.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{Id: target.Id})
				wantError(t, err, connect.CodePermissionDenied)

				exp, err := admin.ExportCustomerData(ctx, &customerv1.ExportCustomerDataRequest{Id: target.Id})
				if err != nil {
					t.Fatal(err)
				}
				if exp.GetCustomer().GetPhone() != "+99 8877 665544" || len(exp.GetChanges()) != 2 || exp.GetChanges()[0].GetCustomer().GetName() != target.Name {
					t.Fatalf("export: %v", exp)
				}
				if got := lines(exp.GetAuditEvents()); len(got) < 2 || got[0].procedure != "CreateCustomer" || got[0].principal != "crm-sync" || got[1].procedure != "UpdateCustomer" {
					t.Fatalf("export's audit events: %v", got)
				}

				_, err = admin.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{Id: target.Id, Etag: "stale"})
				wantError(t, err, connect.CodeAborted)
				if _, err := admin.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{Id: target.Id}); err != nil {
					t.Fatal(err)
				}
				_, err = admin.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{Id: target.Id})
				wantError(t, err, connect.CodeNotFound)
				_, err = admin.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: target.Id})
				wantError(t, err, connect.CodeNotFound)

				exp, err = admin.ExportCustomerData(ctx, &customerv1.ExportCustomerDataRequest{Id: target.Id})
				if err != nil {
					t.Fatal(err)
				}
				checkTombstones(t, "export after erasure", exp.GetChanges(), target.Id, 3)
				if exp.GetCustomer() != nil || !slices.ContainsFunc(exp.GetAuditEvents(), func(ev *customerv1.AuditEvent) bool {
					return ev.GetProcedure() == "EraseCustomer" && ev.GetPrincipal() == "dpo" && ev.GetCode() == "ok"
				}) {
					t.Fatalf("export after erasure: %v", exp)
				}
				b, err := protojson.Marshal(exp)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), "Zyxwvut") || strings.Contains(string(b), "665544") {
					t.Fatalf("export after erasure holds values: %s", b)
				}
				_, err = admin.ExportCustomerData(ctx, &customerv1.ExportCustomerDataRequest{Id: 99999})
				wantError(t, err, connect.CodeNotFound)

				// The open watcher sees the erasure; one resuming from
				// before the target's first change sees only tombstones.
				if ev := receive(t, watch, 1)[0]; ev.GetType() != customerv1.ChangeType_CHANGE_TYPE_ERASED || ev.GetCustomer().GetName() != "" {
					t.Fatalf("the open watcher got %v", ev)
				}
				resumed, err := admin.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: seen[0].GetResumeToken()})
				if err != nil {
					t.Fatal(err)
				}
				defer resumed.Close()
				checkTombstones(t, "resumed watch", receive(t, resumed, 3), target.Id, 3)
			})
		}
	})
}

// checkTombstones checks that events are n changes of customer id without
// values, the last an erasure.
func checkTombstones(t *testing.T, what string, events []*customerv1.ChangeEvent, id int64, n int) {
	t.Helper()
	if len(events) != n {
		t.Fatalf("%s: %d events, want %d: %v", what, len(events), n, events)
	}
	for i, ev := range events {
		c := ev.GetCustomer()
		if c.GetId() != id || c.GetName() != "" || c.GetEmail() != "" || c.Phone != nil || c.Address != nil || c.GetUpdateTime() == nil {
			t.Fatalf("%s: event %d is not a tombstone of %d: %v", what, i, id, ev)
		}
	}
	if last := events[n-1].GetType(); last != customerv1.ChangeType_CHANGE_TYPE_ERASED {
		t.Fatalf("%s: the last event is %v, want ERASED", what, last)
	}
}

// TestRESTPersonalData drives the personal-data routes as REST resources,
// each request and answer checked against the served OpenAPI document.
func TestRESTPersonalData(t *testing.T) {
	s := startRESTServer(t, rpc.Options{})
	s.do("POST", "/v1/customers", `{"name":"Ada Lovelace","email":"ada@example.com"}`).wantStatus(t, 200, 0)
	exp := s.do("GET", "/v1/customers/1:export", "")
	exp.wantStatus(t, 200, 0)
	if c, _ := exp.body["customer"].(map[string]any); c["name"] != "Ada Lovelace" {
		t.Fatalf("export: %v", exp.body)
	}
	s.do("GET", "/v1/auditEvents?customerId=1&procedure=CreateCustomer", "").wantStatus(t, 200, 0)
	s.do("POST", "/v1/customers/1:erase", "").wantStatus(t, 200, 0)
	s.do("POST", "/v1/customers/1:erase", "").wantStatus(t, 404, codeNotFound)
	s.do("GET", "/v1/customers/1", "").wantStatus(t, 404, codeNotFound)
	s.do("GET", "/v1/auditEvents?pageToken=nonsense", "").wantStatus(t, 400, codeInvalidArgument, "page_token")
}
