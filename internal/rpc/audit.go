package rpc

import (
	"context"
	"errors"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/internal/customer"
	"customerd/internal/pagetoken"
)

// The procedures as the audit trail names them.
const (
	procCreate = "CreateCustomer"
	procGet    = "GetCustomer"
	procUpdate = "UpdateCustomer"
	procDelete = "DeleteCustomer"
	procList   = "ListCustomers"
	procExport = "ExportCustomerData"
	procErase  = "EraseCustomer"
)

// Page sizes of ListAuditEvents.
const (
	DefaultAuditPageSize = 50
	MaxAuditPageSize     = 1000
)

// codeName is how the audit trail names the outcome of a call that
// answered err (a *connect.Error or nil).
func codeName(err error) string {
	if err == nil || connect.IsNotModifiedError(err) {
		return "ok"
	}
	return connect.CodeOf(err).String()
}

// writeAudit returns ctx carrying the audit event of a write of procedure,
// which the store records in the write's own transaction when it succeeds.
func (s *service) writeAudit(ctx context.Context, procedure, requestID string) context.Context {
	if s.audit == nil {
		return ctx
	}
	return customer.WithAudit(ctx, customer.AuditEvent{Principal: principalOf(ctx), Procedure: procedure, RequestID: requestID})
}

// failedWrite records the event of a write that failed with err (a
// *connect.Error), outside its rolled-back transaction.
func (s *service) failedWrite(ctx context.Context, procedure, requestID string, id int64, err error) {
	if s.audit == nil {
		return
	}
	var ids []int64
	if id != 0 {
		ids = []int64{id}
	}
	s.audit.RecordAudit(customer.AuditEvent{
		Time: time.Now(), Principal: principalOf(ctx), Procedure: procedure, CustomerIDs: ids, Code: codeName(err), RequestID: requestID,
	})
}

// read records the event of a read of procedure that touched ids and
// answered err, unless read auditing is off.
func (s *service) read(ctx context.Context, procedure string, ids []int64, err error) {
	if s.audit == nil || !s.auditReads {
		return
	}
	s.audit.RecordAudit(customer.AuditEvent{Time: time.Now(), Principal: principalOf(ctx), Procedure: procedure, CustomerIDs: ids, Code: codeName(err)})
}

func (s *service) ListAuditEvents(ctx context.Context, req *customerv1.ListAuditEventsRequest) (*customerv1.ListAuditEventsResponse, error) {
	if s.audit == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("this server keeps no audit trail"))
	}
	q := customer.AuditQuery{
		CustomerID: req.GetCustomerId(), Principal: req.GetPrincipal(), Procedure: req.GetProcedure(), OldestFirst: req.GetOldestFirst(),
	}
	for _, f := range []struct {
		ts   *timestamppb.Timestamp
		to   *time.Time
		name string
	}{{req.GetStartTime(), &q.Start, "start_time"}, {req.GetEndTime(), &q.End, "end_time"}} {
		if f.ts == nil {
			continue
		}
		if err := f.ts.CheckValid(); err != nil {
			return nil, toConnect(s.log, customer.InvalidField(f.name, "must be a valid timestamp"))
		}
		*f.to = f.ts.AsTime()
	}
	size := DefaultAuditPageSize
	if n := int(req.GetPageSize()); n > 0 {
		size = min(n, MaxAuditPageSize)
	}
	fingerprint := pagetoken.Fingerprint("audit", strconv.FormatInt(q.CustomerID, 10), q.Principal, q.Procedure,
		q.Start.UTC().Format(time.RFC3339Nano), q.End.UTC().Format(time.RFC3339Nano), strconv.FormatBool(q.OldestFirst))
	if t := req.GetPageToken(); t != "" {
		tok, err := pagetoken.Decode(t)
		if err != nil {
			return nil, toConnect(s.log, customer.InvalidField("page_token", "is not a token from a previous response"))
		}
		if tok.Fingerprint != fingerprint {
			return nil, toConnect(s.log, customer.InvalidField("page_token", "belongs to a request with other filters or order"))
		}
		q.After = tok.ID
	}
	q.Limit = size + 1
	events, err := s.audit.ListAuditEvents(ctx, q)
	if err != nil {
		return nil, toConnect(s.log, err)
	}
	res := &customerv1.ListAuditEventsResponse{}
	if len(events) > size {
		events = events[:size]
		res.NextPageToken = pagetoken.Encode(pagetoken.Token{Fingerprint: fingerprint, ID: events[size-1].Seq})
	}
	res.AuditEvents = make([]*customerv1.AuditEvent, len(events))
	for i, ev := range events {
		res.AuditEvents[i] = auditToProto(ev)
	}
	return res, nil
}

// auditToProto returns ev as the API shows it.
func auditToProto(ev customer.AuditEvent) *customerv1.AuditEvent {
	return &customerv1.AuditEvent{
		Time: timestamppb.New(ev.Time), Principal: ev.Principal, Procedure: ev.Procedure,
		CustomerIds: ev.CustomerIDs, Code: ev.Code, RequestId: ev.RequestID,
	}
}
