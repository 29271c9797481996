package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// TestMetricsAndRequestLog makes a few calls, then reads /metrics and the
// JSON log: every call is counted by procedure and code and logged on one
// line, and no customer data appears in the log.
func TestMetricsAndRequestLog(t *testing.T) {
	ctx := context.Background()
	url, stop, out := launch(t, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "m.db"), "-log-format", "json"}, nil)

	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	created, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
		Name: "Ada Secret", Email: "ada.secret@example.com", Phone: ptrString("+44 20 7946 0001"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: 999})
	for range 2 { // a miss that fills the cache, then a hit
		if _, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: created.Customer.Id}); err != nil {
			t.Fatal(err)
		}
	}

	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`customerd_rpc_calls_total{code="ok",procedure="/customer.v1.CustomerService/CreateCustomer"} 1`,
		`customerd_rpc_calls_total{code="not_found",procedure="/customer.v1.CustomerService/GetCustomer"} 1`,
		`customerd_rpc_duration_seconds_count{procedure="/customer.v1.CustomerService/CreateCustomer"} 1`,
		"customerd_writer_writes_total 1", "customerd_writer_commits_total 1", "customerd_writer_queue_depth 0",
		"customerd_database_size_bytes ",
		"customerd_cache_customers 1", "customerd_cache_hits_total 1", "customerd_cache_misses_total 2",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	promtoolCheck(t, body)

	// Info lines are written out in batches (package logbuf): all of them
	// are out once the server has stopped.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var rpcLines int
	for line := range strings.SplitSeq(out.String(), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "rpc" {
			rpcLines++
			if rec["procedure"] == nil || rec["code"] == nil || rec["duration"] == nil {
				t.Errorf("request log line lacks procedure, code or duration: %q", line)
			}
		}
	}
	if rpcLines != 4 {
		t.Errorf("%d request log lines for 4 calls", rpcLines)
	}
	for _, secret := range []string{"ada.secret", "Secret", "7946 0001"} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("the log holds customer data (%q)", secret)
		}
	}
}

func ptrString(s string) *string { return &s }

// promtoolCheck runs "promtool check metrics" on an exposition: the
// promtool that CUSTOMERD_TEST_PROMTOOL names (CI sets it, from
// .ci/promtool), else one on PATH; without either it only says so.
func promtoolCheck(t *testing.T, exposition []byte) {
	t.Helper()
	promtool := os.Getenv("CUSTOMERD_TEST_PROMTOOL")
	if promtool == "" {
		var err error
		if promtool, err = exec.LookPath("promtool"); err != nil {
			t.Log("no promtool on PATH and CUSTOMERD_TEST_PROMTOOL unset: /metrics not linted (.ci/run does it)")
			return
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
