package postgres

import (
	"context"
	"time"

	"customerd/internal/audit"
	"customerd/internal/batch"
	"customerd/internal/customer"
	"customerd/internal/pgdb"
)

// closeFlushTimeout bounds the storing of the last audit events on Close.
const closeFlushTimeout = 10 * time.Second

// auditWrite records the event of a write that ctx carries (see
// customer.WithAudit), for customer id, in the write's transaction.
func (t *txn) auditWrite(ctx context.Context, ev customer.AuditEvent, audited bool, id int64) error {
	if !audited {
		return nil
	}
	ev.CustomerIDs = []int64{id}
	return t.q.AuditAppend(ctx, audit.Encode(ev).JSON)
}

// storeAudit stores a batch of the recorder's events as one write.
func (s *Store) storeAudit(ctx context.Context, b *audit.Batch) error {
	return s.mapError(s.batch.Do(ctx, func(ctx context.Context, t *txn) error { return t.q.AuditAppend(ctx, b.JSON) }))
}

// RecordAudit queues ev for the next batch of the recorder.
func (s *Store) RecordAudit(ev customer.AuditEvent) { s.recorder.Record(ev) }

// ListAuditEvents returns the audit events q selects.
func (s *Store) ListAuditEvents(ctx context.Context, q customer.AuditQuery) ([]customer.AuditEvent, error) {
	if s.closing.Load() {
		return nil, customer.ErrShuttingDown
	}
	start, end := customer.AuditRange(q.Start, q.End)
	limit := int32(q.Limit)
	var rows []pgdb.AuditEvent
	var err error
	if q.OldestFirst {
		rows, err = s.reads.ListAuditEventsAsc(ctx, pgdb.ListAuditEventsAscParams{
			AfterSeq: q.After, CustomerID: q.CustomerID, Principal: q.Principal, Procedure: q.Procedure, StartTime: start, EndTime: end, MaxEvents: limit})
	} else {
		rows, err = s.reads.ListAuditEventsDesc(ctx, pgdb.ListAuditEventsDescParams{
			BeforeSeq: q.BeforeSeq(), CustomerID: q.CustomerID, Principal: q.Principal, Procedure: q.Procedure, StartTime: start, EndTime: end, MaxEvents: limit})
	}
	if err != nil {
		return nil, s.mapError(err)
	}
	out := make([]customer.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = customer.AuditEvent{
			Seq: r.Seq, Time: r.At.UTC(), Principal: r.Principal, Procedure: r.Procedure,
			Code: r.Code, RequestID: r.RequestID, CustomerIDs: r.CustomerIds,
		}
	}
	return out, nil
}

// oldAuditEvents deletes the audit events older than the retention.
func (s *Store) oldAuditEvents() batch.Sweep {
	return batch.NewSweep(s.batch, "old audit events", func(ctx context.Context, t *txn) (int64, error) {
		return t.q.DeleteOldAuditEvents(ctx, pgdb.DeleteOldAuditEventsParams{
			Before: time.Now().Add(-s.auditRetention), Batch: batch.SweepRows})
	})
}
