package sqlite

import (
	"context"
	"time"

	"customerd/internal/audit"
	"customerd/internal/batch"
	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// audit appends a JSON array of encoded events (see audit.Append) to the
// audit trail in the transaction: three statements, however many events.
func (t *txn) audit(ctx context.Context, events []byte) error {
	base, err := t.q.AuditLastSeq(ctx)
	if err != nil {
		return err
	}
	s := string(events)
	if err := t.q.AuditAppend(ctx, sqlitedb.AuditAppendParams{Base: base, Events: s}); err != nil {
		return err
	}
	return t.q.AuditAppendCustomers(ctx, sqlitedb.AuditAppendCustomersParams{Base: base, Events: s})
}

// auditWrite records the event of a write that ctx carries (see
// customer.WithAudit), for customer id, in the write's transaction.
func (t *txn) auditWrite(ctx context.Context, ev customer.AuditEvent, audited bool, id int64) error {
	if !audited {
		return nil
	}
	ev.CustomerIDs = []int64{id}
	return t.audit(ctx, audit.Encode(ev))
}

// storeAudit stores a batch of the recorder's events as one write.
func (s *Store) storeAudit(ctx context.Context, events []byte) error {
	return s.mapError(s.batch.Do(ctx, func(ctx context.Context, t *txn) error { return t.audit(ctx, events) }))
}

// RecordAudit queues ev for the next batch of the recorder.
func (s *Store) RecordAudit(ev customer.AuditEvent) { s.recorder.Record(ev) }

// ListAuditEvents returns the audit events q selects.
func (s *Store) ListAuditEvents(ctx context.Context, q customer.AuditQuery) ([]customer.AuditEvent, error) {
	start, end := customer.AuditRange(q.Start, q.End)
	from, to := customer.FormatTime(start), customer.FormatTime(end)
	limit := int64(q.Limit)
	var rows []sqlitedb.AuditEvent
	var err error
	switch {
	case q.CustomerID != 0 && q.OldestFirst:
		rows, err = s.reads.ListCustomerAuditEventsAsc(ctx, sqlitedb.ListCustomerAuditEventsAscParams{
			CustomerID: q.CustomerID, AfterSeq: q.After, Principal: q.Principal, Procedure: q.Procedure, StartTime: from, EndTime: to, MaxEvents: limit})
	case q.CustomerID != 0:
		rows, err = s.reads.ListCustomerAuditEventsDesc(ctx, sqlitedb.ListCustomerAuditEventsDescParams{
			CustomerID: q.CustomerID, BeforeSeq: beforeSeq(q.After), Principal: q.Principal, Procedure: q.Procedure, StartTime: from, EndTime: to, MaxEvents: limit})
	case q.OldestFirst:
		rows, err = s.reads.ListAuditEventsAsc(ctx, sqlitedb.ListAuditEventsAscParams{
			AfterSeq: q.After, Principal: q.Principal, Procedure: q.Procedure, StartTime: from, EndTime: to, MaxEvents: limit})
	default:
		rows, err = s.reads.ListAuditEventsDesc(ctx, sqlitedb.ListAuditEventsDescParams{
			BeforeSeq: beforeSeq(q.After), Principal: q.Principal, Procedure: q.Procedure, StartTime: from, EndTime: to, MaxEvents: limit})
	}
	if err != nil {
		return nil, s.mapError(err)
	}
	out := make([]customer.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = customer.AuditEvent{
			Seq: r.Seq, Time: r.At.UTC(), Principal: r.Principal, Procedure: r.Procedure,
			Code: r.Code, RequestID: r.RequestID, CustomerIDs: audit.ParseIDs(r.CustomerIds),
		}
	}
	return out, nil
}

// beforeSeq is the cursor of a newest-first page: 0 means from the end.
func beforeSeq(after int64) int64 {
	if after == 0 {
		return 1<<63 - 1
	}
	return after
}

// oldAuditEvents deletes the audit events older than the retention.
func (s *Store) oldAuditEvents() batch.Sweep {
	return batch.NewSweep(s.batch, "old audit events", func(ctx context.Context, t *txn) (int64, error) {
		n, err := t.q.DeleteOldAuditEvents(ctx, sqlitedb.DeleteOldAuditEventsParams{
			Before: customer.FormatTime(time.Now().Add(-s.auditRetention)), Batch: batch.SweepRows})
		if err == nil && n > 0 {
			err = t.q.DeleteOrphanAuditCustomers(ctx)
		}
		return n, err
	})
}
