package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"customerd/gen/customer/v1/customerv1connect"
)

func TestRenderBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		want        string
	}{
		{0, 100, "[------------------------------]   0%"},
		{50, 100, "[###############---------------]  50%"},
		{100, 100, "[##############################] 100%"},
		{150, 100, "[##############################] 100%"},
		{5, 0, ""},
	} {
		if got := renderBar(tc.done, tc.total); got != tc.want {
			t.Errorf("renderBar(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
}

// TestProgressOfImportAndExport runs an import and an export with the
// status line on, as on a terminal, and checks that it ends full.
func TestProgressOfImportAndExport(t *testing.T) {
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, startServer(t))
	var in strings.Builder
	in.WriteString("name,email,phone,address\n")
	for i := range 300 {
		fmt.Fprintf(&in, "Person %d,p%d@example.com,,\n", i, i)
	}
	var status bytes.Buffer
	counts, failed, err := runImport(context.Background(), client, "csv", strings.NewReader(in.String()), int64(in.Len()), 8, false, &status)
	if err != nil || counts.created.Load() != 300 || len(failed) != 0 {
		t.Fatalf("import: %s, %v failed, %v", counts, failed, err)
	}
	last := lastLine(status.String())
	if !strings.HasPrefix(last, "[##############################] 100% 300 created, 0 updated, 0 unchanged, 0 failed") {
		t.Fatalf("last import status %q", last)
	}
	status.Reset()
	var out bytes.Buffer
	if n, err := runExport(context.Background(), client, "jsonl", &out, &status); err != nil || n != 300 {
		t.Fatalf("export: %d, %v", n, err)
	}
	if last := lastLine(status.String()); !strings.HasPrefix(last, "[##############################] 100% exported 300 of 300") {
		t.Fatalf("last export status %q", last)
	}
}

// lastLine returns what a terminal shows last of a status line redrawn
// with carriage returns.
func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	s = s[strings.LastIndex(s, "\r")+1:]
	return strings.TrimSuffix(s, "\x1b[K")
}
