package attack

import (
	"context"
	"slices"
	"sync"
	"time"

	customerv1 "customerd/gen/customer/v1"
)

// Probe is an ordinary client that keeps reading one customer while an
// attack runs, to see whether the server still answers others.
type Probe struct {
	mu        sync.Mutex
	latencies []time.Duration
	answers   Answers
}

// RunProbe calls GetCustomer(id) over Connect JSON on HTTP/1.1 every
// interval until ctx ends, each call with a deadline of timeout, and hands
// record each call's duration and code (such as a Probe's Record).
func RunProbe(ctx context.Context, t Target, id int64, interval, timeout time.Duration, record func(d time.Duration, code string)) {
	c := t.ConnectClient()
	for ctx.Err() == nil {
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		start := time.Now()
		_, err := c.GetCustomer(callCtx, &customerv1.GetCustomerRequest{Id: id})
		d := time.Since(start)
		cancel()
		record(d, codeName(err))
		waitOrDone(ctx, interval)
	}
}

// Record adds one call that took d and was answered code.
func (p *Probe) Record(d time.Duration, code string) {
	p.mu.Lock()
	p.latencies = append(p.latencies, d)
	p.mu.Unlock()
	p.answers.Add(code)
}

// Answers returns what the probe's calls were answered.
func (p *Probe) Answers() *Answers { return &p.answers }

// Calls returns how many calls the probe made.
func (p *Probe) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.latencies)
}

// Quantile returns the q-quantile (0 < q <= 1) of the probe's latencies,
// or 0 when it made no call.
func (p *Probe) Quantile(q float64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.latencies) == 0 {
		return 0
	}
	s := slices.Clone(p.latencies)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
