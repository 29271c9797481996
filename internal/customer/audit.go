package customer

import (
	"context"
	"time"
)

// AuditEvent is one call that read or changed customers, as the audit
// trail keeps it: who, what, which customers and how it ended, never a
// personal value.
type AuditEvent struct {
	Seq         int64 // orders the trail; set by the store
	Time        time.Time
	Principal   string // the API key's name, or "local"
	Procedure   string // the RPC, such as "GetCustomer"
	CustomerIDs []int64
	Code        string // "ok" or a Connect code name
	RequestID   string // a create's request_id, if any
}

// AuditQuery selects audit events: those passing every filter set, after
// (oldest first) or before (newest first) the cursor seq After (0: from the
// start), Limit at most.
type AuditQuery struct {
	CustomerID  int64 // 0: any
	Principal   string
	Procedure   string
	Start, End  time.Time // zero: unbounded
	OldestFirst bool
	After       int64
	Limit       int
}

// BeforeSeq is the cursor of a newest-first page as the engines' queries
// take it: the events before it; After's 0 (the first page) means from
// the newest.
func (q AuditQuery) BeforeSeq() int64 {
	if q.After == 0 {
		return 1<<63 - 1
	}
	return q.After
}

// AuditLog keeps the audit trail. It is part of what a storage engine
// provides beside Store. A write that a context from WithAudit reaches
// records its own event, in its own transaction, when it succeeds.
type AuditLog interface {
	// RecordAudit queues ev to be stored soon, with others, in one
	// transaction: for reads and failed writes. The events queued before
	// Close are stored by Close. It never blocks.
	RecordAudit(ev AuditEvent)
	// ListAuditEvents returns the events q selects.
	ListAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}

type auditKey struct{}

// WithAudit returns ctx carrying ev (its principal, procedure and request
// id), the event a successful write made with ctx records with itself.
func WithAudit(ctx context.Context, ev AuditEvent) context.Context {
	return context.WithValue(ctx, auditKey{}, &ev)
}

// AuditOf returns the event WithAudit put on ctx, with the time now and
// the code "ok" of a write that succeeds (the write sets CustomerIDs); ok
// is false when there is none.
func AuditOf(ctx context.Context) (ev AuditEvent, ok bool) {
	p, ok := ctx.Value(auditKey{}).(*AuditEvent)
	if !ok {
		return AuditEvent{}, false
	}
	ev = *p
	ev.Time = time.Now()
	ev.Code = "ok"
	return ev, true
}

// AuditRange returns the bounds of a time filter, the zero times replaced
// by the first and the last times there are.
func AuditRange(start, end time.Time) (time.Time, time.Time) {
	if start.IsZero() {
		start = time.Unix(0, 0)
	}
	if end.IsZero() {
		end = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	}
	return start, end
}
