package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// overloadFactor is how far past the sustainable rate the overload phase
// offers creates.
const overloadFactor = 4

// driveOverload first measures the sustainable create rate with closed-loop
// clients, then offers creates open-loop (at fixed times, whether or not
// earlier ones were answered) at overloadFactor times that rate for
// cfg.duration, each with a 2 s deadline. The result counts what was
// answered, by code; the caller checks that the server stayed up.
func driveOverload(ctx context.Context, client customerv1connect.CustomerServiceClient, cfg config, srv *server) (result, string) {
	warm := cfg
	warm.duration = min(cfg.duration, 3*time.Second)
	sustainable := drive(ctx, client, "create", warm).rate()
	offered := overloadFactor * sustainable

	var mu sync.Mutex
	var okLat, failLat []time.Duration
	errs := map[string]int64{}
	var inFlight, dropped atomic.Int64
	const maxInFlight = 2048 // the generator's own bound, so that it cannot run out of memory
	nonce := time.Now().UnixNano()
	start := time.Now()
	var wg sync.WaitGroup
	var peakRSS int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	sent := 0
	for now := range tick.C {
		if now.Sub(start) >= cfg.duration || ctx.Err() != nil {
			break
		}
		if rss, err := srv.currentRSS(); err == nil && rss > peakRSS {
			peakRSS = rss
		}
		due := int(offered * now.Sub(start).Seconds())
		for ; sent < due; sent++ {
			if inFlight.Load() >= maxInFlight {
				dropped.Add(1)
				continue
			}
			inFlight.Add(1)
			i := sent
			wg.Go(func() {
				defer inFlight.Add(-1)
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				t0 := time.Now()
				_, err := client.CreateCustomer(cctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
					Name: "Overload", Email: fmt.Sprintf("over-%d-%d@example.com", nonce, i),
				}})
				d := time.Since(t0)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs[connect.CodeOf(err).String()]++
					failLat = append(failLat, d)
				} else {
					okLat = append(okLat, d)
				}
			})
		}
	}
	wg.Wait()
	res := result{requests: int64(len(okLat) + len(failLat)), elapsed: time.Since(start), errors: errs, peakRSS: peakRSS}
	all := append(slices.Clone(okLat), failLat...)
	if len(all) > 0 {
		slices.Sort(all)
		res.p50, res.p99, res.max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]
	}
	slices.Sort(failLat)
	failP99 := time.Duration(0)
	if len(failLat) > 0 {
		failP99 = failLat[len(failLat)*99/100]
	}
	healthy := "healthy after"
	if resp, err := http.Get(srv.url + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		healthy = fmt.Sprintf("NOT healthy after (%v)", err)
	} else {
		resp.Body.Close()
	}
	summary := fmt.Sprintf("sustainable %.0f creates/s; offered %.0f/s for %s (%d sent, %d not sent: generator full); "+
		"%d ok (%.0f/s), %d refused %v; refusals p99 %s; %s",
		sustainable, offered, cfg.duration, sent, dropped.Load(), len(okLat), float64(len(okLat))/res.elapsed.Seconds(),
		len(failLat), errs, round(failP99), healthy)
	return res, summary
}
