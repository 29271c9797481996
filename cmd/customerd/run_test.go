package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/waitfor"
)

var listeningRE = regexp.MustCompile(`listening on (https?://[0-9.:]+)`)

// lineWriter is an io.Writer that hands the first server address it sees to
// a channel and keeps all output for failure messages.
type lineWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	addr chan string
	sent bool
}

func newLineWriter() *lineWriter { return &lineWriter{addr: make(chan string, 1)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := listeningRE.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.addr <- m[1]
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startRun runs the server in-process on a free port, waits until
// /healthz answers, and returns its URL and a stop function that cancels it
// and returns run's error.
func startRun(t *testing.T, args []string, env map[string]string) (string, func() error) {
	t.Helper()
	url, stop, _ := launch(t, args, env)
	waitHealthy(t, url)
	return url, stop
}

// launch runs the server in-process and returns, once it listens, its URL
// (http or https), a stop function that cancels it and returns run's error,
// and its log.
func launch(t *testing.T, args []string, env map[string]string) (string, func() error, *lineWriter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newLineWriter()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, func(k string) string { return env[k] }, io.Discard, out)
	}()
	select {
	case url := <-out.addr:
		var once sync.Once
		var err error
		stop := func() error {
			once.Do(func() { cancel(); err = waitfor.Recv(t, done, "run to return after its context ended") })
			return err
		}
		t.Cleanup(func() { stop() })
		return url, stop, out
	case err := <-done:
		cancel()
		t.Fatalf("run returned early: %v\n%s", err, out)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("server did not start:\n%s", out)
	}
	return "", nil, nil
}

// waitHealthy waits until url's /healthz answers 200, failing the test
// after waitfor.Timeout.
func waitHealthy(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	waitfor.Cond(t, url+"/healthz to answer 200", func() bool {
		resp, err := client.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitExit waits for cmd to exit and returns Wait's error. After
// waitfor.Timeout it sends SIGQUIT, which makes a Go program print its
// goroutines and exit, and fails the test with what it printed to out (nil
// when not kept).
func waitExit(t *testing.T, cmd *exec.Cmd, out *lineWriter) error {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(waitfor.Timeout):
	}
	cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	log := "(not kept)"
	if out != nil {
		log = out.String()
	}
	t.Fatalf("%s did not exit within %v; its goroutines:\n%s", cmd.Path, waitfor.Timeout, log)
	return nil
}

func TestDataSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "customers.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath}

	url, stop := startRun(t, args, nil)
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	var created []*customerv1.Customer
	for _, email := range []string{"ada@example.com", "grace@example.com", "alan@example.com"} {
		res, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{Name: strings.Split(email, "@")[0], Email: email},
		})
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, res.Customer)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	url, _ = startRun(t, args, nil)
	client = customerv1connect.NewCustomerServiceClient(http.DefaultClient, url, connect.WithGRPCWeb())
	res, err := client.ListCustomers(ctx, &customerv1.ListCustomersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Customers) != len(created) {
		t.Fatalf("after restart: %d customers, want %d", len(res.Customers), len(created))
	}
	for i, c := range res.Customers {
		if c.Id != created[i].Id || c.Email != created[i].Email || c.Etag != created[i].Etag {
			t.Errorf("customer %d after restart: %v, want %v", i, c, created[i])
		}
	}
}

// TestShutdownUnderLoad stops the server while creates are in flight: every
// create that was acknowledged must be in the database after a restart, and
// every one that failed must have failed with a clean code.
func TestShutdownUnderLoad(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "customers.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath}
	url, stop := startRun(t, args, nil)
	client := customerv1connect.NewCustomerServiceClient(&http.Client{Timeout: 10 * time.Second}, url)

	var mu sync.Mutex
	acked := map[int64]string{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				email := fmt.Sprintf("w%d-%d@example.com", w, i)
				res, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
					Customer: &customerv1.Customer{Name: "Load", Email: email},
				})
				if err != nil {
					return // the server is going away
				}
				mu.Lock()
				acked[res.Customer.Id] = email
				mu.Unlock()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("graceful stop under load: %v", err)
	}
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no create was acknowledged before the stop")
	}

	url, _ = startRun(t, args, nil)
	client = customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	for id, email := range acked {
		res, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: id})
		if err != nil {
			t.Fatalf("acknowledged customer %d lost: %v", id, err)
		}
		if res.Customer.Email != email {
			t.Fatalf("customer %d: email %q, want %q", id, res.Customer.Email, email)
		}
	}
	t.Logf("%d acknowledged creates, all present after restart", len(acked))
}

// TestRequestIDSurvivesRestart retries a create with the same request_id
// after a restart: it must return the customer created before it.
func TestRequestIDSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	args := []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "customers.db")}
	req := &customerv1.CreateCustomerRequest{
		RequestId: "0b5e6f3c-9d2a-4e7b-8c1f-2a3b4c5d6e7f",
		Customer:  &customerv1.Customer{Name: "Ada", Email: "ada@example.com"},
	}
	url, stop := startRun(t, args, nil)
	first, err := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url).CreateCustomer(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	url, _ = startRun(t, args, nil)
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	again, err := client.CreateCustomer(ctx, req)
	if err != nil {
		t.Fatalf("retry after restart: %v", err)
	}
	if again.Customer.Id != first.Customer.Id {
		t.Fatalf("retry after restart created customer %d, want %d", again.Customer.Id, first.Customer.Id)
	}
	req.Customer.Name = "Someone else"
	if _, err := client.CreateCustomer(ctx, req); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("same request_id, other customer: %v, want already_exists", err)
	}
}

func TestEnvironment(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "env.db")
	url, stop := startRun(t, nil, map[string]string{
		"CUSTOMERD_ADDR": "127.0.0.1:0", "CUSTOMERD_DB": dbPath, "CUSTOMERD_CORS_ORIGINS": "https://a.example, https://b.example",
	})
	for origin, want := range map[string]string{"https://b.example": "https://b.example", "https://c.example": ""} {
		req, _ := http.NewRequest(http.MethodOptions, url+"/customer.v1.CustomerService/GetCustomer", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("CUSTOMERD_CORS_ORIGINS: preflight from %s got allow-origin %q, want %q", origin, got, want)
		}
	}
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	if _, err := client.CreateCustomer(context.Background(), &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{Name: "Ada", Email: "ada@example.com"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Fatalf("CUSTOMERD_DB was not used: %v", err)
	}
}

func TestMemoryDatabase(t *testing.T) {
	url, _ := startRun(t, []string{"-addr", "127.0.0.1:0", "-db", ":memory:"}, nil)
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	ctx := context.Background()
	res, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{Name: "Ada", Email: "ada@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: res.Customer.Id}); err != nil {
		t.Fatalf("get on :memory:: %v", err)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-addr", "not-an-address", "-db", ":memory:"}, {"-request-id-ttl", "0s"}, {"-durability", "fast"}, {"-max-batch", "0"}, {"-log-level", "loud"}, {"-queue", "0"}, {"-request-timeout", "-1s"}, {"-addr", "127.0.0.1:0", "-db", ":memory:", "-db-read", "postgres://127.0.0.1:1/x"}} {
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

// TestBinarySIGTERM builds the real binary without cgo, runs it, and stops it
// with SIGTERM: it must exit 0 after finishing, and the data must be there.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	dbPath := filepath.Join(dir, "customers.db")
	start := func() (*exec.Cmd, string, *lineWriter) { return startBinary(t, bin, dbPath) }
	cmd, url, out := start()
	waitHealthy(t, url)
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	res, err := client.CreateCustomer(context.Background(), &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{Name: "Ada", Email: "ada@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd, out); err != nil {
		t.Fatalf("exit after SIGTERM: %v (want exit code 0)\n%s", err, out)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", out)
	}

	cmd, url, out = start()
	defer func() { cmd.Process.Signal(syscall.SIGTERM); waitExit(t, cmd, out) }()
	waitHealthy(t, url)
	client = customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	if _, err := client.GetCustomer(context.Background(), &customerv1.GetCustomerRequest{Id: res.Customer.Id}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// TestBackupCommand backs up the database of a running server with the
// backup subcommand and serves the copy with a second server.
func TestBackupCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "customers.db")
	url, _ := startRun(t, []string{"-addr", "127.0.0.1:0", "-db", dbPath}, nil)
	client := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	res, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "Ada", Email: "ada@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "backup.db")
	var stdout strings.Builder
	if err := run(ctx, []string{"backup", "-db", dbPath, "-out", out}, func(string) string { return "" }, &stdout, io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	if !strings.Contains(stdout.String(), out) {
		t.Errorf("backup printed %q", stdout.String())
	}
	if err := run(ctx, []string{"backup", "-db", dbPath, "-out", out}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("a second backup over the same file succeeded")
	}
	url2, _ := startRun(t, []string{"-addr", "127.0.0.1:0", "-db", out}, nil)
	got, err := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url2).GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: res.Customer.Id})
	if err != nil || got.Customer.Etag != res.Customer.Etag {
		t.Fatalf("customer in the restored copy: %v, %v", got, err)
	}
}

// built is the customerd binary the tests of this process share.
var built struct {
	once sync.Once
	dir  string // removed by TestMain
	bin  string
	err  error
}

// TestMain removes the binary the tests built, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBinary builds customerd without cgo, once per test process, into a
// directory every user may read (a test runs it as another user).
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "customerd-test-bin-"); built.err != nil {
			return
		}
		if built.err = os.Chmod(built.dir, 0o755); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "customerd")
		build := exec.Command("go", "build", "-o", built.bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("CGO_ENABLED=0 go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// startBinary runs bin on dbPath and a free loopback port and waits until it
// listens.
func startBinary(t *testing.T, bin, dbPath string, args ...string) (*exec.Cmd, string, *lineWriter) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-db", dbPath}, args...)...)
	// exec copies all of stderr into out before Wait returns.
	out := newLineWriter()
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case url := <-out.addr:
		return cmd, url, out
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("binary did not start:\n%s", out)
	}
	return nil, "", nil
}
