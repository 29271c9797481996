package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"customerd/internal/attack"
)

// attacksOp is the -ops value that runs every attack of internal/attack,
// one after another, against one customerd.
const attacksOp = "attacks"

// attackKeys is how many write keys the attacked server has: the
// watchers attack spreads its streams over them, to reach the cap in all.
const attackKeys = 8

// attackRow is one attack's line of the report.
type attackRow struct {
	name, sent, answers string
	peakRSS             int64
	probe               *attack.Probe
}

// runAttacks starts customerd with API keys on a copy of the seeded
// database and runs each attack for the attack duration while a probe
// client reads a customer every 20 ms; before each attack it resets the
// server's peak RSS, so that each row has its own.
func runAttacks(ctx context.Context, cfg config, bin, template, dir string) error {
	db := filepath.Join(dir, "attacks.db")
	if err := copyFile(db, template); err != nil {
		return err
	}
	keyFile := filepath.Join(dir, "keys")
	var keys []string
	for range attackKeys {
		out, err := exec.CommandContext(ctx, bin, "keys", "add", "-file", keyFile, "-scope", "write").Output()
		if err != nil {
			return fmt.Errorf("customerd keys add: %w", err)
		}
		keys = append(keys, strings.TrimSpace(string(out)))
	}
	logPath := filepath.Join(dir, "attacks.log")
	args := append([]string{"-addr", "127.0.0.1:0", "-db", db, "-auth-keys", keyFile, "-durability", cfg.durability}, cfg.serverArgs...)
	srv, err := startServer(ctx, logPath, bin, args...)
	if err != nil {
		return err
	}
	defer srv.stop()
	t := attack.Target{URL: srv.url, Key: keys[0]}
	d := cfg.attackDuration
	fmt.Printf("attacking %s for %v each (log: %s)\n", srv.url, d, logPath)

	var rows []attackRow
	run := func(name string, attackFn func(ctx context.Context) (sent, answers string)) {
		if ctx.Err() != nil || len(cfg.attackOnly) > 0 && !contains(cfg.attackOnly, name) {
			return
		}
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", srv.cmd.Process.Pid), []byte("5"), 0); err != nil {
			fmt.Println("cannot reset the peak RSS:", err)
		}
		actx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		probe, wait, err := startProbe(actx, t)
		if err != nil {
			fmt.Println("cannot start the probe:", err)
			return
		}
		sent, answers := attackFn(actx)
		cancel()
		if err := wait(); err != nil {
			fmt.Println("probe:", err)
		}
		rss, _ := srv.peakRSS()
		row := attackRow{name: name, sent: sent, answers: answers, peakRSS: rss, probe: probe}
		fmt.Printf("%-16s peak RSS %4d MB  probe p99 %-9v %s\n", name, rss>>20, round(probe.Quantile(0.99)), answers)
		rows = append(rows, row)
	}

	run("junk-paths", func(ctx context.Context) (string, string) {
		a := attack.JunkPaths(ctx, attack.Target{URL: t.URL}, 10_000, 30<<10, false)
		return fmt.Sprintf("%d POSTs to 30 KB paths, no key", a.Total()),
			a.String() + "; then " + metricsSize(t)
	})
	run("foreign-host", func(ctx context.Context) (string, string) {
		a := attack.JunkPaths(ctx, attack.Target{URL: t.URL}, 10_000, 10<<10, true)
		return fmt.Sprintf("%d POSTs to 10 KB paths, Host rebound.example", a.Total()),
			a.String() + "; then " + metricsSize(t)
	})
	run("rapid-reset", func(ctx context.Context) (string, string) {
		a := attack.RapidReset(ctx, t, 4)
		return fmt.Sprintf("HEADERS+RST_STREAM on 4 h2c connections: %d streams", a.Count("reset")), a.String()
	})
	run("stalled-bodies", func(ctx context.Context) (string, string) {
		var huge, chunked *attack.Answers
		var wg sync.WaitGroup
		wg.Go(func() { huge = attack.SlowBodies(ctx, t, 300, attack.GRPCWebWatch()) })
		wg.Go(func() {
			chunked = attack.SlowBodies(ctx, t, 300, attack.Body{
				Path: "/customer.v1.CustomerService/WatchCustomers", ContentType: "application/grpc-web+proto", ContentLength: -1,
				First: append(binary.BigEndian.AppendUint32([]byte{0}, 1<<20), bytes.Repeat([]byte{'x'}, 1<<20-64)...),
			})
		})
		wg.Wait()
		return "300 gRPC-Web watches claiming 2 GiB (1 MiB sent) + 300 chunked ones stalled 64 bytes short of 1 MiB",
			"2 GiB: " + huge.String() + "; chunked: " + chunked.String()
	})
	run("slow-bodies", func(ctx context.Context) (string, string) {
		a := attack.SlowBodies(ctx, t, 600, attack.Body{
			Path: "/customer.v1.CustomerService/GetCustomer", ContentType: "application/json", ContentLength: 64,
			First: []byte(`{"id":`), Trickle: 2 * time.Second,
		})
		return "600 connections sending a GetCustomer body a byte every 2 s", a.String()
	})
	run("watchers", func(ctx context.Context) (string, string) {
		return watchersAttack(ctx, t, keys, d)
	})
	run("search", func(ctx context.Context) (string, string) {
		a := attack.Searches(ctx, t, 16, attack.ExpensiveSearchRequest("high"))
		return `16 clients: query "high " x 40, includeTotal, orderBy name`, a.String()
	})

	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "attack\tpeak RSS\tprobe p50\tprobe p99\tprobe max\tprobe answers\tsent\tanswered")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d MB\t%v\t%v\t%v\t%s\t%s\t%s\n", r.name, r.peakRSS>>20, round(r.probe.Quantile(0.5)),
			round(r.probe.Quantile(0.99)), round(r.probe.Quantile(1)), r.probe.Answers(), r.sent, r.answers)
	}
	tw.Flush()
	return ctx.Err()
}

// probeCommand is the first argument that makes this program the probe
// client of -ops attacks: a process of its own, so that the attackers'
// goroutines and garbage do not slow it down.
const probeCommand = "attack-probe"

// startProbe starts this program as the probe client of t until ctx ends;
// wait waits for it and fills the probe with its calls.
func startProbe(ctx context.Context, t attack.Target) (probe *attack.Probe, wait func() error, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, probeCommand, t.URL, t.Key)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Signal(os.Interrupt) })
	probe = &attack.Probe{}
	return probe, func() error {
		defer stop()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ns int64
			var code string
			if _, err := fmt.Sscan(sc.Text(), &ns, &code); err == nil {
				probe.Record(time.Duration(ns), code)
			}
		}
		return cmd.Wait()
	}, nil
}

// runProbe is the probe process: it reads customer 1 every 20 ms (each
// call with a deadline of 10 s) until interrupted, printing each call's
// nanoseconds and code on a line.
func runProbe(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: %s URL KEY", probeCommand)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	attack.RunProbe(ctx, attack.Target{URL: args[0], Key: args[1]}, 1, 20*time.Millisecond, 10*time.Second,
		func(d time.Duration, code string) { fmt.Fprintln(w, d.Nanoseconds(), code) })
	return nil
}

// watchersAttack measures creates for a third of d without watchers,
// then tries to open 5,000 watchers spread over keys (each reading every
// change) and measures creates again beside the ones the server let open.
func watchersAttack(ctx context.Context, t attack.Target, keys []string, d time.Duration) (string, string) {
	third := d / 3
	baseCtx, cancel := context.WithTimeout(ctx, third)
	base := attack.Creates(baseCtx, t, 8)
	cancel()

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var events atomic.Int64
	results := make([]*attack.Answers, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() { results[i] = attack.Watchers(wctx, attack.Target{URL: t.URL, Key: k}, 5000/len(keys), &events) })
	}
	// Let the streams open, then write beside them.
	if !sleep(ctx, third) {
		return "", "interrupted"
	}
	before := events.Load()
	open, err := t.Metric("customerd_watchers")
	if err != nil {
		return "", err.Error()
	}
	writeCtx, cancel := context.WithTimeout(ctx, third)
	with := attack.Creates(writeCtx, t, 8)
	cancel()
	delivered := events.Load() - before
	stop()
	wg.Wait()
	var all attack.Answers
	for _, r := range results {
		all.Merge(r)
	}
	return fmt.Sprintf("5,000 watchers over %d keys", len(keys)),
		fmt.Sprintf("%s; the server counted %.0f open; creates %.0f/s alone, %.0f/s beside the open ones (%.2fx), which received %d events",
			all.String(), open, float64(base)/third.Seconds(), float64(with)/third.Seconds(), float64(with)/float64(max(base, 1)), delivered)
}

// metricsSize scrapes /metrics with the target's key and says how large
// it was.
func metricsSize(t attack.Target) string {
	text, err := t.Metrics()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("/metrics %d bytes", len(text))
}

// sleep waits d or until ctx ends, and reports whether ctx is still going.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
