package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/pgcluster"
)

var failoverRounds = flag.Int("failover.rounds", 1, "how many times TestFailover kills the primary PostgreSQL and promotes its standby")

// callDeadline is the deadline of every call TestFailover makes.
const callDeadline = 2 * time.Second

// failoverRound is what one round of TestFailover saw.
type failoverRound struct {
	killAt, promotedAt time.Time
	firstAfter         []time.Time // per server: the first acknowledged write sent after the kill
	before, after      int         // writes acknowledged before and after the kill
	refused            map[connect.Code]int
}

// failoverLedger records every write TestFailover's writers make.
type failoverLedger struct {
	mu    sync.Mutex
	acked map[string]int64 // email → id
	round *failoverRound
	err   error // the first call that broke a rule
}

func (l *failoverLedger) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

// write creates customers through client until stop is closed.
func (l *failoverLedger) write(client customerv1connect.CustomerServiceClient, server int, name string, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		email := fmt.Sprintf("%s-%d@example.com", name, i)
		ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
		sent := time.Now()
		res, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: name, Email: email}})
		cancel()
		done := time.Now()
		if took := done.Sub(sent); took > callDeadline+time.Second {
			l.fail(fmt.Errorf("a create took %v, past its %v deadline", took, callDeadline))
		}
		l.mu.Lock()
		r := l.round
		if err == nil {
			l.acked[email] = res.Customer.Id
			if r.killAt.IsZero() || done.Before(r.killAt) {
				r.before++
			} else {
				r.after++
				if sent.After(r.killAt) && r.firstAfter[server].IsZero() {
					r.firstAfter[server] = done
				}
			}
		} else {
			code := connect.CodeOf(err)
			r.refused[code]++
			if code != connect.CodeUnavailable && code != connect.CodeDeadlineExceeded {
				if l.err == nil {
					l.err = fmt.Errorf("a create failed with %v, want unavailable (or deadline_exceeded): %v", code, err)
				}
			}
		}
		l.mu.Unlock()
		if err != nil {
			time.Sleep(20 * time.Millisecond) // as a client backs off
		}
	}
}

// failoverWatcher follows the change feed through the failovers, resuming
// from its last token on the next server whenever its stream ends.
type failoverWatcher struct {
	mu      sync.Mutex
	events  []*customerv1.ChangeEvent
	resumes int
	cut     chan struct{} // ends the current stream, as a client that lost its connection
}

func (w *failoverWatcher) run(ctx context.Context, clients []customerv1connect.CustomerServiceClient) {
	token := ""
	for i := 0; ctx.Err() == nil; i++ {
		streamCtx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-w.cut:
				cancel()
			case <-streamCtx.Done():
			}
		}()
		stream, err := clients[i%len(clients)].WatchCustomers(streamCtx, &customerv1.WatchCustomersRequest{ResumeToken: token})
		if err == nil {
			for stream.Receive() {
				w.mu.Lock()
				w.events = append(w.events, stream.Msg())
				w.mu.Unlock()
				token = stream.Msg().ResumeToken
			}
			stream.Close()
		}
		cancel()
		w.mu.Lock()
		w.resumes++
		w.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (w *failoverWatcher) snapshot() ([]*customerv1.ChangeEvent, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events), w.resumes
}

// TestFailover runs writers through two customerd servers on a PostgreSQL
// primary with a synchronous standby, given as one multi-host URL. Each
// round kills the primary with SIGKILL mid-write, promotes the standby at
// once (as a failover manager would), waits until both servers
// acknowledge writes again by themselves, and rebuilds the old primary as
// the new synchronous standby. Calls in between fail with unavailable
// within their deadline. At the end every acknowledged write is there, and
// a watcher that resumed from its last token after each failover has
// received every committed create exactly once, in order (its stream is
// cut after every promotion, so it resumes on the promoted primary). One round by
// default; -failover.rounds N runs N.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	c := pgcluster.Start(t, pgcluster.Options{Standbys: 1, Sync: true})
	dsn := c.MultiHostURL()
	var clients []customerv1connect.CustomerServiceClient
	for range 2 {
		url, _ := startRun(t, []string{"-addr", "127.0.0.1:0", "-db", dsn}, nil)
		clients = append(clients, customerv1connect.NewCustomerServiceClient(http.DefaultClient, url))
	}

	watchCtx, stopWatching := context.WithCancel(context.Background())
	w := &failoverWatcher{cut: make(chan struct{})}
	var watching sync.WaitGroup
	watching.Go(func() { w.run(watchCtx, clients) })
	defer func() { stopWatching(); watching.Wait() }()
	time.Sleep(200 * time.Millisecond) // the watch starts from now: let it open before the first write

	l := &failoverLedger{acked: map[string]int64{}}
	var rounds []*failoverRound
	for round := 1; round <= *failoverRounds; round++ {
		primary := c.Primary()
		var standby *pgcluster.Node
		for _, n := range c.Nodes() {
			if n != primary {
				standby = n
			}
		}
		r := &failoverRound{firstAfter: make([]time.Time, len(clients)), refused: map[connect.Code]int{}}
		l.mu.Lock()
		l.round = r
		l.mu.Unlock()
		rounds = append(rounds, r)

		stop := make(chan struct{})
		var writers sync.WaitGroup
		for i := range 6 {
			server := i % len(clients)
			writers.Go(func() { l.write(clients[server], server, fmt.Sprintf("r%d-w%d", round, i), stop) })
		}
		time.Sleep(700 * time.Millisecond)
		l.mu.Lock()
		r.killAt = time.Now()
		l.mu.Unlock()
		primary.Kill()
		c.Promote(standby)
		r.promotedAt = time.Now()
		w.cut <- struct{}{} // the watcher resumes from its last token on the next server
		deadline := time.Now().Add(30 * time.Second)
		for {
			l.mu.Lock()
			resumed := !slices.ContainsFunc(r.firstAfter, time.Time.IsZero)
			l.mu.Unlock()
			if resumed {
				break
			}
			if time.Now().After(deadline) {
				close(stop)
				writers.Wait()
				t.Fatalf("round %d: the servers did not acknowledge a write within 30s of the promotion (first writes after the kill: %v)", round, r.firstAfter)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		close(stop)
		writers.Wait()
		if l.err != nil {
			t.Fatalf("round %d: %v", round, l.err)
		}
		window := slices.MaxFunc(r.firstAfter, time.Time.Compare).Sub(r.killAt)
		t.Logf("round %d: acknowledged %d writes before the kill, %d after; window (kill to a write acknowledged by both servers) %v, of which kill to promoted %v; refused meanwhile: %v",
			round, r.before, r.after, window.Round(time.Millisecond), r.promotedAt.Sub(r.killAt).Round(time.Millisecond), r.refused)
		c.Rebuild(primary, standby)
		c.MakeSync(standby, primary)
	}

	// Every acknowledged write is there.
	stored := listByEmail(t, clients[1])
	lost := 0
	for email, id := range l.acked {
		if got, ok := stored[email]; !ok || got.Id != id {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged create %s (id %d) lost", email, id)
			}
		}
	}
	t.Logf("%d rounds: %d writes acknowledged, %d lost, %d customers stored (the rest were in flight at a kill)",
		len(rounds), len(l.acked), lost, len(stored))
	if lost > 0 {
		t.Fatalf("%d acknowledged writes lost", lost)
	}

	// The watcher has every committed create exactly once, in commit
	// order (ids grow with it: every write takes the write lock).
	var events []*customerv1.ChangeEvent
	var resumes int
	deadline := time.Now().Add(30 * time.Second)
	for {
		events, resumes = w.snapshot()
		if len(events) >= len(stored) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen := map[int64]bool{}
	for i, e := range events {
		id := e.Customer.GetId()
		if e.Type != customerv1.ChangeType_CHANGE_TYPE_CREATED {
			t.Fatalf("event %d: %v, want only creates", i, e.Type)
		}
		if seen[id] {
			t.Fatalf("event %d: customer %d seen twice", i, id)
		}
		if i > 0 && id <= events[i-1].Customer.GetId() {
			t.Fatalf("event %d: customer %d after %d: out of order", i, id, events[i-1].Customer.GetId())
		}
		seen[id] = true
	}
	for email, c := range stored {
		if !seen[c.Id] {
			t.Fatalf("the watcher never received the create of %s (id %d): %d events for %d customers", email, c.Id, len(events), len(stored))
		}
	}
	if len(events) != len(stored) {
		t.Fatalf("the watcher received %d events for %d customers", len(events), len(stored))
	}
	t.Logf("the watcher received all %d creates once, in order, resuming %d times", len(events), resumes)
}
