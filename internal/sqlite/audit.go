package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"customerd/internal/audit"
	"customerd/internal/batch"
	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// audit appends a batch of events to the audit trail in the
// transaction: the events with one statement, numbered after the last,
// and the (block, customer) pairs the index does not hold yet with
// another.
func (t *txn) audit(ctx context.Context, b *audit.Batch) error {
	base, err := t.q.AuditLastSeq(ctx)
	if err != nil {
		return err
	}
	if err := t.q.AuditAppend(ctx, sqlitedb.AuditAppendParams{Base: base, Events: string(b.JSON)}); err != nil {
		return err
	}
	if pairs := t.index.newPairs(base, b); pairs != "" {
		return t.q.AuditAppendCustomers(ctx, pairs)
	}
	return nil
}

// auditWrite notes the event of a write that ctx carried (see
// customer.WithAudit and customer.AuditOf), for customer id, when audited.
// The events of a transaction's writes are appended together, before its
// COMMIT (see flushAudit): one statement for the batch instead of three per
// write, and still in the write's transaction. A write rolled back to its
// savepoint takes its event with it (see writes.RollbackTo).
func (t *txn) auditWrite(ev customer.AuditEvent, audited bool, id int64) {
	if audited {
		ev.CustomerIDs = []int64{id}
		t.events = append(t.events, ev)
	}
}

// flushAudit appends the events of the transaction's writes.
func (t *txn) flushAudit(ctx context.Context) error {
	if len(t.events) == 0 {
		return nil
	}
	return t.audit(ctx, audit.Encode(t.events...))
}

// auditBlockShift is how audit_customers groups events into blocks:
// block = seq >> auditBlockShift, as in queries/audit.sql.
const auditBlockShift = 12

// auditPair says that customer id was touched by an event of block.
type auditPair struct{ block, id int64 }

// auditIndex spares audit_customers the pairs it already holds: those of
// the newest block that committed transactions wrote (a customer read
// again in the same block adds no row), and those of the running
// transaction. Only the batch actor's goroutine uses it.
type auditIndex struct {
	known   map[auditPair]struct{} // committed, of block
	block   int64
	pending map[auditPair]struct{} // the running transaction's
	json    []byte
}

// newPairs returns the pairs of b (its events numbered from base + 1)
// that are neither known nor pending, as a JSON array of [block, id], and
// makes them pending; "" when there is none.
func (x *auditIndex) newPairs(base int64, b *audit.Batch) string {
	if x.pending == nil {
		x.known, x.pending = map[auditPair]struct{}{}, map[auditPair]struct{}{}
	}
	x.json = append(x.json[:0], '[')
	ids := b.IDs
	for i, n := range b.Counts {
		block := (base + 1 + int64(i)) >> auditBlockShift
		for _, id := range ids[:n] {
			p := auditPair{block, id}
			if _, ok := x.known[p]; ok {
				continue
			}
			if _, ok := x.pending[p]; ok {
				continue
			}
			x.pending[p] = struct{}{}
			if len(x.json) > 1 {
				x.json = append(x.json, ',')
			}
			x.json = append(x.json, '[')
			x.json = strconv.AppendInt(x.json, block, 10)
			x.json = append(x.json, ',')
			x.json = strconv.AppendInt(x.json, id, 10)
			x.json = append(x.json, ']')
		}
		ids = ids[n:]
	}
	if len(x.json) == 1 {
		return ""
	}
	return string(append(x.json, ']'))
}

// committed makes the pending pairs of the newest block known.
func (x *auditIndex) committed() {
	if len(x.pending) == 0 {
		return
	}
	newest := x.block
	for p := range x.pending {
		newest = max(newest, p.block)
	}
	if newest > x.block {
		clear(x.known)
		x.block = newest
	}
	for p := range x.pending {
		if p.block == x.block {
			x.known[p] = struct{}{}
		}
	}
	clear(x.pending)
}

// rolledBack forgets the pending pairs: some may not be stored. (Pairs
// stored twice are ignored by the INSERT.)
func (x *auditIndex) rolledBack() { clear(x.pending) }

// storeAudit stores a batch of the recorder's events as one write.
func (s *Store) storeAudit(ctx context.Context, b *audit.Batch) error {
	return s.mapError(s.batch.Do(ctx, func(ctx context.Context, t *txn) error { return t.audit(ctx, b) }))
}

// RecordAudit queues ev for the next batch of the recorder.
func (s *Store) RecordAudit(ev customer.AuditEvent) { s.recorder.Record(ev) }

// ListAuditEvents returns the audit events q selects. Those of one
// customer are read block by block (see the audit_customers table), from
// the cursor's block on, until the page is full or the blocks run out.
func (s *Store) ListAuditEvents(ctx context.Context, q customer.AuditQuery) ([]customer.AuditEvent, error) {
	start, end := customer.AuditRange(q.Start, q.End)
	from, to := customer.FormatTime(start), customer.FormatTime(end)
	limit := int64(q.Limit)
	var rows []sqlitedb.AuditEvent
	var err error
	switch {
	case q.CustomerID != 0:
		rows, err = s.customerAuditEvents(ctx, q, from, to)
	case q.OldestFirst:
		rows, err = s.reads.ListAuditEventsAsc(ctx, sqlitedb.ListAuditEventsAscParams{
			AfterSeq: q.After, Principal: q.Principal, Procedure: q.Procedure, StartTime: from, EndTime: to, MaxEvents: limit})
	default:
		rows, err = s.reads.ListAuditEventsDesc(ctx, sqlitedb.ListAuditEventsDescParams{
			BeforeSeq: q.BeforeSeq(), Principal: q.Principal, Procedure: q.Procedure, StartTime: from, EndTime: to, MaxEvents: limit})
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

// customerAuditEvents reads the events of q.CustomerID block by block,
// from the cursor's on, in one read transaction: a look-up in
// audit_customers for each block, and a scan of the block's events where
// the customer appears.
func (s *Store) customerAuditEvents(ctx context.Context, q customer.AuditQuery, from, to string) ([]sqlitedb.AuditEvent, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	r := s.reads.WithTx(tx)
	blocks, err := r.AuditBlocks(ctx)
	if err != nil {
		return nil, err
	}
	first, last, step := max(blocks.FirstBlock, q.After>>auditBlockShift), blocks.LastBlock, int64(1)
	if !q.OldestFirst {
		first, last, step = blocks.LastBlock, blocks.FirstBlock, -1
		if q.After != 0 {
			first = min(first, q.After>>auditBlockShift)
		}
	}
	var out []sqlitedb.AuditEvent
	for b := first; (b-last)*step <= 0 && len(out) < q.Limit; b += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		has, err := r.AuditBlockHasCustomer(ctx, sqlitedb.AuditBlockHasCustomerParams{Block: b, CustomerID: q.CustomerID})
		if err != nil {
			return nil, err
		}
		if !has {
			continue
		}
		var rows []sqlitedb.AuditEvent
		if q.OldestFirst {
			rows, err = r.ListCustomerAuditEventsAsc(ctx, sqlitedb.ListCustomerAuditEventsAscParams{
				Block: b, CustomerID: q.CustomerID, AfterSeq: q.After, Principal: q.Principal, Procedure: q.Procedure,
				StartTime: from, EndTime: to, MaxEvents: int64(q.Limit - len(out))})
		} else {
			rows, err = r.ListCustomerAuditEventsDesc(ctx, sqlitedb.ListCustomerAuditEventsDescParams{
				Block: b, CustomerID: q.CustomerID, BeforeSeq: q.BeforeSeq(), Principal: q.Principal, Procedure: q.Procedure,
				StartTime: from, EndTime: to, MaxEvents: int64(q.Limit - len(out))})
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// oldAuditEvents deletes the audit events older than the retention.
func (s *Store) oldAuditEvents() batch.Sweep {
	return batch.NewSweep(s.batch, "old audit events", func(ctx context.Context, t *txn) (int64, error) {
		n, err := t.q.DeleteOldAuditEvents(ctx, sqlitedb.DeleteOldAuditEventsParams{
			Before: customer.FormatTime(time.Now().Add(-s.auditRetention)), Batch: batch.SweepRows})
		if err == nil && n > 0 {
			err = t.q.DeleteOldAuditCustomers(ctx)
		}
		return n, err
	})
}
