package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
)

// The crash test: go test ./cmd/customerd -run Crash -v -crash.rounds 20
var crashRounds = flag.Int("crash.rounds", 3, "rounds of the crash test (kill -9 under load, restart, check)")

// tracked is what the clients know of one customer: its last acknowledged
// state, and the write in flight when the server died, if any.
type tracked struct {
	email   string
	name    string // last acknowledged name
	etag    string
	deleted bool   // an acknowledged delete
	pending string // "", "create", "update:NAME" or "delete": unanswered at the kill
}

// ledger is what the clients of a crash test know: every customer they
// wrote, by email.
type ledger struct {
	mu  sync.Mutex
	all map[string]*tracked
}

// set changes c under the ledger's lock.
func (l *ledger) set(c *tracked, change func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	change()
}

// write creates customers with emails prefix-N@example.com through client,
// renames each updates times and deletes every other one, until stop is
// closed or a call fails (its server died: that write stays pending). It
// calls acked after each acknowledged write.
func (l *ledger) write(client customerv1connect.CustomerServiceClient, prefix string, updates int, stop <-chan struct{}, acked func()) {
	ctx := context.Background()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		email := fmt.Sprintf("%s-%d@example.com", prefix, i)
		c := &tracked{email: email, name: "created", pending: "create"}
		l.set(c, func() { l.all[email] = c })
		res, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{
			Customer: &customerv1.Customer{Name: "created", Email: email},
		})
		if err != nil {
			return
		}
		l.set(c, func() { c.pending, c.etag = "", res.Customer.Etag })
		acked()
		id := res.Customer.Id
		for u := range updates {
			name := fmt.Sprint("v", u)
			l.set(c, func() { c.pending = "update:" + name })
			up, err := client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer:   &customerv1.Customer{Id: id, Name: name},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
			})
			if err != nil {
				return
			}
			l.set(c, func() { c.pending, c.name, c.etag = "", name, up.Customer.Etag })
			acked()
		}
		if i%2 == 0 {
			l.set(c, func() { c.pending = "delete" })
			if _, err := client.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: id}); err != nil {
				return
			}
			l.set(c, func() { c.pending, c.deleted = "", true })
			acked()
		}
	}
}

// TestCrashRecovery starts the real binary, drives concurrent creates,
// updates and deletes, kills it with SIGKILL at a random moment, restarts
// it on the same database and checks that every acknowledged write is
// there with its acknowledged values, that no write in flight is
// half-applied, and, on SQLite, that integrity_check says ok; for
// -crash.rounds rounds, on each engine. At the end, creates and deletes
// must match their audit events (see checkWriteAudit).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := buildBinary(t)
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) { testCrashRecovery(t, bin, e.DSN(t)) })
}

func testCrashRecovery(t *testing.T, bin, dbPath string) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	l := &ledger{all: map[string]*tracked{}}
	var acked atomic.Int64
	var lost int
	for round := range *crashRounds {
		cmd, url, out := startBinary(t, bin, dbPath)
		client := customerv1connect.NewCustomerServiceClient(&http.Client{Timeout: 5 * time.Second}, url)
		verify(t, client, l.all, round)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() { l.write(client, fmt.Sprintf("r%d-w%d", round, w), 3, stop, func() { acked.Add(1) }) })
		}
		time.Sleep(time.Duration(150+rng.IntN(600)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown at all
			t.Fatal(err)
		}
		cmd.Wait()
		close(stop)
		wg.Wait()
		_ = out

		// SQLite recovers the WAL on first open; the file must be intact.
		if engine.IsPostgres(dbPath) {
			continue
		}
		db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		var check string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check %q, %v", round, check, err)
		}
		db.Close()
	}
	// A last start checks the last round.
	cmd, url, _ := startBinary(t, bin, dbPath)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	final := customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	lost = verify(t, final, l.all, *crashRounds)
	t.Logf("%d rounds, %d writes acknowledged, %d lost", *crashRounds, acked.Load(), lost)
	checkWriteAudit(t, final)
}

// checkWriteAudit checks that, after the kills, writes and their audit
// events went together: every customer has the event of its create, and
// every create's event has its customer, or the event of its delete.
func checkWriteAudit(t *testing.T, client customerv1connect.CustomerServiceClient) {
	t.Helper()
	events := func(procedure string) map[int64]int {
		out := map[int64]int{}
		req := &customerv1.ListAuditEventsRequest{Procedure: procedure, PageSize: 1000}
		for range 10_000 { // far more pages than the rounds make events
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			res, err := client.ListAuditEvents(ctx, req)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range res.GetAuditEvents() {
				if ev.GetCode() == "ok" {
					out[ev.GetCustomerIds()[0]]++
				}
			}
			if req.PageToken = res.GetNextPageToken(); req.PageToken == "" {
				return out
			}
		}
		t.Fatalf("ListAuditEvents %s: still a next page after 10,000 pages", procedure)
		return nil
	}
	created, deleted := events("CreateCustomer"), events("DeleteCustomer")
	stored := listByEmail(t, client)
	exists := map[int64]bool{}
	for _, c := range stored {
		exists[c.Id] = true
		if created[c.Id] == 0 { // (a replayed requestId records another)
			t.Errorf("customer %d has no create event", c.Id)
		}
	}
	for id := range created {
		if !exists[id] && deleted[id] == 0 {
			t.Errorf("customer %d has a create event but is gone without a delete event", id)
		}
	}
	for id := range deleted {
		if exists[id] {
			t.Errorf("customer %d has a delete event but exists", id)
		}
	}
	t.Logf("audit: %d create and %d delete events match %d customers", len(created), len(deleted), len(stored))
}

// verify lists every customer and checks each tracked one against what was
// acknowledged; then it settles the pending writes to what the server holds,
// so that the next round starts from known states. It returns how many
// acknowledged writes are missing (any is a failure).
func verify(t *testing.T, client customerv1connect.CustomerServiceClient, all map[string]*tracked, round int) int {
	t.Helper()
	stored := listByEmail(t, client)
	lost := 0
	for email, c := range all {
		got, ok := stored[email]
		switch {
		case c.pending == "create":
			// Unacknowledged: absent, or present exactly as sent.
			if ok && got.Name != "created" {
				t.Errorf("round %d: unacknowledged create %s stored as %q", round, email, got.Name)
			}
			if ok {
				c.pending, c.etag = "", got.Etag
			} else {
				delete(all, email)
			}
		case c.deleted:
			if ok {
				t.Errorf("round %d: acknowledged delete of %s undone", round, email)
			}
		case c.pending == "delete":
			if ok && (got.Name != c.name || got.Etag != c.etag) {
				t.Errorf("round %d: %s half-deleted: %v", round, email, got)
			}
			c.pending, c.deleted = "", !ok
		case !ok:
			lost++
			t.Errorf("round %d: acknowledged customer %s lost", round, email)
		case c.pending != "":
			// An update in flight: the old or the new version, nothing else.
			newName := c.pending[len("update:"):]
			if !(got.Name == c.name && got.Etag == c.etag) && got.Name != newName {
				t.Errorf("round %d: %s is %q (%s), neither acknowledged %q nor pending %q", round, email, got.Name, got.Etag, c.name, newName)
			}
			c.pending, c.name, c.etag = "", got.Name, got.Etag
		case got.Name != c.name || got.Etag != c.etag:
			lost++
			t.Errorf("round %d: %s is %q (%s), acknowledged as %q (%s)", round, email, got.Name, got.Etag, c.name, c.etag)
		}
	}
	return lost
}

// TestSIGTERMUnderLoad stops the real binary with SIGTERM while clients
// write: it must exit 0, every acknowledged create must be there after a
// restart, every refused call must have a retryable code (unavailable), and
// the WAL must be checkpointed into the database (empty or gone).
func TestSIGTERMUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	dbPath := filepath.Join(dir, "term.db")
	cmd, url, out := startBinary(t, bin, dbPath)
	client := customerv1connect.NewCustomerServiceClient(&http.Client{Timeout: 5 * time.Second}, url)

	var mu sync.Mutex
	acked := map[string]bool{}
	codes := map[connect.Code]int{}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				email := fmt.Sprintf("w%d-%d@example.com", w, i)
				_, err := client.CreateCustomer(context.Background(), &customerv1.CreateCustomerRequest{
					Customer: &customerv1.Customer{Name: "Term", Email: email},
				})
				mu.Lock()
				if err == nil {
					acked[email] = true
				} else {
					codes[connect.CodeOf(err)]++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd, out); err != nil {
		t.Fatalf("exit after SIGTERM under load: %v\n%s", err, out)
	}
	wg.Wait()
	for code, n := range codes {
		if code != connect.CodeUnavailable {
			t.Errorf("%d calls failed with %v during shutdown; want only unavailable", n, code)
		}
	}
	if fi, err := os.Stat(dbPath + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("-wal file is %d bytes after a clean stop; want it checkpointed", fi.Size())
	}

	cmd, url, out = startBinary(t, bin, dbPath)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); waitExit(t, cmd, out) }()
	client = customerv1connect.NewCustomerServiceClient(http.DefaultClient, url)
	stored := listByEmail(t, client)
	for email := range acked {
		if stored[email] == nil {
			t.Fatalf("acknowledged create %s lost across SIGTERM", email)
		}
	}
	t.Logf("%d creates acknowledged, all present; refusals during shutdown: %v", len(acked), codes)
}

// listByEmail pages through every customer and returns them by email.
func listByEmail(t *testing.T, client customerv1connect.CustomerServiceClient) map[string]*customerv1.Customer {
	t.Helper()
	stored := map[string]*customerv1.Customer{}
	token := ""
	for {
		res, err := client.ListCustomers(context.Background(), &customerv1.ListCustomersRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, c := range res.Customers {
			stored[c.Email] = c
		}
		if token = res.NextPageToken; token == "" {
			return stored
		}
	}
}
