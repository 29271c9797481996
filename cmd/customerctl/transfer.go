package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// cmdExport writes every customer to -file, or to stdout, as CSV or JSON
// Lines.
func cmdExport(ctx context.Context, e env, args []string) error {
	fs, c := e.flags("export")
	file := fs.String("file", "", "the file (default: stdin for import, stdout for export)")
	format := fs.String("format", "", "csv or jsonl (default: from the file name, else jsonl)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := fileFormat(*file, format); err != nil {
		return err
	}
	w := e.stdout
	if *file != "" {
		f, err := os.Create(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	n, err := runExport(ctx, c.client(), *format, w, e.progress)
	if err == nil && *file != "" {
		fmt.Fprintf(e.stderr, "exported %d customers to %s\n", n, *file)
	}
	return err
}

// cmdImport brings the customers of -file (or stdin) into the server: it
// creates a customer for each record whose email no customer has, and
// updates (or, with -existing keep, leaves) the customer that has it. It
// lists each line that failed and then errs, so no partial import passes
// unnoticed.
func cmdImport(ctx context.Context, e env, args []string) error {
	fs, c := e.flags("import")
	file := fs.String("file", "", "the file (default: stdin for import, stdout for export)")
	format := fs.String("format", "", "csv or jsonl (default: from the file name, else jsonl)")
	workers := fs.Int("workers", 64, "concurrent calls")
	existing := fs.String("existing", "update", "a line whose email a customer has: update that customer to the line, or keep it as it is")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := fileFormat(*file, format); err != nil {
		return err
	}
	if *existing != "update" && *existing != "keep" {
		return fmt.Errorf("-existing must be update or keep")
	}
	r, size := io.Reader(os.Stdin), int64(0)
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	counts, failed, err := runImport(ctx, c.client(), *format, r, size, max(*workers, 1), *existing == "keep", e.progress)
	slices.SortFunc(failed, func(a, b rowError) int { return a.line - b.line })
	for _, f := range failed {
		fmt.Fprintf(e.stderr, "line %d: %s\n", f.line, f.err)
	}
	fmt.Fprintf(e.stdout, "%s, %d failed\n", counts, len(failed))
	if err == nil && len(failed) > 0 {
		err = fmt.Errorf("%d lines were not imported (listed above); fix them and run the same import again", len(failed))
	}
	return err
}

// fileFormat checks -format, and when it is empty sets it from the file
// name: csv for a .csv file, else jsonl.
func fileFormat(file string, format *string) error {
	if *format == "" && strings.HasSuffix(strings.ToLower(file), ".csv") {
		*format = "csv"
	}
	if *format = cmp.Or(*format, "jsonl"); *format != "csv" && *format != "jsonl" {
		return fmt.Errorf("-format must be csv or jsonl")
	}
	return nil
}

// record is one customer in an import or export file. In CSV the columns
// are name, email, phone, address (a header line naming them first);
// empty phone or address means none. In JSON Lines each line is an object
// with those keys.
type record struct {
	Name    string  `json:"name"`
	Email   string  `json:"email"`
	Phone   *string `json:"phone,omitempty"`
	Address *string `json:"address,omitempty"`
}

// csvHeader is the first line of a CSV file: the names of its columns.
var csvHeader = []string{"name", "email", "phone", "address"}

// runExport writes every customer to w, in id order, as CSV or JSON Lines.
func runExport(ctx context.Context, client customerv1connect.CustomerServiceClient, format string, w io.Writer, progress io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if format == "csv" {
		cw.Write(csvHeader)
	}
	req := &customerv1.ListCustomersRequest{PageSize: 1000}
	n := 0
	var exported atomic.Int64
	var total int64
	if progress != nil {
		// A count for the bar; customers created during the export may
		// take it past 100%, which the bar shows as full.
		// Only for the bar: without it, the export goes on without a bar.
		if res, err := client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 1, IncludeTotal: true}); err == nil {
			total = int64(res.TotalSize)
		}
	}
	finish := startProgress(progress, total, &exported, &exported, func() string {
		return fmt.Sprintf("exported %d of %d", exported.Load(), total)
	})
	defer finish()
	for {
		res, err := client.ListCustomers(ctx, req)
		if err != nil {
			return n, describe(err)
		}
		for _, c := range res.Customers {
			if format == "csv" {
				cw.Write([]string{c.GetName(), c.GetEmail(), c.GetPhone(), c.GetAddress()})
			} else {
				b, _ := json.Marshal(record{Name: c.GetName(), Email: c.GetEmail(), Phone: c.Phone, Address: c.Address})
				bw.Write(append(b, '\n'))
			}
			n++
		}
		exported.Store(int64(n))
		if req.PageToken = res.NextPageToken; req.PageToken == "" {
			break
		}
	}
	if cw.Flush(); cw.Error() != nil {
		return n, cw.Error()
	}
	return n, bw.Flush()
}

// rowError is a line of an import file that was not imported, and why.
type rowError struct {
	line int
	err  string
}

// outcome is what an import did with one record.
type outcome int

const (
	created   outcome = iota // a new customer
	updated                  // the customer with its email, changed to it
	unchanged                // the customer with its email, equal to it already
	kept                     // the customer with its email, left as it was (-existing keep)
)

// importCounts counts the outcomes of an import.
type importCounts struct {
	created, updated, unchanged, kept atomic.Int64
}

func (c *importCounts) add(o outcome) {
	[]*atomic.Int64{&c.created, &c.updated, &c.unchanged, &c.kept}[o].Add(1)
}

func (c *importCounts) String() string {
	s := fmt.Sprintf("%d created, %d updated, %d unchanged", c.created.Load(), c.updated.Load(), c.unchanged.Load())
	if n := c.kept.Load(); n > 0 {
		s += fmt.Sprintf(", %d kept as they were", n)
	}
	return s
}

// runImport imports each record of r, from workers concurrent calls (the
// server commits them in batches): a record whose email no customer has is
// created; otherwise the customer with that email is updated to the record
// (unless it is equal already, or keep is set). So importing a file again,
// or an export into the server it came from, changes nothing, and an
// interrupted import can be run again. It returns the counts and the lines
// that failed.
func runImport(ctx context.Context, client customerv1connect.CustomerServiceClient, format string, r io.Reader, size int64, workers int, keep bool, progress io.Writer) (*importCounts, []rowError, error) {
	counts := &importCounts{}
	var done, read atomic.Int64
	var mu sync.Mutex
	var failed []rowError
	fail := func(line int, err string) {
		mu.Lock()
		failed = append(failed, rowError{line, err})
		mu.Unlock()
	}
	finish := startProgress(progress, size, &read, &done, func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("%s, %d failed", counts, len(failed))
	})
	var wg sync.WaitGroup
	slots := make(chan struct{}, workers) // one for each record in flight
	readErr := readRecords(format, countingReader{r, &read}, func(line int, rec record, err error) {
		if err != nil {
			fail(line, err.Error())
			return
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			defer done.Add(1)
			o, err := importRecord(ctx, client, rec, keep)
			if err != nil {
				fail(line, strings.ReplaceAll(describe(err).Error(), "\n", ";"))
				return
			}
			counts.add(o)
		})
	})
	wg.Wait()
	finish()
	return counts, failed, readErr
}

// importRecord creates the customer of rec or, when its email is taken,
// brings the customer with that email to rec's values (or keeps it). It
// returns what it did.
func importRecord(ctx context.Context, client customerv1connect.CustomerServiceClient, rec record, keep bool) (outcome, error) {
	want := &customerv1.Customer{Name: rec.Name, Email: rec.Email, Phone: rec.Phone, Address: rec.Address}
	err := retry(ctx, func() error {
		_, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: want})
		return err
	})
	if err == nil {
		return created, nil
	}
	if connect.CodeOf(err) != connect.CodeAlreadyExists {
		return 0, err
	}
	// Someone may change the customer between reading and updating it: the
	// etag makes that an aborted update, and the next round reads it again.
	for round := 0; ; round++ {
		have, ferr := findByEmail(ctx, client, rec.Email)
		if ferr != nil {
			return 0, ferr
		}
		if have == nil {
			return 0, err // the customer with the email was deleted meanwhile
		}
		switch {
		case have.GetName() == rec.Name && have.GetEmail() == rec.Email &&
			have.GetPhone() == want.GetPhone() && have.GetAddress() == want.GetAddress():
			return unchanged, nil
		case keep:
			return kept, nil
		}
		upd := proto.Clone(want).(*customerv1.Customer)
		upd.Id, upd.Etag = have.GetId(), have.GetEtag()
		err = retry(ctx, func() error {
			_, err := client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer:   upd,
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "email", "phone", "address"}},
			})
			return err
		})
		if err == nil {
			return updated, nil
		}
		if connect.CodeOf(err) != connect.CodeAborted || round == 2 {
			return 0, err
		}
	}
}

// findByEmail returns the customer whose email is email (ignoring ASCII
// case, as the server's uniqueness does), or nil if none has it. It
// searches for the email's words, which the customer's email starts, and
// picks the exact match from the results.
func findByEmail(ctx context.Context, client customerv1connect.CustomerServiceClient, email string) (*customerv1.Customer, error) {
	words := strings.FieldsFunc(email, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	words = words[:min(len(words), 8)] // a query has at most 8 words
	query := strings.Join(words, " ")
	for len(query) > 200 { // and at most 200 characters; a shorter prefix still matches
		query = query[:strings.LastIndexByte(query, ' ')]
	}
	req := &customerv1.ListCustomersRequest{Query: query, PageSize: 1000}
	for {
		var res *customerv1.ListCustomersResponse
		err := retry(ctx, func() (err error) {
			res, err = client.ListCustomers(ctx, req)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, c := range res.Customers {
			if strings.EqualFold(c.GetEmail(), email) {
				return c, nil
			}
		}
		if req.PageToken = res.NextPageToken; req.PageToken == "" {
			return nil, nil
		}
	}
}

// retry runs call until it succeeds, fails for a reason other than an
// overloaded or restarting server, or has been retried 5 times with
// backoff. Retrying a create or update whose first try did commit is
// harmless: the create finds its own customer, the update an equal one.
func retry(ctx context.Context, call func() error) error {
	err := call()
	for attempt := 0; err != nil && slices.Contains(retryable, connect.CodeOf(err)) && attempt < 5; attempt++ {
		select {
		case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
		case <-ctx.Done():
			return err
		}
		err = call()
	}
	return err
}

// retryable are the codes of an overloaded or restarting server.
var retryable = []connect.Code{connect.CodeResourceExhausted, connect.CodeUnavailable}

// readRecords calls each for every record of r, with its 1-based line
// number, or with an error for a line that cannot be read as a record.
func readRecords(format string, r io.Reader, each func(line int, rec record, err error)) error {
	if format == "csv" {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil {
			return fmt.Errorf("reading the CSV header: %w", err)
		}
		if strings.Join(header, ",") != strings.Join(csvHeader, ",") {
			return fmt.Errorf("the CSV header must be %q, not %q", strings.Join(csvHeader, ","), strings.Join(header, ","))
		}
		for {
			fields, err := cr.Read()
			line, _ := cr.FieldPos(0)
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case err != nil:
				each(line, record{}, err)
			case len(fields) != len(csvHeader):
				each(line, record{}, fmt.Errorf("%d fields, want %d", len(fields), len(csvHeader)))
			default:
				rec := record{Name: fields[0], Email: fields[1]}
				if fields[2] != "" {
					rec.Phone = &fields[2]
				}
				if fields[3] != "" {
					rec.Address = &fields[3]
				}
				each(line, rec, nil)
			}
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec record
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			each(line, record{}, fmt.Errorf("not a customer: %w", err))
			continue
		}
		each(line, rec, nil)
	}
	return sc.Err()
}

// barWidth is the number of cells of a progress bar.
const barWidth = 30

// renderBar draws done of total as a bar with a percentage, such as
// "[#########---------------------]  30%"; with total unknown (≤ 0) it
// returns "".
func renderBar(done, total int64) string {
	if total <= 0 {
		return ""
	}
	done = min(max(done, 0), total)
	filled := int(done * barWidth / total)
	return fmt.Sprintf("[%s%s] %3d%%", strings.Repeat("#", filled), strings.Repeat("-", barWidth-filled), done*100/total)
}

// startProgress redraws a status line on w every 200 ms until finish, which
// draws it a last time and ends it: a bar of how far at is through an input
// of size total (none when total ≤ 0, unknown), then what status returns
// and the rate of count. With w nil it draws nothing.
func startProgress(w io.Writer, total int64, at, count *atomic.Int64, status func() string) (finish func()) {
	if w == nil {
		return func() {}
	}
	start := time.Now()
	draw := func() {
		line := status()
		if secs := time.Since(start).Seconds(); secs > 0 {
			line += fmt.Sprintf(", %.0f/s", float64(count.Load())/secs)
		}
		if bar := renderBar(at.Load(), total); bar != "" {
			line = bar + " " + line
		}
		fmt.Fprintf(w, "\r%s\x1b[K", line) // \x1b[K clears what a longer line left
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(stop); <-done }
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
