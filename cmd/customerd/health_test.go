package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/pgcluster"
	"customerd/internal/rpc"
)

// TestHealthFollowsPrimary checks that /healthz and the gRPC health check
// say SERVING only while a PostgreSQL primary takes writes: after the
// primary is killed the server reports NOT_SERVING and a degraded,
// reads-only mode (reads go on from the standby of -db-read, writes fail
// with unavailable), and once the standby is promoted it is SERVING again
// by itself.
func TestHealthFollowsPrimary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	c := pgcluster.Start(t, pgcluster.Options{Standbys: 1, Sync: true})
	primary, standby := c.Nodes()[0], c.Nodes()[1]
	url, _, out := launch(t, []string{"-addr", "127.0.0.1:0", "-db", c.MultiHostURL(), "-db-read", standby.URL()}, nil)
	waitHealthy(t, url)
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "A", Email: "a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}

	status := func() (int, float64) {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, metric(t, url, "customerd_db_writable")
	}
	waitStatus := func(code int, writable float64) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got, w := status()
			if got == code && w == writable {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/healthz %d and customerd_db_writable %v after 15s, want %d and %v", got, w, code, writable)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The health service, over the Connect protocol with JSON.
	grpcStatus := func() string {
		resp, err := http.Post(url+"/grpc.health.v1.Health/Check", "application/json", strings.NewReader(`{"service":"`+rpc.ServiceName+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct{ Status string }
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
		return res.Status
	}
	waitStatus(http.StatusOK, 1)

	primary.Kill()
	start := time.Now()
	waitStatus(http.StatusServiceUnavailable, 0)
	t.Logf("not serving %v after the kill", time.Since(start).Round(time.Millisecond))
	if s := grpcStatus(); s != "SERVING_STATUS_NOT_SERVING" {
		t.Errorf("gRPC health without a primary: %v", s)
	}
	if !strings.Contains(out.String(), "degraded, reads only") {
		t.Errorf("the log does not report the reads-only mode:\n%s", out)
	}
	if got, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: created.Customer.Id}); err != nil || got.Customer.Email != "a@example.com" {
		t.Errorf("a read in reads-only mode: %v, %v", got, err)
	}
	if _, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "B", Email: "b@example.com"}}); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("a write in reads-only mode: %v, want unavailable", err)
	}

	c.Promote(standby)
	waitStatus(http.StatusOK, 1)
	if s := grpcStatus(); s != "SERVING_STATUS_SERVING" {
		t.Errorf("gRPC health after the promotion: %v", s)
	}
	if _, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "B", Email: "b@example.com"}}); err != nil {
		t.Errorf("a write after the promotion: %v", err)
	}
}
