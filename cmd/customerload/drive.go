package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

var (
	allOps   = []string{"create", "get", "update", "list", "search", "mixed", "overload"}
	allModes = []string{"ceiling", "naive", "batched"}
)

// result is what one operation did against one server in one run.
type result struct {
	mode, op      string
	run           int
	requests      int64 // answered, successfully or not
	elapsed       time.Duration
	p50, p99, max time.Duration
	errors        map[string]int64 // by Connect code
	peakRSS       int64
	cpuPerReq     time.Duration // CPU time the servers used during the operation, per request
	meanBatch     float64       // of the server's writer; 0 when unknown
	writerStats   string        // the server's own summary of its write batches
	summary       string        // the overload phase's account
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// measure starts the server of mode and drives each operation against a
// fresh copy of the seeded database.
func measure(ctx context.Context, cfg config, mode, bin, template string, pg *pgServer, dir string, run int) ([]result, error) {
	var out []result
	for _, op := range cfg.ops {
		if mode == "ceiling" && (op == "search" || op == "mixed" || op == "overload") {
			continue // the ceiling has no database: search and mixed mean nothing there
		}
		if replicasOf[mode] > 0 && op == "overload" {
			continue // the overload phase measures one server's refusals
		}
		logPath := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.log", mode, op, run))
		var srv *server
		var replicas []*server // beyond srv, for the postgres3 mode
		dropDB := func() {}    // drops a PostgreSQL mode's database
		var err error
		if mode == "ceiling" {
			self, err := os.Executable()
			if err != nil {
				return nil, err
			}
			srv, err = startServer(ctx, logPath, self, ceilingCommand)
			if err != nil {
				return nil, err
			}
		} else if n := replicasOf[mode]; n > 0 {
			name := fmt.Sprintf("customerload_%d_%s_%s_%d", os.Getpid(), mode, op, run)
			db, err := pg.clone(ctx, name)
			if err != nil {
				return nil, err
			}
			dropDB = func() { pg.drop(context.WithoutCancel(ctx), name) }
			dbArgs := []string{"-db", db}
			if cfg.postgresRead != "" {
				readDB, err := onStandby(ctx, cfg.postgresRead, name)
				if err != nil {
					dropDB()
					return nil, err
				}
				dbArgs = append(dbArgs, "-db-read", readDB)
			}
			for i := range n {
				args := append(append([]string{"-addr", "127.0.0.1:0", "-durability", cfg.durability}, dbArgs...), cfg.serverArgs...)
				path := logPath
				if i > 0 {
					path = strings.TrimSuffix(logPath, ".log") + fmt.Sprintf("-%d.log", i)
				}
				s, err := startServer(ctx, path, bin, args...)
				if err != nil {
					for _, r := range append([]*server{srv}, replicas...) {
						if r != nil {
							r.stop()
						}
					}
					dropDB()
					return nil, err
				}
				if i == 0 {
					srv = s
				} else {
					replicas = append(replicas, s)
				}
			}
		} else {
			db := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.db", mode, op, run))
			if err := copyFile(db, template); err != nil {
				return nil, err
			}
			batch := "128"
			if mode == "naive" {
				batch = "1"
			}
			args := append([]string{"-addr", "127.0.0.1:0", "-db", db, "-max-batch", batch, "-durability", cfg.durability}, cfg.serverArgs...)
			srv, err = startServer(ctx, logPath, bin, args...)
		}
		if err != nil {
			return nil, err
		}
		fmt.Printf("run %d  %-8s %-7s ", run+1, mode, op)
		servers := append([]*server{srv}, replicas...)
		urls := make([]string, len(servers))
		for i, s := range servers {
			urls[i] = s.url
		}
		if op != "overload" && cfg.warmup > 0 {
			// Every run starts a new server on a copy of the database: its
			// first seconds go to filling SQLite's page caches and the
			// read cache (measured with wrk: updates cost 190 µs of CPU in
			// the first 5 s, 130 µs after), which is not the server a
			// client meets in production.
			warm := cfg
			warm.duration = cfg.warmup
			drive(ctx, newClient(cfg, urls...), op, warm)
		}
		cpuBefore := cpuTime(servers)
		var res result
		if op == "overload" {
			var summary string
			res, summary = driveOverload(ctx, newClient(cfg, srv.url), cfg, srv)
			res.summary = summary
		} else {
			stopWatch, events := startWatchers(ctx, cfg, srv.url, mode)
			stopWrites := startWriteLoad(ctx, cfg, newClient(cfg, urls...))
			res = drive(ctx, newClient(cfg, urls...), op, cfg)
			stopWatch()
			if n := stopWrites(); cfg.writeLoad > 0 {
				res.summary = strings.TrimPrefix(res.summary+fmt.Sprintf("; beside %d writers: %.0f creates/s", cfg.writeLoad, float64(n)/res.elapsed.Seconds()), "; ")
			}
			if cfg.watchers > 0 {
				res.summary = fmt.Sprintf("%d watchers received %d events", cfg.watchers, events.Load())
			}
		}
		res.mode, res.op, res.run = mode, op, run
		if res.requests > 0 {
			res.cpuPerReq = (cpuTime(servers) - cpuBefore) / time.Duration(res.requests)
		}
		if cfg.postgresRead != "" && replicasOf[mode] > 0 {
			standby, primary := readRouting(servers)
			res.summary = strings.TrimPrefix(res.summary+fmt.Sprintf("; reads served by the standby %d, by the primary %d", standby, primary), "; ")
		}
		for _, s := range servers {
			if rss, err := s.peakRSS(); err == nil {
				res.peakRSS += rss // of all replicas together
			}
		}
		var stopErr error
		for _, s := range servers {
			if err := s.stop(); err != nil && mode != "ceiling" && stopErr == nil {
				stopErr = fmt.Errorf("stopping customerd: %w (see %s)", err, s.log.Name())
			}
		}
		dropDB()
		if stopErr != nil {
			return nil, stopErr
		}
		res.meanBatch, res.writerStats = writerStatsFromLog(logPath)
		fmt.Printf("%9.0f req/s  p50 %-9s p99 %-9s errors %v\n", res.rate(), res.p50, res.p99, res.errors)
		out = append(out, res)
	}
	return out, nil
}

// cpuTime returns the CPU time the servers have used, all together; a
// server whose figure cannot be read counts as none.
func cpuTime(servers []*server) time.Duration {
	var sum time.Duration
	for _, s := range servers {
		if d, err := s.cpuTime(); err == nil {
			sum += d
		}
	}
	return sum
}

var (
	drainedRE   = regexp.MustCompile(`msg="writer drained" (.*)`)
	meanBatchRE = regexp.MustCompile(`mean_batch=([0-9.]+)`)
)

// writerStatsFromLog reads the writer's summary (batches, sizes, waits,
// queue depth, size histogram) from the line customerd logs at shutdown.
func writerStatsFromLog(path string) (float64, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, ""
	}
	m := drainedRE.FindSubmatch(b)
	if m == nil {
		return 0, ""
	}
	var mean float64
	if mb := meanBatchRE.FindSubmatch(m[1]); mb != nil {
		mean, _ = strconv.ParseFloat(string(mb[1]), 64)
	}
	return mean, string(m[1])
}

// newClient returns a client of the server at urls[0], or of every server
// in urls in turn.
func newClient(cfg config, urls ...string) customerv1connect.CustomerServiceClient {
	var tr http.RoundTripper
	opts := []connect.ClientOption{connect.WithProtoJSON()}
	switch cfg.protocol {
	case "grpc", "connect-proto":
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		tr, opts = &http.Transport{Protocols: p}, []connect.ClientOption{connect.WithGRPC()}
		if cfg.protocol == "connect-proto" {
			opts = nil // Connect with the binary codec
		}
	default:
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.clients
		tr = t
	}
	if len(urls) > 1 {
		rr := &roundRobin{base: tr}
		for _, u := range urls {
			rr.hosts = append(rr.hosts, hostOf(u))
		}
		tr = rr
	}
	return customerv1connect.NewCustomerServiceClient(&http.Client{Transport: tr}, urls[0], opts...)
}

// drive runs op from cfg.clients goroutines for cfg.duration. Requests carry
// no deadline of their own: when the time is up, each client finishes the
// request it has in flight and stops, so every request counted was answered.
func drive(ctx context.Context, client customerv1connect.CustomerServiceClient, op string, cfg config) result {
	var stop atomic.Bool
	timer := time.AfterFunc(cfg.duration, func() { stop.Store(true) })
	defer timer.Stop()
	nonce := time.Now().UnixNano()
	var mu sync.Mutex
	var all []time.Duration
	errs := map[string]int64{}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(nonce), uint64(w)))
			lat := make([]time.Duration, 0, 1<<14)
			myErrs := map[string]int64{}
			for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
				t0 := time.Now()
				err := call(ctx, client, pick(op, rng), rng, cfg.customers, fmt.Sprintf("load-%d-%d-%d@example.com", nonce, w, i))
				if ctx.Err() != nil {
					break // interrupted: not an answer
				}
				lat = append(lat, time.Since(t0))
				if err != nil {
					myErrs[connect.CodeOf(err).String()]++
				}
			}
			mu.Lock()
			all = append(all, lat...)
			for k, v := range myErrs {
				errs[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res := result{requests: int64(len(all)), elapsed: time.Since(start), errors: errs}
	if len(all) > 0 {
		slices.Sort(all)
		res.p50, res.p99, res.max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]
	}
	return res
}

// pick turns "mixed" into one operation: 80% reads, 20% writes.
func pick(op string, rng *rand.Rand) string {
	if op != "mixed" {
		return op
	}
	switch n := rng.IntN(100); {
	case n < 60:
		return "get"
	case n < 70:
		return "list"
	case n < 80:
		return "search"
	case n < 90:
		return "create"
	default:
		return "update"
	}
}

func call(ctx context.Context, c customerv1connect.CustomerServiceClient, op string, rng *rand.Rand, customers int, email string) error {
	id := int64(rng.IntN(customers) + 1)
	var err error
	switch op {
	case "create":
		phone := "+44 20 7946 0000"
		_, err = c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
			Name: "Load Test", Email: email, Phone: &phone,
		}})
	case "get":
		_, err = c.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: id})
	case "update":
		_, err = c.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Id: id, Name: "Updated " + strconv.Itoa(rng.IntN(1000))},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
		})
	case "list":
		_, err = c.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 50})
	case "search":
		_, err = c.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 50, Query: searches[rng.IntN(len(searches))]})
	default:
		err = errors.New("unknown operation " + op)
	}
	return err
}

// startWatchers opens cfg.watchers WatchCustomers streams (gRPC, on HTTP/2)
// that read every change until stopped, and counts the events they get.
func startWatchers(ctx context.Context, cfg config, url, mode string) (stop func(), events *atomic.Int64) {
	events = new(atomic.Int64)
	if cfg.watchers == 0 || mode == "ceiling" {
		return func() {}, events
	}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	client := customerv1connect.NewCustomerServiceClient(&http.Client{Transport: &http.Transport{Protocols: p}}, url, connect.WithGRPC())
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range cfg.watchers {
		wg.Go(func() {
			stream, err := client.WatchCustomers(wctx, &customerv1.WatchCustomersRequest{})
			if err != nil {
				return
			}
			for stream.Receive() {
				events.Add(1)
			}
		})
	}
	return func() { cancel(); wg.Wait() }, events
}

// startWriteLoad starts cfg.writeLoad clients creating customers through
// client until the returned function is called; that function returns how
// many creates were acknowledged.
func startWriteLoad(ctx context.Context, cfg config, client customerv1connect.CustomerServiceClient) (stop func() int64) {
	acked := new(atomic.Int64)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	nonce := time.Now().UnixNano()
	for w := range cfg.writeLoad {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				email := fmt.Sprintf("load-%d-%d-%d@example.com", nonce, w, i)
				_, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "Write Load", Email: email}})
				if err == nil {
					acked.Add(1)
				}
			}
		})
	}
	return func() int64 { cancel(); wg.Wait(); return acked.Load() }
}

// readRouting sums, over servers, the reads their /metrics say the
// standby (-db-read) and the primary served.
func readRouting(servers []*server) (standby, primary int64) {
	for _, s := range servers {
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for name, sum := range map[string]*int64{"customerd_db_read_standby_total": &standby, "customerd_db_read_primary_total": &primary} {
			if m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body); m != nil {
				v, _ := strconv.ParseFloat(string(m[1]), 64)
				*sum += int64(v)
			}
		}
	}
	return standby, primary
}
