package store

import (
	"customerd/internal/metrics"
	"customerd/internal/writer"
)

// Gauges are the store's figures for /metrics: the writer's queue, batches
// and commit time, and the size of the database.
func (s *Store) Gauges() []metrics.Gauge {
	ws := func(f func(writer.Stats) float64) func() float64 {
		return func() float64 { return f(s.WriterStats()) }
	}
	return []metrics.Gauge{
		{Name: "customerd_writer_queue_depth", Help: "Writes waiting for the writer.", Type: "gauge",
			Value: func() float64 { return float64(s.WriterQueue()) }},
		{Name: "customerd_writer_batches_total", Help: "Write transactions run.", Type: "counter",
			Value: ws(func(s writer.Stats) float64 { return float64(s.Batches) })},
		{Name: "customerd_writer_writes_total", Help: "Writes answered by the writer.", Type: "counter",
			Value: ws(func(s writer.Stats) float64 { return float64(s.Writes) })},
		{Name: "customerd_writer_batch_size_max", Help: "The largest write batch so far.", Type: "gauge",
			Value: ws(func(s writer.Stats) float64 { return float64(s.MaxBatch) })},
		{Name: "customerd_writer_reruns_total", Help: "Batches run again with a savepoint per write because a write failed.", Type: "counter",
			Value: ws(func(s writer.Stats) float64 { return float64(s.Reruns) })},
		{Name: "customerd_writer_commits_total", Help: "COMMITs run by the writer.", Type: "counter",
			Value: ws(func(s writer.Stats) float64 { return float64(s.Commits) })},
		{Name: "customerd_writer_commit_seconds_total", Help: "Time spent in COMMIT (mostly fsync).", Type: "counter",
			Value: ws(func(s writer.Stats) float64 { return s.CommitTime.Seconds() })},
		{Name: "customerd_writer_wait_seconds_total", Help: "Time writes waited in the queue.", Type: "counter",
			Value: ws(func(s writer.Stats) float64 { return s.TotalWait.Seconds() })},
		{Name: "customerd_database_size_bytes", Help: "Bytes of the database file and its WAL.", Type: "gauge",
			Value: func() float64 { return float64(s.Size()) }},
	}
}
