package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/gen/customer/v1"
)

// cmdAudit prints audit events, newest first (or oldest first), a page or
// with -all every page.
func cmdAudit(ctx context.Context, e env, args []string) error {
	req := &customerv1.ListAuditEventsRequest{}
	fs, c := e.flags("audit")
	fs.Int64Var(&req.CustomerId, "id", 0, "only events that touched this customer")
	fs.StringVar(&req.Principal, "principal", "", "only events of this key name (or key id, or local)")
	fs.StringVar(&req.Procedure, "procedure", "", "only events of this RPC, such as GetCustomer")
	since := fs.String("since", "", "only events at or after this RFC 3339 time")
	until := fs.String("until", "", "only events before this RFC 3339 time")
	fs.BoolVar(&req.OldestFirst, "oldest-first", false, "oldest first instead of newest first")
	pageSize := fs.Int("page-size", 0, "events per page (0: the server's default)")
	fs.StringVar(&req.PageToken, "page-token", "", "continue from this token")
	all := fs.Bool("all", false, "fetch every page")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	req.PageSize = int32(*pageSize)
	for _, f := range []struct {
		value, name string
		to          **timestamppb.Timestamp
	}{{*since, "since", &req.StartTime}, {*until, "until", &req.EndTime}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.value)
		if err != nil {
			return fmt.Errorf("-%s: %w", f.name, err)
		}
		*f.to = timestamppb.New(t)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	got := &customerv1.ListAuditEventsResponse{}
	for {
		res, err := c.client().ListAuditEvents(ctx, req)
		if err != nil {
			return describe(err)
		}
		got.AuditEvents = append(got.AuditEvents, res.AuditEvents...)
		got.NextPageToken = res.NextPageToken
		if !*all || res.NextPageToken == "" {
			break
		}
		req.PageToken = res.NextPageToken
	}
	if c.output == "json" {
		return c.print(e.stdout, got)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPRINCIPAL\tPROCEDURE\tCODE\tCUSTOMERS\tREQUEST_ID")
	for _, ev := range got.AuditEvents {
		ids := make([]string, len(ev.GetCustomerIds()))
		for i, id := range ev.GetCustomerIds() {
			ids[i] = fmt.Sprint(id)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ev.GetTime().AsTime().Format(auditTime), ev.GetPrincipal(), ev.GetProcedure(),
			ev.GetCode(), strings.Join(ids, ","), ev.GetRequestId())
	}
	err := tw.Flush()
	if got.NextPageToken != "" {
		fmt.Fprintf(e.stderr, "more: -page-token %s (or -all)\n", got.NextPageToken)
	}
	return err
}

// cmdExportPerson prints everything the server holds about one customer
// as JSON (the ExportCustomerData response), for a person who asks for it.
func cmdExportPerson(ctx context.Context, e env, args []string) error {
	req := &customerv1.ExportCustomerDataRequest{}
	fs, c := e.flags("export-person")
	fs.Int64Var(&req.Id, "id", 0, "customer id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := c.client().ExportCustomerData(ctx, req)
	if err != nil {
		return describe(err)
	}
	c.output = "json" // the whole message, whatever -o says
	return c.print(e.stdout, res)
}

// cmdErase erases the customer with -id, if its etag is -etag when set.
func cmdErase(ctx context.Context, e env, args []string) error {
	req := &customerv1.EraseCustomerRequest{}
	fs, c := e.flags("erase")
	fs.Int64Var(&req.Id, "id", 0, "customer id")
	fs.StringVar(&req.Etag, "etag", "", "erase only if this is the current etag")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := c.client().EraseCustomer(ctx, req)
	if err != nil {
		return describe(err)
	}
	if c.output == "table" {
		fmt.Fprintf(e.stdout, "erased customer %d\n", req.Id)
		return nil
	}
	return c.print(e.stdout, res)
}

// auditTime is how the audit table shows an event's time: always three
// fractional digits, so that the column keeps one width.
const auditTime = "2006-01-02T15:04:05.000Z07:00"
