package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// TestErasureSurvivesRestore erases a customer after a backup was taken,
// restores the backup over the database and starts the server again: the
// erasure log next to the database makes the server erase it again.
func TestErasureSurvivesRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "customers.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath}
	url, stop := startRun(t, args, nil)
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	var ids []int64
	for _, email := range []string{"ada@example.com", "grace@example.com"} {
		res, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "Someone", Email: email}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Customer.Id)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := run(ctx, []string{"backup", "-db", dbPath, "-out", backup}, func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	if _, err := client.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{Id: ids[0]}); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	logged, err := os.ReadFile(dbPath + ".erasures")
	if err != nil || !strings.HasPrefix(string(logged), "1 ") || strings.Contains(string(logged), "ada") {
		t.Fatalf("erasure log: %q, %v", logged, err)
	}

	// The restore: the backup replaces the database.
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(dbPath + suffix)
	}
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dbPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	url, _ = startRun(t, args, nil)
	client = customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	_, err = client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: ids[0]})
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("the erased customer after the restore: %v", err)
	}
	if _, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: ids[1]}); err != nil {
		t.Fatalf("the other customer after the restore: %v", err)
	}
	exp, err := client.ExportCustomerData(ctx, &customerv1.ExportCustomerDataRequest{Id: ids[0]})
	if err != nil || len(exp.Changes) == 0 || exp.Changes[len(exp.Changes)-1].Type != customerv1.ChangeType_CHANGE_TYPE_ERASED {
		t.Fatalf("export after the restore: %v, %v", exp, err)
	}
}
