// Command customerctl calls the customer API from a terminal or a script.
//
// Run customerctl help for its commands and flags. With -o json the output
// is one JSON document with protojson field names.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "customerctl:", err)
		os.Exit(1)
	}
}

// command is a subcommand: its line of the usage text (name, flags,
// summary), and run, which parses its arguments and does its work.
type command struct {
	name, flags, summary string
	run                  func(ctx context.Context, e env, args []string) error
}

// commands is every subcommand, in the order the usage text lists them.
var commands = []command{
	{"create", "-name NAME -email EMAIL [-phone P] [-address A] [-request-id UUID]", "", cmdCreate},
	{"get", "-id ID", "", cmdGet},
	{"update", "-id ID [-name N] [-email E] [-phone P] [-address A] [-clear phone,address] [-etag ETAG]", "", cmdUpdate},
	{"delete", "-id ID [-etag ETAG]", "", cmdDelete},
	{"list", "[-query Q] [-order-by ORDER] [-updated-after RFC3339] [-page-size N] [-page-token T] [-all]", "", cmdList},
	{"watch", "[-resume TOKEN]", "every change from now (or after TOKEN), until interrupted", cmdWatch},
	{"export", "[-file F] [-format csv|jsonl]", "every customer, to F or stdout", cmdExport},
	{"import", "[-file F] [-format csv|jsonl] [-existing update|keep] [-workers N]", "from F or stdin, matched by email; safe to run again", cmdImport},
	{"audit", "[-id ID] [-principal P] [-procedure RPC] [-since T] [-until T] [-oldest-first] [-all]", "who read or changed customers (admin key)", cmdAudit},
	{"export-person", "-id ID", "everything held about one customer, as JSON (admin key)", cmdExportPerson},
	{"erase", "-id ID [-etag ETAG]", "delete a customer and its values everywhere (admin key)", cmdErase},
}

// printUsage writes the help text to w, a line for each of commands.
func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: customerctl COMMAND [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("  %-8s %-34s   %s", c.name, c.flags, c.summary), " "))
	}
	fmt.Fprint(w, "\ncommon flags: -server URL ($CUSTOMERCTL_SERVER, http://127.0.0.1:8080), -key KEY ($CUSTOMERCTL_KEY),\n"+
		"              -ca FILE ($CUSTOMERCTL_CA), -o table|json, -timeout DURATION\n")
}

// env is what a subcommand runs with: the environment it reads its
// defaults from and the streams it writes to.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	progress       io.Writer // stderr if a terminal, for a status line; else nil
}

// run runs the subcommand named by args[0] with the rest of args. It
// returns an error for bad usage or a failed call, described for people
// (with the Connect code and each field violation).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		printUsage(stderr)
		if len(args) == 0 {
			return errors.New("no command")
		}
		return nil
	}
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && stderr == io.Writer(os.Stderr) {
		e.progress = stderr
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	printUsage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

// common is the flags every subcommand takes, and which flags were given.
type common struct {
	server, key, output, ca string
	timeout                 time.Duration
	set                     map[string]bool // the flags on the command line
	roots                   *x509.CertPool  // from -ca; nil: the system's
}

// flags returns the flag set of subcommand name, with the common flags
// registered, and the common flags.
func (e env) flags(name string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet("customerctl "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	c := &common{set: map[string]bool{}}
	fs.StringVar(&c.server, "server", cmp.Or(e.getenv("CUSTOMERCTL_SERVER"), "http://127.0.0.1:8080"), "server `URL`")
	fs.StringVar(&c.key, "key", e.getenv("CUSTOMERCTL_KEY"), "API `key` (sent as a bearer token)")
	fs.StringVar(&c.ca, "ca", e.getenv("CUSTOMERCTL_CA"), "trust the certificates in this PEM `file` for an https -server (instead of the system's)")
	fs.StringVar(&c.output, "o", "table", "output: table or json")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "deadline of the call")
	return fs, c
}

// parse parses args with fs, and notes which flags were given. It rejects
// arguments that are not flags and an -o other than table or json.
func (c *common) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.output != "table" && c.output != "json" {
		return fmt.Errorf("-o must be table or json")
	}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if c.ca != "" {
		pem, err := os.ReadFile(c.ca)
		if err != nil {
			return fmt.Errorf("-ca: %w", err)
		}
		c.roots = x509.NewCertPool()
		if !c.roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-ca %s: no PEM certificate in it", c.ca)
		}
	}
	return nil
}

// optional returns &v when flag name was given, else nil (a field unset).
func (c *common) optional(name, v string) *string {
	if c.set[name] {
		return &v
	}
	return nil
}

// client returns a client of -server that sends -key with every call,
// unary and streaming, and trusts the certificates of -ca when it is set.
func (c *common) client() customerv1connect.CustomerServiceClient {
	var transport http.RoundTripper = http.DefaultTransport
	if c.roots != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: c.roots}
		transport = t
	}
	if c.key != "" {
		transport = bearer{key: c.key, next: transport}
	}
	return customerv1connect.NewCustomerServiceClient(&http.Client{Transport: transport}, strings.TrimSuffix(c.server, "/"))
}

// bearer sends an API key as the bearer token of every request.
type bearer struct {
	key  string
	next http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.next.RoundTrip(r)
}

// stableJSON returns msg in protojson, which varies its whitespace on
// purpose from build to build, with the whitespace made stable: none, or
// each field on a line of its own indented by indent.
func stableJSON(msg proto.Message, indent string) ([]byte, error) {
	b, err := protojson.Marshal(msg)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil || indent == "" {
		return out.Bytes(), err
	}
	b = bytes.Clone(out.Bytes())
	out.Reset()
	err = json.Indent(&out, b, "", indent)
	return out.Bytes(), err
}

// print writes msg as indented JSON with -o json, else customers as
// aligned columns.
func (c *common) print(w io.Writer, msg proto.Message, customers ...*customerv1.Customer) error {
	if c.output == "json" {
		b, err := stableJSON(msg, "  ")
		if err == nil {
			_, err = fmt.Fprintln(w, string(b))
		}
		return err
	}
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

// call makes a unary call within -timeout and prints the response (in a
// table, the customer in it).
func call[Req any, Res interface {
	proto.Message
	GetCustomer() *customerv1.Customer
}](ctx context.Context, e env, c *common, method func(context.Context, *Req) (Res, error), req *Req) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := method(ctx, req)
	if err != nil {
		return describe(err)
	}
	return c.print(e.stdout, res, res.GetCustomer())
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
		v, _ := d.Value()
		br, _ := v.(*errdetails.BadRequest)
		for _, fv := range br.GetFieldViolations() {
			fmt.Fprintf(&b, "\n  %s: %s", fv.GetField(), fv.GetDescription())
		}
	}
	return errors.New(b.String())
}
