package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/grpchealth"

	"customerd/internal/rpc"
	"customerd/internal/sqlite"
)

// startServer runs the real handler and store on 127.0.0.1.
func startServer(t *testing.T) string {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "ctl.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rpc.NewHandler(st, grpchealth.NewStaticChecker(rpc.ServiceName), slog.New(slog.DiscardHandler), rpc.Options{Feed: st, Audit: st, Personal: st}))
	t.Cleanup(func() { srv.Close(); st.Close() })
	return srv.URL
}

// ctl runs customerctl with args against url and returns its output.
func ctl(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr strings.Builder
	env := map[string]string{"CUSTOMERCTL_SERVER": url}
	err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

func TestCommands(t *testing.T) {
	url := startServer(t)
	out, err := ctl(t, url, "create", "-name", "Ada Lovelace", "-email", "ada@example.com", "-phone", "+44 1", "-o", "json")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	var created struct {
		Customer struct{ ID, Name, Phone, Etag string }
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Customer.ID != "1" || created.Customer.Phone != "+44 1" {
		t.Fatalf("create -o json printed %q (%v)", out, err)
	}

	out, err = ctl(t, url, "get", "-id", "1")
	if err != nil || !strings.Contains(out, "Ada Lovelace") || !strings.Contains(out, "ada@example.com") || !strings.HasPrefix(out, "ID") {
		t.Fatalf("get: %v\n%s", err, out)
	}

	out, err = ctl(t, url, "update", "-id", "1", "-name", "Ada King", "-clear", "phone", "-etag", created.Customer.Etag)
	if err != nil || !strings.Contains(out, "Ada King") || strings.Contains(out, "+44 1") {
		t.Fatalf("update: %v\n%s", err, out)
	}
	out, err = ctl(t, url, "update", "-id", "1", "-name", "Stale", "-etag", created.Customer.Etag)
	if err == nil || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("update with a stale etag: %v\n%s", err, out)
	}

	for i := range 5 {
		if out, err := ctl(t, url, "create", "-name", "Grace", "-email", "grace"+string(rune('0'+i))+"@example.com"); err != nil {
			t.Fatalf("create: %v\n%s", err, out)
		}
	}
	out, err = ctl(t, url, "list", "-page-size", "2")
	if err != nil || strings.Count(out, "@example.com") != 2 || !strings.Contains(out, "more: -page-token") {
		t.Fatalf("list one page: %v\n%s", err, out)
	}
	out, err = ctl(t, url, "list", "-page-size", "2", "-all", "-o", "json")
	if err != nil || strings.Count(out, `"email"`) != 6 {
		t.Fatalf("list -all: %v\n%s", err, out)
	}
	out, err = ctl(t, url, "list", "-query", "grace", "-order-by", "email desc")
	if err != nil || strings.Count(out, "grace") != 5 || strings.Index(out, "grace4") > strings.Index(out, "grace0") {
		t.Fatalf("list -query -order-by: %v\n%s", err, out)
	}

	out, err = ctl(t, url, "delete", "-id", "1")
	if err != nil || !strings.Contains(out, "deleted customer 1") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, err := ctl(t, url, "get", "-id", "1"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestErrorsAreReadable(t *testing.T) {
	url := startServer(t)
	_, err := ctl(t, url, "create", "-name", " ", "-email", "nope")
	if err == nil || !strings.Contains(err.Error(), "invalid_argument") || !strings.Contains(err.Error(), "customer.email: must be an email address") {
		t.Fatalf("bad create: %v", err)
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"get", "extra"}, {"list", "-o", "xml"}, {"update", "-id", "1"}} {
		if _, err := ctl(t, url, args...); err == nil {
			t.Errorf("customerctl %q: no error", args)
		}
	}
}

func TestKeyIsSent(t *testing.T) {
	// Unary and streaming calls alike (watch is a server stream).
	for _, args := range [][]string{{"get", "-id", "1"}, {"watch", "-resume", "AQA"}} {
		var got string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Get("Authorization")
			w.Header().Set("Content-Type", "application/proto")
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var out strings.Builder
		env := map[string]string{"CUSTOMERCTL_SERVER": srv.URL, "CUSTOMERCTL_KEY": "cdk_test"}
		run(ctx, args, func(k string) string { return env[k] }, &out, &out)
		cancel()
		srv.Close()
		if got != "Bearer cdk_test" {
			t.Fatalf("%s: Authorization %q, want the key from CUSTOMERCTL_KEY", args[0], got)
		}
	}
}

func TestImportExport(t *testing.T) {
	dir := t.TempDir()
	src, dst := startServer(t), startServer(t)
	var in strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&in, `{"name":"Customer %d","email":"c%d@example.com","phone":"+44 %d","address":"%d Road,\nTown"}`+"\n", i, i, i, i)
	}
	jsonl := filepath.Join(dir, "in.jsonl")
	os.WriteFile(jsonl, []byte(in.String()), 0o600)
	if out, err := ctl(t, src, "import", "-file", jsonl); err != nil || !strings.Contains(out, "1000 created, 0 updated, 0 unchanged, 0 failed") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	csvFile := filepath.Join(dir, "out.csv")
	if out, err := ctl(t, src, "export", "-file", csvFile); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if out, err := ctl(t, dst, "import", "-file", csvFile); err != nil || !strings.Contains(out, "1000 created, 0 updated") {
		t.Fatalf("import of the CSV: %v\n%s", err, out)
	}
	// Concurrent creates give ids in arrival order: compare the sets.
	sorted := func(s string) string {
		lines := strings.Split(s, "\n")
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
	a, _ := ctl(t, src, "export", "-format", "jsonl")
	b, _ := ctl(t, dst, "export", "-format", "jsonl")
	if sorted(a) != sorted(b) || strings.Count(a, "\n") != 1000 {
		t.Fatalf("the copy differs from the original (%d and %d lines)", strings.Count(a, "\n"), strings.Count(b, "\n"))
	}
	// Running the same import again creates nothing twice.
	if out, err := ctl(t, dst, "import", "-file", csvFile); err != nil || !strings.Contains(out, "0 created, 0 updated, 1000 unchanged, 0 failed") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	if c, _ := ctl(t, dst, "export", "-format", "jsonl"); strings.Count(c, "\n") != 1000 {
		t.Fatalf("a repeated import made %d customers, want 1000", strings.Count(c, "\n"))
	}
}

// TestReimportUpdates imports an export back into the server it came from
// after some customers changed there: the file's values come back (or, with
// -existing keep, the changed customers stay), nothing is created twice, and
// customers the file does not hold stay.
func TestReimportUpdates(t *testing.T) {
	url := startServer(t)
	file := filepath.Join(t.TempDir(), "customers.csv")
	for i := range 5 {
		if out, err := ctl(t, url, "create", "-name", fmt.Sprintf("Person %d", i), "-email", fmt.Sprintf("p%d@example.com", i), "-phone", "+1 555"); err != nil {
			t.Fatalf("create: %v\n%s", err, out)
		}
	}
	if out, err := ctl(t, url, "export", "-file", file); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if out, err := ctl(t, url, "import", "-file", file); err != nil || !strings.Contains(out, "0 created, 0 updated, 5 unchanged, 0 failed") {
		t.Fatalf("import of the export into the same server: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"update", "-id", "1", "-name", "Renamed"},
		{"update", "-id", "2", "-clear", "phone"},
		{"update", "-id", "4", "-email", "P3@EXAMPLE.com"}, // the same email in other letters
		{"delete", "-id", "5"},
		{"create", "-name", "Newcomer", "-email", "new@example.com"},
	} {
		if out, err := ctl(t, url, args...); err != nil {
			t.Fatalf("%q: %v\n%s", args, err, out)
		}
	}
	if out, err := ctl(t, url, "import", "-file", file, "-existing", "keep"); err != nil || !strings.Contains(out, "1 created, 0 updated, 1 unchanged, 3 kept as they were, 0 failed") {
		t.Fatalf("import -existing keep: %v\n%s", err, out)
	}
	if out, err := ctl(t, url, "import", "-file", file); err != nil || !strings.Contains(out, "0 created, 3 updated, 2 unchanged, 0 failed") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	got, _ := ctl(t, url, "export", "-format", "csv")
	want := `name,email,phone,address
Person 0,p0@example.com,+1 555,
Person 1,p1@example.com,+1 555,
Person 2,p2@example.com,+1 555,
Person 3,p3@example.com,+1 555,
Newcomer,new@example.com,,
Person 4,p4@example.com,+1 555,
`
	if got != want {
		t.Fatalf("after importing the export again:\n%s\nwant:\n%s", got, want)
	}
	if out, err := ctl(t, url, "import", "-file", file, "-existing", "replace"); err == nil {
		t.Fatalf("-existing replace was accepted:\n%s", out)
	}
}

func TestImportReportsBadLines(t *testing.T) {
	url := startServer(t)
	file := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(file, []byte(`{"name":"Good","email":"good@example.com"}
{"name":"Bad email","email":"nope"}
{"name": oops}
{"name":"Unknown field","email":"u@example.com","age":3}
`), 0o600)
	out, err := ctl(t, url, "import", "-file", file)
	if err == nil {
		t.Fatalf("an import with bad lines succeeded:\n%s", out)
	}
	for _, want := range []string{"1 created, 0 updated, 0 unchanged, 3 failed", "line 2: invalid_argument", "customer.email", "line 3: not a customer", "line 4: not a customer"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestWatch(t *testing.T) {
	url := startServer(t)
	if _, err := ctl(t, url, "create", "-name", "Ada", "-email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out strings.Builder
	env := map[string]string{"CUSTOMERCTL_SERVER": url}
	// AQA resumes from before the first change (the server's token format).
	if err := run(ctx, []string{"watch", "-resume", "AQA"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("watch: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(out.String(), "created\t1\tAda\tada@example.com") || !strings.Contains(out.String(), "resume=") {
		t.Fatalf("watch printed %q", out.String())
	}
}

// TestListAllFalseGetsOnePage lists more customers than one page with
// -all=false, which gets one page and the hint to the next, and with -all,
// which gets every customer.
func TestListAllFalseGetsOnePage(t *testing.T) {
	url := startServer(t)
	for i := range 5 {
		if out, err := ctl(t, url, "create", "-name", "Grace", "-email", fmt.Sprintf("grace%d@example.com", i)); err != nil {
			t.Fatalf("create: %v\n%s", err, out)
		}
	}
	out, err := ctl(t, url, "list", "-page-size", "2", "-all=false")
	if err != nil || strings.Count(out, "@example.com") != 2 || !strings.Contains(out, "more: -page-token") {
		t.Fatalf("list -all=false: %v\n%s", err, out)
	}
	out, err = ctl(t, url, "list", "-page-size", "2", "-all=false", "-o", "json")
	if err != nil || strings.Count(out, `"email"`) != 2 || !strings.Contains(out, `"nextPageToken"`) {
		t.Fatalf("list -all=false -o json: %v\n%s", err, out)
	}
	out, err = ctl(t, url, "list", "-page-size", "2", "-all")
	if err != nil || strings.Count(out, "@example.com") != 5 || strings.Contains(out, "more:") {
		t.Fatalf("list -all: %v\n%s", err, out)
	}
}

func TestAuditCommand(t *testing.T) {
	url := startServer(t)
	if out, err := ctl(t, url, "create", "-name", "Ada Lovelace", "-email", "ada@example.com"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	out, err := ctl(t, url, "audit", "-id", "1", "-procedure", "CreateCustomer")
	if err != nil || !strings.Contains(out, "local") || !strings.Contains(out, "CreateCustomer") || strings.Contains(out, "Ada") {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	out, err = ctl(t, url, "audit", "-o", "json", "-oldest-first", "-all")
	if err != nil || !strings.Contains(out, `"customerIds"`) {
		t.Fatalf("audit -o json: %v\n%s", err, out)
	}
	if _, err := ctl(t, url, "audit", "-since", "yesterday"); err == nil {
		t.Fatal("audit -since yesterday was accepted")
	}

	out, err = ctl(t, url, "export-person", "-id", "1")
	var exp struct {
		Customer    struct{ Name string }
		Changes     []struct{ Type string }
		AuditEvents []struct{ Procedure string }
	}
	if err != nil || json.Unmarshal([]byte(out), &exp) != nil || exp.Customer.Name != "Ada Lovelace" || len(exp.Changes) != 1 || len(exp.AuditEvents) == 0 {
		t.Fatalf("export-person: %v\n%s", err, out)
	}
	if out, err := ctl(t, url, "erase", "-id", "1"); err != nil || !strings.Contains(out, "erased customer 1") {
		t.Fatalf("erase: %v\n%s", err, out)
	}
	if out, err := ctl(t, url, "erase", "-id", "1"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("erase again: %v\n%s", err, out)
	}
	out, err = ctl(t, url, "export-person", "-id", "1")
	if err != nil || strings.Contains(out, "Ada") || !strings.Contains(out, "CHANGE_TYPE_ERASED") {
		t.Fatalf("export-person after erase: %v\n%s", err, out)
	}
}
