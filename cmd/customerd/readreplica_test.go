package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/consistency"
	"customerd/internal/pgcluster"
)

// metric returns the value of the metric name (without labels) in url's
// /metrics, or -1 when it is missing.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReadFromStandby serves reads from an asynchronous hot standby whose
// replay is paused: a read without a consistency token may be stale (it
// does not find a customer just created), a read that sends back the
// create's token waits briefly and then goes to the primary, and finds
// it; once replay resumes, the token's reads are served by the standby.
// The replay lag is in /metrics.
func TestReadFromStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	c := pgcluster.Start(t, pgcluster.Options{Standbys: 1})
	standby := c.Nodes()[1]
	url, _ := startRun(t, []string{"-addr", "127.0.0.1:0", "-db", c.MultiHostURL()}, map[string]string{"CUSTOMERD_DB_READ": standby.URL()})
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	create := func(name, email string) (*customerv1.Customer, string) {
		cctx, info := connect.NewClientContext(ctx)
		res, err := client.CreateCustomer(cctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: name, Email: email}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Customer, info.ResponseHeader().Get(consistency.Header)
	}
	// The schema reaches the standby; then its replay stops.
	a, firstToken := create("A", "a@example.com")
	first, err := consistency.Parse(firstToken)
	if err != nil {
		t.Fatalf("the create's %s header: %v", consistency.Header, err)
	}
	get := func(id int64, token string) (*customerv1.Customer, error) {
		cctx, info := connect.NewClientContext(ctx)
		if token != "" {
			info.RequestHeader().Set(consistency.Header, token)
		}
		res, err := client.GetCustomer(cctx, &customerv1.GetCustomerRequest{Id: id})
		if err != nil {
			return nil, err
		}
		return res.Customer, nil
	}
	sb, err := pgx.Connect(ctx, standby.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := sb.QueryRow(ctx, "SELECT count(*) FROM customers WHERE id = $1", a.Id).Scan(&n)
		if err == nil && n == 1 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the standby never showed the first customer: %d, %v", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := sb.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}

	b, token := create("B", "b@example.com")
	if lsn, err := consistency.Parse(token); err != nil || lsn <= first {
		t.Fatalf("the second create's token %q (%v) is not past the first's %v", token, err, first)
	}
	id := b.Id

	if _, err := get(id, ""); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("a read without a token on the paused standby: %v, want not_found (stale)", err)
	}
	primaryReads := metric(t, url, "customerd_db_read_primary_total")
	start := time.Now()
	if got, err := get(id, token); err != nil || got.Email != "b@example.com" {
		t.Fatalf("a read with the create's token: %v, %v", got, err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("the read with a token went to the primary after %v, without waiting for the standby", waited)
	}
	if n := metric(t, url, "customerd_db_read_primary_total"); n != primaryReads+1 {
		t.Errorf("customerd_db_read_primary_total went from %v to %v, want one more", primaryReads, n)
	}
	if _, err := get(id, "not a token"); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("a malformed token: %v, want invalid_argument", err)
	}

	// The lag shows while replay is paused and the primary writes on.
	for time.Now().Before(deadline) && metric(t, url, "customerd_db_read_replay_lag_seconds") <= 0 {
		time.Sleep(100 * time.Millisecond)
	}
	if lag := metric(t, url, "customerd_db_read_replay_lag_seconds"); lag <= 0 {
		t.Errorf("customerd_db_read_replay_lag_seconds %v while replay is paused, want > 0", lag)
	}

	if _, err := sb.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	standbyReads := metric(t, url, "customerd_db_read_standby_total")
	if got, err := get(id, token); err != nil || got.Email != "b@example.com" {
		t.Fatalf("a read with the token after replay resumed: %v, %v", got, err)
	}
	if n := metric(t, url, "customerd_db_read_standby_total"); n != standbyReads+1 {
		t.Errorf("customerd_db_read_standby_total went from %v to %v: the read did not go to the caught-up standby", standbyReads, n)
	}
	// REST carries the header both ways too.
	resp, err := http.Post(url+"/v1/customers", "application/json", strings.NewReader(`{"name":"C","email":"c@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	restToken := resp.Header.Get(consistency.Header)
	if resp.StatusCode != http.StatusOK || restToken == "" {
		t.Fatalf("REST create: %d, token %q", resp.StatusCode, restToken)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/customers/3", nil)
	req.Header.Set(consistency.Header, restToken)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("REST get with the token: %v, %v", resp, err)
	}
	resp.Body.Close()
	req.Header.Set(consistency.Header, "0/x")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("REST get with a malformed token: %v, %v", resp, err)
	}
	resp.Body.Close()

	list, err := client.ListCustomers(ctx, &customerv1.ListCustomersRequest{})
	if err != nil || len(list.Customers) != 3 {
		t.Fatalf("list from the standby: %v, %v", list, err)
	}
}
