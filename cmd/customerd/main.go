// Command customerd serves the customer API (Connect, gRPC and gRPC-Web on
// one port) on a SQLite database.
//
// Usage:
//
//	customerd [-addr 127.0.0.1:8080] [-db customers.db]
//
// The environment variables CUSTOMERD_ADDR and CUSTOMERD_DB set the same
// options; flags win over them. SIGINT or SIGTERM stops the server
// gracefully: it stops accepting connections, finishes the requests in
// flight, drains pending writes and closes the database.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "customerd:", err)
		os.Exit(1)
	}
}
