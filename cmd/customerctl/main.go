// Command customerctl calls the customer API from a terminal or a script.
//
// Usage:
//
//	customerctl create -name NAME -email EMAIL [-phone P] [-address A] [-request-id UUID]
//	customerctl get -id ID
//	customerctl update -id ID [-name N] [-email E] [-phone P] [-address A] [-clear phone,address] [-etag ETAG]
//	customerctl delete -id ID [-etag ETAG]
//	customerctl list [-query Q] [-order-by ORDER] [-updated-after TIME] [-page-size N] [-all]
//
// Every subcommand takes -server (default $CUSTOMERCTL_SERVER, then
// http://127.0.0.1:8080), -key (default $CUSTOMERCTL_KEY) and -o table|json.
// With -o json the output is one JSON document with protojson field names.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "customerctl:", err)
		os.Exit(1)
	}
}
