package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report prints, per operation and server, the median over the runs of
// each figure, then the ratios the targets are stated in.
func report(w io.Writer, cfg config, results []result) {
	fmt.Fprintf(w, "\n%d customers, %d clients, %s per operation, protocol %s, durability %s, median of %d run(s)\n\n",
		cfg.customers, cfg.clients, cfg.duration, cfg.protocol, cfg.durability, cfg.runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tserver\treq/s\tp50\tp99\tmax\terrors\tpeak RSS\tmean batch\tserver CPU/req\t")
	medians := map[[2]string]result{}
	for _, op := range cfg.ops {
		for _, mode := range cfg.modes {
			m, ok := median(results, mode, op)
			if !ok {
				continue
			}
			medians[[2]string{mode, op}] = m
			batch := "-"
			if m.meanBatch > 0 {
				batch = fmt.Sprintf("%.1f", m.meanBatch)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%.0f MB\t%s\t%s\t\n", op, mode, m.rate(),
				round(m.p50), round(m.p99), round(m.max), errorsString(m.errors), float64(m.peakRSS)/(1<<20), batch, m.cpuPerReq.Round(time.Microsecond))
		}
	}
	tw.Flush()

	fmt.Fprintln(w)
	for _, op := range cfg.ops {
		for _, mode := range cfg.modes {
			if m, ok := medians[[2]string{mode, op}]; ok && m.summary != "" {
				fmt.Fprintf(w, "%s, %s: %s\n", op, mode, m.summary)
			}
		}
	}

	fmt.Fprintln(w, "\nthe servers' write batches (median run):")
	for _, op := range cfg.ops {
		for _, mode := range []string{"naive", "batched"} {
			if m, ok := medians[[2]string{mode, op}]; ok && m.writerStats != "" && !strings.HasPrefix(m.writerStats, "batches=0 ") {
				fmt.Fprintf(w, "  %-7s %-8s %s\n", op, mode, m.writerStats)
			}
		}
	}

	fmt.Fprintln(w)
	ratio := func(label, a, b, op string) {
		x, ok1 := medians[[2]string{a, op}]
		y, ok2 := medians[[2]string{b, op}]
		if ok1 && ok2 && y.rate() > 0 {
			fmt.Fprintf(w, "%-34s %6.2fx  (%.0f / %.0f req/s)\n", fmt.Sprintf("%s %s / %s:", op, label, b), x.rate()/y.rate(), x.rate(), y.rate())
		}
	}
	for _, op := range []string{"create", "update", "mixed"} {
		ratio("batched", "batched", "naive", op)
	}
	for _, op := range []string{"create", "update", "get", "list"} {
		ratio("batched", "batched", "ceiling", op)
	}
}

// median returns, for mode and op, the run with the median rate, with
// the median of each latency figure across the runs.
func median(results []result, mode, op string) (result, bool) {
	var rs []result
	for _, r := range results {
		if r.mode == mode && r.op == op {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return result{}, false
	}
	slices.SortFunc(rs, func(a, b result) int {
		switch {
		case a.rate() < b.rate():
			return -1
		case a.rate() > b.rate():
			return 1
		}
		return 0
	})
	m := rs[len(rs)/2]
	mid := func(f func(result) time.Duration) time.Duration {
		v := make([]time.Duration, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m.p50 = mid(func(r result) time.Duration { return r.p50 })
	m.p99 = mid(func(r result) time.Duration { return r.p99 })
	m.max = mid(func(r result) time.Duration { return r.max })
	m.cpuPerReq = mid(func(r result) time.Duration { return r.cpuPerReq })
	return m, true
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func errorsString(errs map[string]int64) string {
	if len(errs) == 0 {
		return "0"
	}
	var parts []string
	for k, v := range errs {
		parts = append(parts, fmt.Sprintf("%s:%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
