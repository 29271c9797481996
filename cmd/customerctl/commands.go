package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/gen/customer/v1"
)

// cmdCreate creates a customer and prints it.
func cmdCreate(ctx context.Context, e env, args []string) error {
	req := &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{}}
	fs, c := e.flags("create")
	fs.StringVar(&req.Customer.Name, "name", "", "name")
	fs.StringVar(&req.Customer.Email, "email", "", "email address")
	phone := fs.String("phone", "", "phone number")
	address := fs.String("address", "", "postal address")
	fs.StringVar(&req.RequestId, "request-id", "", "a UUID that makes retrying this create safe")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	req.Customer.Phone, req.Customer.Address = c.optional("phone", *phone), c.optional("address", *address)
	return call(ctx, e, c, c.client().CreateCustomer, req)
}

// cmdGet prints the customer with -id.
func cmdGet(ctx context.Context, e env, args []string) error {
	req := &customerv1.GetCustomerRequest{}
	fs, c := e.flags("get")
	fs.Int64Var(&req.Id, "id", 0, "customer id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	return call(ctx, e, c, c.client().GetCustomer, req)
}

// cmdUpdate changes the fields of a customer given as flags, clears those
// named by -clear, and prints the customer.
func cmdUpdate(ctx context.Context, e env, args []string) error {
	cust := &customerv1.Customer{}
	fs, c := e.flags("update")
	fs.Int64Var(&cust.Id, "id", 0, "customer id")
	fs.StringVar(&cust.Name, "name", "", "new name")
	fs.StringVar(&cust.Email, "email", "", "new email address")
	phone := fs.String("phone", "", "new phone number")
	address := fs.String("address", "", "new postal address")
	clr := fs.String("clear", "", "comma-separated optional fields to clear: phone, address")
	fs.StringVar(&cust.Etag, "etag", "", "update only if this is the current etag")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	cust.Phone, cust.Address = c.optional("phone", *phone), c.optional("address", *address)
	mask := &fieldmaskpb.FieldMask{Paths: slices.DeleteFunc([]string{"name", "email", "phone", "address"}, func(f string) bool { return !c.set[f] })}
	for f := range strings.SplitSeq(*clr, ",") {
		if f = strings.TrimSpace(f); f != "" {
			mask.Paths = append(mask.Paths, f)
		}
	}
	if len(mask.Paths) == 0 {
		return errors.New("update: nothing to change; set -name, -email, -phone, -address or -clear")
	}
	return call(ctx, e, c, c.client().UpdateCustomer, &customerv1.UpdateCustomerRequest{Customer: cust, UpdateMask: mask})
}

// cmdDelete deletes the customer with -id, if its etag is -etag when set.
func cmdDelete(ctx context.Context, e env, args []string) error {
	req := &customerv1.DeleteCustomerRequest{}
	fs, c := e.flags("delete")
	fs.Int64Var(&req.Id, "id", 0, "customer id")
	fs.StringVar(&req.Etag, "etag", "", "delete only if this is the current etag")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := c.client().DeleteCustomer(ctx, req)
	if err != nil {
		return describe(err)
	}
	if c.output == "table" {
		fmt.Fprintf(e.stdout, "deleted customer %d\n", req.Id)
		return nil
	}
	return c.print(e.stdout, res)
}

// cmdList prints a page of customers and, in a table, the token of the
// next page on stderr; with -all it prints every page.
func cmdList(ctx context.Context, e env, args []string) error {
	req := &customerv1.ListCustomersRequest{}
	fs, c := e.flags("list")
	fs.StringVar(&req.Query, "query", "", "search words")
	fs.StringVar(&req.OrderBy, "order-by", "", `order: id, name, email, create_time, update_time, optionally with " desc"`)
	updatedAfter := fs.String("updated-after", "", "only customers updated after this RFC 3339 time")
	pageSize := fs.Int("page-size", 0, "customers per page (0: the server's default)")
	fs.StringVar(&req.PageToken, "page-token", "", "continue from this token")
	all := fs.Bool("all", false, "fetch every page")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	req.PageSize = int32(*pageSize)
	if *updatedAfter != "" {
		t, err := time.Parse(time.RFC3339Nano, *updatedAfter)
		if err != nil {
			return fmt.Errorf("-updated-after: %w", err)
		}
		req.UpdatedAfter = timestamppb.New(t)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	got := &customerv1.ListCustomersResponse{}
	for {
		res, err := c.client().ListCustomers(ctx, req)
		if err != nil {
			return describe(err)
		}
		got.Customers = append(got.Customers, res.Customers...)
		got.NextPageToken = res.NextPageToken
		if !*all || res.NextPageToken == "" {
			break
		}
		req.PageToken = res.NextPageToken
	}
	err := c.print(e.stdout, got, got.Customers...)
	if c.output == "table" && got.NextPageToken != "" {
		fmt.Fprintf(e.stderr, "more: -page-token %s (or -all)\n", got.NextPageToken)
	}
	return err
}

// cmdWatch prints every change until ctx ends: a line per event, or one
// JSON document per line with -o json.
func cmdWatch(ctx context.Context, e env, args []string) error {
	req := &customerv1.WatchCustomersRequest{}
	fs, c := e.flags("watch")
	fs.StringVar(&req.ResumeToken, "resume", "", "resume after this event's resume token")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	stream, err := c.client().WatchCustomers(ctx, req)
	if err != nil {
		return describe(err)
	}
	defer stream.Close()
	for stream.Receive() {
		ev := stream.Msg()
		if c.output == "json" {
			b, err := stableJSON(ev, "")
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, string(b))
			continue
		}
		kind := strings.ToLower(strings.TrimPrefix(ev.GetType().String(), "CHANGE_TYPE_"))
		cust := ev.GetCustomer()
		fmt.Fprintf(e.stdout, "%s\t%d\t%s\t%s\t%s\tresume=%s\n", kind, cust.GetId(), cust.GetName(), cust.GetEmail(),
			cust.GetUpdateTime().AsTime().Format(time.RFC3339Nano), ev.GetResumeToken())
	}
	if err := stream.Err(); err != nil && ctx.Err() == nil {
		return describe(err)
	}
	return nil
}
