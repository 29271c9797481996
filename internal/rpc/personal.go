package rpc

import (
	"context"
	"errors"
	"slices"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/internal/customer"
)

// maxExportAuditEvents is how many audit events ExportCustomerData returns
// at most: the newest.
const maxExportAuditEvents = 10_000

// unimplementedPersonal is the error of the personal-data calls on a
// server that was given no store for them.
var unimplementedPersonal = connect.NewError(connect.CodeUnimplemented, errors.New("this server does not serve personal-data requests"))

func (s *service) ExportCustomerData(ctx context.Context, req *customerv1.ExportCustomerDataRequest) (*customerv1.ExportCustomerDataResponse, error) {
	if s.personal == nil || s.audit == nil {
		return nil, unimplementedPersonal
	}
	res, err := s.export(ctx, req.GetId())
	if err != nil {
		err = toConnect(s.log, err)
	}
	// An export hands out everything about a person: it is recorded even
	// when reads are not.
	s.audit.RecordAudit(customer.AuditEvent{Time: time.Now(), Principal: principalOf(ctx), Procedure: procExport, CustomerIDs: []int64{req.GetId()}, Code: codeName(err)})
	return res, err
}

// export gathers what ExportCustomerData returns; its errors are the
// store's.
func (s *service) export(ctx context.Context, id int64) (*customerv1.ExportCustomerDataResponse, error) {
	res := &customerv1.ExportCustomerDataResponse{}
	c, err := s.store.GetCustomer(ctx, id)
	switch {
	case err == nil:
		res.Customer = toProto(c)
	case customer.ErrorCode(err) != customer.NotFound:
		return nil, err
	}
	changes, err := s.personal.CustomerChanges(ctx, id)
	if err != nil {
		return nil, err
	}
	res.Changes = make([]*customerv1.ChangeEvent, len(changes))
	for i, ev := range toEvents(changes) {
		res.Changes[i] = ev.msg
	}
	events, err := s.audit.ListAuditEvents(ctx, customer.AuditQuery{CustomerID: id, Limit: maxExportAuditEvents + 1})
	if err != nil {
		return nil, err
	}
	if len(events) > maxExportAuditEvents {
		events, res.AuditEventsTruncated = events[:maxExportAuditEvents], true
	}
	slices.Reverse(events) // oldest first
	res.AuditEvents = make([]*customerv1.AuditEvent, len(events))
	for i, ev := range events {
		res.AuditEvents[i] = auditToProto(ev)
	}
	if res.Customer == nil && len(res.Changes) == 0 && len(res.AuditEvents) == 0 {
		return nil, customer.ErrNotFound
	}
	return res, nil
}

func (s *service) EraseCustomer(ctx context.Context, req *customerv1.EraseCustomerRequest) (*customerv1.EraseCustomerResponse, error) {
	if s.personal == nil || s.audit == nil {
		return nil, unimplementedPersonal
	}
	etag, err := ifMatch(ctx, req.GetEtag())
	if err == nil {
		err = s.personal.EraseCustomer(s.writeAudit(ctx, procErase, ""), req.GetId(), etag)
	}
	if err != nil {
		err = toConnect(s.log, err)
		s.failedWrite(ctx, procErase, "", req.GetId(), err)
		return nil, err
	}
	if s.fanout != nil {
		s.fanout.erase(req.GetId())
	}
	if s.erased != nil {
		if err := s.erased(req.GetId()); err != nil {
			// The erasure happened; only a restore of an older backup
			// would bring the customer back without the log's entry.
			s.log.Error("the erasure could not be written to the erasure log: note the id by hand", "id", req.GetId(), "err", err)
		}
	}
	return &customerv1.EraseCustomerResponse{}, nil
}
