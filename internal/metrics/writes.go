package metrics

import "time"

// Writes are the figures of a storage engine's write path: the group
// commit of writes waiting in a queue.
type Writes struct {
	Queue      int           // writes waiting now
	Batches    int64         // write transactions run
	Writes     int64         // writes answered
	MaxBatch   int           // the largest batch
	Reruns     int64         // batches run again, a savepoint per write, after a write failed
	Commits    int64         // COMMITs that returned
	CommitTime time.Duration // time in COMMIT, summed
	Wait       time.Duration // time writes waited in the queue, summed
}

// StoreGauges are the gauges every storage engine serves, under the same
// names: its write path, read from writes at each scrape, and the size of
// its database in bytes, read from size (whose meaning sizeHelp gives).
func StoreGauges(writes func() Writes, size func() int64, sizeHelp string) []Gauge {
	w := func(f func(Writes) float64) func() float64 {
		return func() float64 { return f(writes()) }
	}
	return []Gauge{
		{Name: "customerd_writer_queue_depth", Help: "Writes waiting for the writer.", Type: "gauge",
			Value: w(func(s Writes) float64 { return float64(s.Queue) })},
		{Name: "customerd_writer_batches_total", Help: "Write transactions run.", Type: "counter",
			Value: w(func(s Writes) float64 { return float64(s.Batches) })},
		{Name: "customerd_writer_writes_total", Help: "Writes answered by the writer.", Type: "counter",
			Value: w(func(s Writes) float64 { return float64(s.Writes) })},
		{Name: "customerd_writer_batch_size_max", Help: "The largest write batch so far.", Type: "gauge",
			Value: w(func(s Writes) float64 { return float64(s.MaxBatch) })},
		{Name: "customerd_writer_reruns_total", Help: "Batches run again with a savepoint per write because a write failed.", Type: "counter",
			Value: w(func(s Writes) float64 { return float64(s.Reruns) })},
		{Name: "customerd_writer_commits_total", Help: "COMMITs run by the writer.", Type: "counter",
			Value: w(func(s Writes) float64 { return float64(s.Commits) })},
		{Name: "customerd_writer_commit_seconds_total", Help: "Time spent in COMMIT.", Type: "counter",
			Value: w(func(s Writes) float64 { return s.CommitTime.Seconds() })},
		{Name: "customerd_writer_wait_seconds_total", Help: "Time writes waited in the queue.", Type: "counter",
			Value: w(func(s Writes) float64 { return s.Wait.Seconds() })},
		{Name: "customerd_database_size_bytes", Help: sizeHelp, Type: "gauge",
			Value: func() float64 { return float64(size()) }},
	}
}
