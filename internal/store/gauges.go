package store

import "customerd/internal/metrics"

// Gauges are the store's figures for /metrics: the writer's queue, batches
// and commit time, and the size of the database.
func (s *Store) Gauges() []metrics.Gauge {
	return metrics.StoreGauges(func() metrics.Writes {
		ws := s.writer.Stats()
		return metrics.Writes{
			Queue: s.writer.QueueLen(), Batches: ws.Batches, Writes: ws.Writes, MaxBatch: ws.MaxBatch,
			Reruns: ws.Reruns, Commits: ws.Commits, CommitTime: ws.CommitTime, Wait: ws.TotalWait,
		}
	}, s.Size, "Bytes of the database file and its WAL.")
}
