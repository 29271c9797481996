package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/internal/gen/customer/v1"
	"customerd/internal/gen/customer/v1/customerv1connect"
)

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

var csvHeader = []string{"name", "email", "phone", "address"}

// runExport writes every customer to w, in id order, as CSV or JSON Lines.
func runExport(ctx context.Context, client customerv1connect.CustomerServiceClient, format string, w io.Writer, progress io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(bw)
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
	bar := startProgress(progress, total, &exported, &exported, func() string {
		return fmt.Sprintf("exported %d of %d", exported.Load(), total)
	})
	defer bar.finish()
	for {
		res, err := client.ListCustomers(ctx, req)
		if err != nil {
			return n, describe(err)
		}
		for _, c := range res.Customers {
			if cw != nil {
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
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

// rowError is a line of an import file that was not imported, and why.
type rowError struct {
	line int
	err  string
}

// runImport creates a customer for each record of r, from workers
// concurrent calls (the server commits them in batches). Each create
// carries a request_id derived from the file's content and the line, so
// running the same import again after an interruption creates nothing
// twice. It returns how many were created and the lines that failed.
func runImport(ctx context.Context, client customerv1connect.CustomerServiceClient, format string, r io.Reader, size int64, workers int, progress io.Writer) (int64, []rowError, error) {
	type job struct {
		line int
		rec  record
	}
	jobs := make(chan job)
	var created, done atomic.Int64
	var mu sync.Mutex
	var failed []rowError
	fail := func(line int, err string) {
		mu.Lock()
		failed = append(failed, rowError{line, err})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				req := &customerv1.CreateCustomerRequest{
					RequestId: importRequestID(j.line, j.rec),
					Customer:  &customerv1.Customer{Name: j.rec.Name, Email: j.rec.Email, Phone: j.rec.Phone, Address: j.rec.Address},
				}
				_, err := client.CreateCustomer(ctx, req)
				// An overloaded or restarting server: back off and retry;
				// the request id makes the retry safe.
				for attempt := 0; err != nil && retryable(err) && attempt < 5; attempt++ {
					time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
					_, err = client.CreateCustomer(ctx, req)
				}
				if err != nil {
					fail(j.line, strings.ReplaceAll(describe(err).Error(), "\n", ";"))
				} else {
					created.Add(1)
				}
				done.Add(1)
			}
		})
	}
	var read atomic.Int64
	r = countingReader{r, &read}
	bar := startProgress(progress, size, &read, &created, func() string {
		return fmt.Sprintf("imported %d, failed %d", created.Load(), done.Load()-created.Load())
	})
	readErr := readRecords(format, r, func(line int, rec record, err error) {
		if err != nil {
			fail(line, err.Error())
			return
		}
		jobs <- job{line, rec}
	})
	close(jobs)
	wg.Wait()
	bar.finish()
	return created.Load(), failed, readErr
}

func retryable(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeResourceExhausted, connect.CodeUnavailable:
		return true
	}
	return false
}

// importRequestID derives a UUID-shaped idempotency key from a record's
// line and content.
func importRequestID(line int, rec record) string {
	b, _ := json.Marshal(rec)
	sum := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s", line, b))
	sum[6] = sum[6]&0x0f | 0x50 // version 5-style
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

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
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				each(line, record{}, err)
				continue
			}
			if len(fields) != len(csvHeader) {
				each(line, record{}, fmt.Errorf("%d fields, want %d", len(fields), len(csvHeader)))
				continue
			}
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

// isTerminal reports whether f is a terminal, where a progress line helps.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
