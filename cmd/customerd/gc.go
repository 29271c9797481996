package main

import "runtime/debug"

// gcPercent is the garbage collector's target when GOGC is not set: the
// heap may grow to 5 times what is live before a collection, instead of
// Go's default 2. The server's live heap is small (tens of MB; SQLite's
// page caches are not on it), and under load it allocates per request, so
// collections come often: measured with 64 clients updating customers, 400
// instead of 100 took about 4% less CPU per request and 5-8% more requests
// per second, for about 16 MB more resident memory.
const gcPercent = 400

// memoryLimit is the soft limit on the Go runtime's memory when GOMEMLIMIT
// is not set. With a target of 400 the heap would grow to five times what
// is live, and the runtime keeps freed memory for a while; when hostile
// clients make much of the heap live at once (bodies up to the body
// budget, thousands of connections and watchers) the process passed 256 MB
// of resident memory, of which SQLite (its page caches, outside Go's heap)
// held about 80 MB. Near the limit the collector runs as often as it must,
// and freed memory goes back to the system sooner. Ordinary load keeps the
// heap below it. At 128 MiB, 30 s of reads over 100,000 customers (the
// read cache full, a live heap of ~40 MB) took the process to 218 MB
// resident, 54 MB of it SQLite's; at 96 MiB (and the writer's page cache
// halved) to 155 MB, at the same CPU per request (docs/operations.md).
const memoryLimit = 96 << 20

// tuneGC applies gcPercent unless GOGC is set, and memoryLimit unless
// GOMEMLIMIT is set; it reports which it applied.
func tuneGC(getenv func(string) string) (percent, limit bool) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		percent = true
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
		limit = true
	}
	return percent, limit
}
