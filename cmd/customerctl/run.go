package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/internal/gen/customer/v1"
	"customerd/internal/gen/customer/v1/customerv1connect"
)

const usage = `usage: customerctl COMMAND [flags]

commands:
  create   -name NAME -email EMAIL [-phone P] [-address A] [-request-id UUID]
  get      -id ID
  update   -id ID [-name N] [-email E] [-phone P] [-address A] [-clear phone,address] [-etag ETAG]
  delete   -id ID [-etag ETAG]
  list     [-query Q] [-order-by ORDER] [-updated-after RFC3339] [-page-size N] [-page-token T] [-all]
  watch    [-resume TOKEN]                      every change from now (or after TOKEN), until interrupted
  export   [-file F] [-format csv|jsonl]        every customer, to F or stdout
  import   [-file F] [-format csv|jsonl] [-workers N]   from F or stdin; safe to run again

common flags: -server URL ($CUSTOMERCTL_SERVER, http://127.0.0.1:8080), -key KEY ($CUSTOMERCTL_KEY),
              -o table|json, -timeout DURATION`

// common are the flags every subcommand takes.
type common struct {
	server, key, output string
	timeout             time.Duration
}

func (c *common) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.server, "server", cmp.Or(getenv("CUSTOMERCTL_SERVER"), "http://127.0.0.1:8080"), "server `URL`")
	fs.StringVar(&c.key, "key", getenv("CUSTOMERCTL_KEY"), "API `key` (sent as a bearer token)")
	fs.StringVar(&c.output, "o", "table", "output: table or json")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "deadline of the call")
}

func (c *common) client() customerv1connect.CustomerServiceClient {
	var opts []connect.ClientOption
	if c.key != "" {
		key := c.key
		opts = append(opts, connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("Authorization", "Bearer "+key)
				return next(ctx, req)
			}
		})))
	}
	return customerv1connect.NewCustomerServiceClient(http.DefaultClient, strings.TrimSuffix(c.server, "/"), opts...)
}

// run parses a subcommand and its flags and makes the call. It returns an
// error for bad usage or a failed call, described for people (with the
// Connect code and each field violation).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		fmt.Fprintln(stderr, usage)
		if len(args) == 0 {
			return errors.New("no command")
		}
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("customerctl "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	var (
		id                                                int64
		name, email, phone, address, etag, requestID, clr string
		query, orderBy, updatedAfter, pageToken           string
		pageSize, workers                                 int
		all                                               bool
		file, format                                      string
	)
	switch cmd {
	case "create":
		fs.StringVar(&name, "name", "", "name")
		fs.StringVar(&email, "email", "", "email address")
		fs.StringVar(&phone, "phone", "", "phone number")
		fs.StringVar(&address, "address", "", "postal address")
		fs.StringVar(&requestID, "request-id", "", "a UUID that makes retrying this create safe")
	case "get", "delete":
		fs.Int64Var(&id, "id", 0, "customer id")
		if cmd == "delete" {
			fs.StringVar(&etag, "etag", "", "delete only if this is the current etag")
		}
	case "update":
		fs.Int64Var(&id, "id", 0, "customer id")
		fs.StringVar(&name, "name", "", "new name")
		fs.StringVar(&email, "email", "", "new email address")
		fs.StringVar(&phone, "phone", "", "new phone number")
		fs.StringVar(&address, "address", "", "new postal address")
		fs.StringVar(&clr, "clear", "", "comma-separated optional fields to clear: phone, address")
		fs.StringVar(&etag, "etag", "", "update only if this is the current etag")
	case "list":
		fs.StringVar(&query, "query", "", "search words")
		fs.StringVar(&orderBy, "order-by", "", `order: id, name, email, create_time, update_time, optionally with " desc"`)
		fs.StringVar(&updatedAfter, "updated-after", "", "only customers updated after this RFC 3339 time")
		fs.IntVar(&pageSize, "page-size", 0, "customers per page (0: the server's default)")
		fs.StringVar(&pageToken, "page-token", "", "continue from this token")
		fs.BoolVar(&all, "all", false, "fetch every page")
	case "watch":
		fs.StringVar(&pageToken, "resume", "", "resume after this event's resume token")
	case "import", "export":
		fs.StringVar(&file, "file", "", "the file (default: stdin for import, stdout for export)")
		fs.StringVar(&format, "format", "", "csv or jsonl (default: from the file name, else jsonl)")
		if cmd == "import" {
			fs.IntVar(&workers, "workers", 64, "concurrent creates")
		}
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.output != "table" && c.output != "json" {
		return fmt.Errorf("-o must be table or json")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	client := c.client()
	if cmd == "import" || cmd == "export" {
		return transfer(ctx, client, cmd, file, format, workers, stdout, stderr)
	}
	if cmd == "watch" {
		return watch(ctx, client, pageToken, c.output, stdout)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var out proto.Message
	var customers []*customerv1.Customer
	var err error
	switch cmd {
	case "create":
		req := &customerv1.CreateCustomerRequest{RequestId: requestID, Customer: &customerv1.Customer{Name: name, Email: email}}
		if set["phone"] {
			req.Customer.Phone = &phone
		}
		if set["address"] {
			req.Customer.Address = &address
		}
		var res *customerv1.CreateCustomerResponse
		if res, err = client.CreateCustomer(ctx, req); err == nil {
			out, customers = res, []*customerv1.Customer{res.Customer}
		}
	case "get":
		var res *customerv1.GetCustomerResponse
		if res, err = client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: id}); err == nil {
			out, customers = res, []*customerv1.Customer{res.Customer}
		}
	case "update":
		req := &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: id, Name: name, Email: email, Etag: etag},
			UpdateMask: &fieldmaskpb.FieldMask{},
		}
		for _, f := range []string{"name", "email", "phone", "address"} {
			if set[f] {
				req.UpdateMask.Paths = append(req.UpdateMask.Paths, f)
			}
		}
		if set["phone"] {
			req.Customer.Phone = &phone
		}
		if set["address"] {
			req.Customer.Address = &address
		}
		for f := range strings.SplitSeq(clr, ",") {
			if f = strings.TrimSpace(f); f != "" {
				req.UpdateMask.Paths = append(req.UpdateMask.Paths, f)
			}
		}
		if len(req.UpdateMask.Paths) == 0 {
			return errors.New("update: nothing to change; set -name, -email, -phone, -address or -clear")
		}
		var res *customerv1.UpdateCustomerResponse
		if res, err = client.UpdateCustomer(ctx, req); err == nil {
			out, customers = res, []*customerv1.Customer{res.Customer}
		}
	case "delete":
		var res *customerv1.DeleteCustomerResponse
		if res, err = client.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: id, Etag: etag}); err == nil {
			out = res
			if c.output == "table" {
				fmt.Fprintf(stdout, "deleted customer %d\n", id)
				return nil
			}
		}
	case "list":
		req := &customerv1.ListCustomersRequest{PageSize: int32(pageSize), PageToken: pageToken, Query: query, OrderBy: orderBy}
		if updatedAfter != "" {
			t, perr := time.Parse(time.RFC3339Nano, updatedAfter)
			if perr != nil {
				return fmt.Errorf("-updated-after: %w", perr)
			}
			req.UpdatedAfter = timestamppb.New(t)
		}
		got := &customerv1.ListCustomersResponse{}
		for {
			var res *customerv1.ListCustomersResponse
			if res, err = client.ListCustomers(ctx, req); err != nil {
				break
			}
			got.Customers = append(got.Customers, res.Customers...)
			got.NextPageToken = res.NextPageToken
			if !all || res.NextPageToken == "" {
				break
			}
			req.PageToken = res.NextPageToken
		}
		out, customers = got, got.Customers
		if err == nil && c.output == "table" && got.NextPageToken != "" {
			defer fmt.Fprintf(stderr, "more: -page-token %s (or -all)\n", got.NextPageToken)
		}
	}
	if err != nil {
		return describe(err)
	}
	if c.output == "json" {
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(out)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	return printTable(stdout, customers)
}

// printTable writes customers as aligned columns.
func printTable(w io.Writer, customers []*customerv1.Customer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tPHONE\tADDRESS\tUPDATED\tETAG")
	for _, c := range customers {
		if c == nil {
			continue // a server that answered without a customer
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.GetId(), c.GetName(), c.GetEmail(), c.GetPhone(),
			strings.ReplaceAll(c.GetAddress(), "\n", ", "), c.GetUpdateTime().AsTime().Format(time.RFC3339), c.GetEtag())
	}
	return tw.Flush()
}

// describe turns a call's error into one for people: the Connect code, the
// message, and each field violation on its own line.
func describe(err error) error {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", cerr.Code(), cerr.Message())
	for _, d := range cerr.Details() {
		if v, derr := d.Value(); derr == nil {
			if br, ok := v.(*errdetails.BadRequest); ok {
				for _, fv := range br.GetFieldViolations() {
					fmt.Fprintf(&b, "\n  %s: %s", fv.GetField(), fv.GetDescription())
				}
			}
		}
	}
	return errors.New(b.String())
}

// transfer runs import or export with files or standard streams, and
// reports the outcome: for an import, every line that failed, and an error
// when any did, so that a partial import never passes unnoticed.
func transfer(ctx context.Context, client customerv1connect.CustomerServiceClient, cmd, file, format string, workers int, stdout, stderr io.Writer) error {
	if format == "" {
		format = "jsonl"
		if strings.HasSuffix(strings.ToLower(file), ".csv") {
			format = "csv"
		}
	}
	if format != "csv" && format != "jsonl" {
		return fmt.Errorf("-format must be csv or jsonl")
	}
	var progress io.Writer
	if isTerminal(os.Stderr) && stderr == io.Writer(os.Stderr) {
		progress = stderr
	}
	if cmd == "export" {
		w := stdout
		if file != "" {
			f, err := os.Create(file)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		n, err := runExport(ctx, client, format, w, progress)
		if err == nil && file != "" {
			fmt.Fprintf(stderr, "exported %d customers to %s\n", n, file)
		}
		return err
	}
	r, size := io.Reader(os.Stdin), int64(0)
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	created, failed, err := runImport(ctx, client, format, r, size, max(workers, 1), progress)
	slices.SortFunc(failed, func(a, b rowError) int { return a.line - b.line })
	for _, f := range failed {
		fmt.Fprintf(stderr, "line %d: %s\n", f.line, f.err)
	}
	fmt.Fprintf(stdout, "imported %d customers, %d lines failed\n", created, len(failed))
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d lines were not imported (listed above); fix them and run the same import again", len(failed))
	}
	return nil
}

// watch prints every change until ctx ends: a line per event, or one JSON
// document per line with -o json.
func watch(ctx context.Context, client customerv1connect.CustomerServiceClient, resume, output string, stdout io.Writer) error {
	stream, err := client.WatchCustomers(ctx, &customerv1.WatchCustomersRequest{ResumeToken: resume})
	if err != nil {
		return describe(err)
	}
	defer stream.Close()
	for stream.Receive() {
		e := stream.Msg()
		if output == "json" {
			b, err := protojson.Marshal(e)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		kind := strings.ToLower(strings.TrimPrefix(e.GetType().String(), "CHANGE_TYPE_"))
		c := e.GetCustomer()
		fmt.Fprintf(stdout, "%s\t%d\t%s\t%s\t%s\tresume=%s\n", kind, c.GetId(), c.GetName(), c.GetEmail(),
			c.GetUpdateTime().AsTime().Format(time.RFC3339Nano), e.GetResumeToken())
	}
	if err := stream.Err(); err != nil && ctx.Err() == nil {
		return describe(err)
	}
	return nil
}
