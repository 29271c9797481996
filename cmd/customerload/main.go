// Command customerload measures customerd under load, on this machine only.
//
// It seeds a fresh database with -n customers, starts the real customerd
// binary on 127.0.0.1 (a free port), drives it with -c concurrent clients
// through the generated Connect client for -d per operation, and prints per
// operation the requests per second, p50/p99/max latency, errors by code and
// the server's peak RSS. In the same run it measures two baselines:
//
//   - ceiling: a bare net/http server that decodes and encodes the same JSON
//     (or protobuf), with no database;
//   - naive: customerd with group commit off (-max-batch 1), one transaction
//     and one fsync per write.
//
// Usage:
//
//	go run ./cmd/customerload [-n 100000] [-c 64] [-d 5s] [-runs 1] [-protocol connect|grpc|connect-proto]
//
// With -ops attacks it instead runs every attack of internal/attack, each
// for -attack-d, against one customerd with API keys, and prints per attack
// the server's peak RSS and a probe client's GetCustomer latencies:
//
//	go run ./cmd/customerload -ops attacks [-n 100000] [-attack-d 15s]
//
// It only ever talks to servers it started itself on the loopback interface,
// and it stops by itself: every phase is bounded by -d.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == ceilingCommand {
		if err := serveCeiling(); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == handwrittenCommand {
		if err := serveHandwritten(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "handwritten:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == probeCommand {
		if err := runProbe(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "customerload:", err)
		os.Exit(1)
	}
}

// config is what the flags select.
type config struct {
	customers int
	clients   int
	duration  time.Duration
	// warmup is how long each operation runs, unmeasured, on a server
	// just started before its measured run.
	warmup     time.Duration
	runs       int
	protocol   string
	durability string
	ops        []string
	modes      []string
	keep       bool
	serverArgs []string
	watchers   int
	// attackDuration is how long each attack of -ops attacks runs.
	attackDuration time.Duration
	// attackOnly, when not empty, names the attacks to run.
	attackOnly []string
	postgres   string // admin URL for the postgres modes
	// postgresRead, when set, is a hot standby of postgres: the postgres
	// modes' customerd read from it (-db-read), from the same database.
	postgresRead string
	// writeLoad is how many clients create customers, unmeasured, beside
	// each operation.
	writeLoad int
}

func parseFlags(args []string) (config, error) {
	var cfg config
	var ops, modes string
	fs := flag.NewFlagSet("customerload", flag.ContinueOnError)
	fs.IntVar(&cfg.customers, "n", 100_000, "customers to seed the database with")
	fs.IntVar(&cfg.clients, "c", 64, "concurrent clients")
	fs.DurationVar(&cfg.duration, "d", 5*time.Second, "how long to drive each operation")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "how long to drive each operation, unmeasured, on the fresh server before measuring it (a server just started reads its pages into its caches first)")
	fs.IntVar(&cfg.runs, "runs", 1, "runs of everything; the report gives the median of each figure")
	fs.StringVar(&cfg.protocol, "protocol", "connect", "connect (Connect JSON over HTTP/1.1), grpc (gRPC over cleartext HTTP/2) or connect-proto (Connect with the binary codec over cleartext HTTP/2)")
	fs.StringVar(&cfg.durability, "durability", "full", "customerd's -durability: full or normal")
	fs.StringVar(&ops, "ops", strings.Join(allOps, ","), "operations to drive")
	fs.StringVar(&modes, "modes", strings.Join(allModes, ","), "servers to measure: ceiling, naive, batched, postgres (one customerd on PostgreSQL), postgres3 (three customerd replicas on one PostgreSQL database, clients round-robin)")
	fs.StringVar(&cfg.postgres, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server (on this machine) for the postgres modes: a URL whose user may create databases")
	fs.StringVar(&cfg.postgresRead, "postgres-read", "", "a hot standby of -postgres (on this machine): the postgres modes' customerd read from it (-db-read), from the measurement's database")
	fs.IntVar(&cfg.writeLoad, "write-load", 0, "clients creating customers beside each operation (not measured; their writes per second are reported)")
	fs.IntVar(&cfg.watchers, "watchers", 0, "WatchCustomers streams kept open during each operation (each reads every change)")
	fs.DurationVar(&cfg.attackDuration, "attack-d", 15*time.Second, "how long each attack of -ops attacks runs")
	attackOnly := fs.String("attack-only", "", "comma-separated `names` of the attacks to run (default: all)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (databases, server logs)")
	var serverArgs string
	fs.StringVar(&serverArgs, "server-args", "", "extra space-separated flags for customerd, e.g. \"-debug-addr 127.0.0.1:6060\" to profile it")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.ops, cfg.modes = strings.Split(ops, ","), strings.Split(modes, ",")
	if *attackOnly != "" {
		cfg.attackOnly = strings.Split(*attackOnly, ",")
	}
	cfg.serverArgs = strings.Fields(serverArgs)
	for _, op := range cfg.ops {
		if !contains(allOps, op) && (op != attacksOp || len(cfg.ops) > 1) {
			return cfg, fmt.Errorf("unknown operation %q (want some of %v, or %s alone)", op, allOps, attacksOp)
		}
	}
	for _, m := range cfg.modes {
		if !contains(allModes, m) && replicasOf[m] == 0 {
			return cfg, fmt.Errorf("unknown mode %q (want some of %v, postgres, postgres3)", m, allModes)
		}
	}
	if cfg.protocol != "connect" && cfg.protocol != "grpc" && cfg.protocol != "connect-proto" {
		return cfg, fmt.Errorf("-protocol must be connect, grpc or connect-proto")
	}
	if cfg.writeLoad < 0 {
		return cfg, fmt.Errorf("-write-load must not be negative")
	}
	if cfg.customers < 1 || cfg.clients < 1 || cfg.runs < 1 || cfg.duration <= 0 || cfg.attackDuration <= 0 {
		return cfg, fmt.Errorf("-n, -c, -runs, -d and -attack-d must be positive")
	}
	return cfg, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "customerload-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Println("keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	bin, err := buildServer(ctx, dir)
	if err != nil {
		return err
	}
	fmt.Printf("seeding %d customers...\n", cfg.customers)
	start := time.Now()
	template, err := seed(ctx, dir, cfg.customers)
	if err != nil {
		return err
	}
	fmt.Printf("seeded in %s\n", time.Since(start).Round(time.Millisecond))
	if cfg.ops[0] == attacksOp {
		return runAttacks(ctx, cfg, bin, template, dir)
	}
	var pg *pgServer
	if slices.ContainsFunc(cfg.modes, func(m string) bool { return replicasOf[m] > 0 }) {
		fmt.Printf("seeding %d customers in PostgreSQL...\n", cfg.customers)
		start := time.Now()
		if pg, err = seedPostgres(ctx, cfg.postgres, cfg.customers); err != nil {
			return fmt.Errorf("seeding PostgreSQL: %w", err)
		}
		defer pg.drop(context.WithoutCancel(ctx), pg.template)
		fmt.Printf("seeded in %s\n", time.Since(start).Round(time.Millisecond))
	}

	var results []result
	for r := range cfg.runs {
		for _, mode := range cfg.modes {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res, err := measure(ctx, cfg, mode, bin, template, pg, dir, r)
			if err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			results = append(results, res...)
		}
	}
	report(os.Stdout, cfg, results)
	return nil
}
