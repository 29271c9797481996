package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/rpc"
)

// soundDatabase makes a database of 300 customers with a server, stopped,
// and returns its path.
func soundDatabase(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "customers.db")
	url, stop := startRun(t, []string{"-addr", "127.0.0.1:0", "-db", path}, nil)
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 300 {
		if _, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
			Name: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("c%d@example.com", i),
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return path
}

// damagedCopy copies the database at src to dst and overwrites its page n
// (from 1) with junk, the page size read from the file's header.
func damagedCopy(t *testing.T, src, dst string, n int) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.BigEndian.Uint16(b[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	copy(b[(n-1)*pageSize:n*pageSize], strings.Repeat("junk!", pageSize/5+1))
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func runCommand(args ...string) (stdout string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out strings.Builder
	err = run(ctx, args, func(string) string { return "" }, &out, io.Discard)
	return out.String(), err
}

// TestCheckCommand runs "customerd check" on a sound database, on copies
// with page 2 or page 5 overwritten, and on a PostgreSQL URL.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	sound := soundDatabase(t, dir)
	out, err := runCommand("check", "-db", sound)
	if err != nil || out != "ok\n" {
		t.Fatalf("check of a sound database: %q, %v; want ok", out, err)
	}
	for _, page := range []int{2, 5} {
		damaged := filepath.Join(dir, fmt.Sprintf("page%d.db", page))
		damagedCopy(t, sound, damaged, page)
		out, err := runCommand("check", "-db", damaged)
		want := fmt.Sprintf("Tree %d page %d: btreeInitPage() returns error code 11", page, page)
		if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(out, want) {
			t.Fatalf("check of page %d overwritten: %q, %v; want an error and %q", page, out, err, want)
		}
		t.Logf("page %d: error %v; output:\n%s", page, err, out)
	}
	if _, err := runCommand("check", "-db", "postgres://postgres@127.0.0.1:5432/postgres"); err == nil || !strings.Contains(err.Error(), "pg_amcheck") {
		t.Fatalf("check of a PostgreSQL URL: %v, want the advice to use pg_amcheck", err)
	}
}

// TestDamagedDatabase serves a copy of a database with page 5
// (sqlite_sequence, which every create updates) overwritten: the server
// starts, a create is answered unavailable with a clear message and no
// SQLite text, health turns NOT_SERVING (gRPC and /healthz), and the log
// says once, at error level, what to run.
func TestDamagedDatabase(t *testing.T) {
	dir := t.TempDir()
	sound := soundDatabase(t, dir)

	damaged := filepath.Join(dir, "page5.db")
	damagedCopy(t, sound, damaged, 5)
	url, _, log := launch(t, []string{"-addr", "127.0.0.1:0", "-db", damaged}, nil)
	waitHealthy(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, opts := range [][]connect.ClientOption{nil, {connect.WithGRPCWeb()}} {
		client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url, opts...)
		_, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "Ada", Email: "ada@example.com"}})
		if connect.CodeOf(err) != connect.CodeUnavailable || strings.Contains(err.Error(), "malformed") {
			t.Fatalf("create on a damaged database: %v, want unavailable without SQLite's text", err)
		}
		t.Logf("create: %v", err)
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz: %d, want 503", resp.StatusCode)
	}
	health := grpchealth.NewClient(http.DefaultClient, url)
	for _, service := range []string{"", rpc.ServiceName} {
		res, err := health.Check(ctx, &grpchealth.CheckRequest{Service: service})
		if err != nil || res.Status != grpchealth.StatusNotServing {
			t.Errorf("health of %q: %v, %v; want NOT_SERVING", service, res, err)
		}
	}
	check := fmt.Sprintf("customerd check -db %s", damaged)
	var lines []string
	for line := range strings.Lines(log.String()) {
		if strings.Contains(line, check) {
			lines = append(lines, line)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "level=ERROR") || !strings.Contains(lines[0], "restore a good backup") {
		t.Errorf("the log lines naming %q: %q, want one at error level that says to restore a backup\n%s", check, lines, log)
	} else {
		t.Logf("log: %s", lines[0])
	}
}
