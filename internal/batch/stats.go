package batch

import (
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"time"

	"customerd/internal/metrics"
)

// Stats describe the work of an Actor since it started.
type Stats struct {
	Batches   int64         // transactions run (batches with a write still live)
	Writes    int64         // writes answered, run or expired
	MaxBatch  int           // the largest batch
	MaxQueue  int           // the most writes seen waiting after a batch
	TotalWait time.Duration // time writes spent in the queue, summed
	Commits   int64         // COMMITs that returned (successfully or not)
	// Reruns counts batches run a second time, with a savepoint per
	// write, because a write failed in the first run.
	Reruns int64
	// CommitTime is the time COMMITs took, summed: with synchronous=FULL,
	// mostly the fsync of the WAL.
	CommitTime time.Duration
	// SizeHistogram counts batches by size: bucket i holds the batches of
	// 2^i to 2^(i+1)-1 writes (1, 2-3, 4-7, ...).
	SizeHistogram [9]int64
}

// MeanBatch is the average number of writes per transaction.
func (s Stats) MeanBatch() float64 {
	if s.Batches == 0 {
		return 0
	}
	return float64(s.Writes) / float64(s.Batches)
}

// MeanCommit returns the mean time a COMMIT took, 0 before the first.
func (s Stats) MeanCommit() time.Duration {
	if s.Commits == 0 {
		return 0
	}
	return s.CommitTime / time.Duration(s.Commits)
}

// MeanWait is the average time a write waited for its turn.
func (s Stats) MeanWait() time.Duration {
	if s.Writes == 0 {
		return 0
	}
	return s.TotalWait / time.Duration(s.Writes)
}

type stats[T any] struct {
	mu sync.Mutex
	s  Stats
}

func (st *stats[T]) record(batch []request[T], live int, start time.Time, queue int, commit time.Duration, reruns int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Reruns += int64(reruns)
	if commit > 0 {
		st.s.Commits++
		st.s.CommitTime += commit
	}
	if live > 0 {
		st.s.Batches++ // a batch whose writes had all expired ran no transaction
	}
	st.s.Writes += int64(len(batch))
	st.s.MaxBatch = max(st.s.MaxBatch, len(batch))
	st.s.MaxQueue = max(st.s.MaxQueue, queue)
	for _, r := range batch {
		st.s.TotalWait += start.Sub(r.enqueued)
	}
	b := bits.Len(uint(len(batch))) - 1
	st.s.SizeHistogram[min(b, len(st.s.SizeHistogram)-1)]++
}

// Stats returns a snapshot of the actor's statistics.
func (a *Actor[T]) Stats() Stats {
	a.stats.mu.Lock()
	defer a.stats.mu.Unlock()
	return a.stats.s
}

// Gauges are the figures every engine serves on /metrics under the same
// names: this actor's queue, batches and commits, and the size of the
// database in bytes, read from size (whose meaning sizeHelp gives).
func (a *Actor[T]) Gauges(size func() int64, sizeHelp string) []metrics.Gauge {
	return metrics.StoreGauges(func() metrics.Writes {
		s := a.Stats()
		return metrics.Writes{
			Queue: a.QueueLen(), Batches: s.Batches, Writes: s.Writes, MaxBatch: s.MaxBatch,
			Reruns: s.Reruns, Commits: s.Commits, CommitTime: s.CommitTime, Wait: s.TotalWait,
		}
	}, size, sizeHelp)
}

// HistogramString renders SizeHistogram compactly, e.g. "1:12 2-3:40 4-7:9",
// leaving out empty buckets.
func (s Stats) HistogramString() string {
	var b strings.Builder
	for i, n := range s.SizeHistogram {
		if n == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		lo, hi := 1<<i, 1<<(i+1)-1
		switch {
		case i == len(s.SizeHistogram)-1:
			fmt.Fprintf(&b, "%d+:%d", lo, n)
		case lo == hi:
			fmt.Fprintf(&b, "%d:%d", lo, n)
		default:
			fmt.Fprintf(&b, "%d-%d:%d", lo, hi, n)
		}
	}
	return b.String()
}
