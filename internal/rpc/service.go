package rpc

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/customer"
	"customerd/internal/pagetoken"
)

// Page sizes of ListCustomers.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// service implements customerv1connect.CustomerServiceHandler on a
// customer.Store. Every error it returns is a *connect.Error.
type service struct {
	store    customer.Store
	feed     customer.ChangeFeed // nil: WatchCustomers is unimplemented
	fanout   *fanout             // reads feed for every watcher
	draining func() bool
	log      *slog.Logger
	// audit keeps the audit trail; nil keeps none. auditReads records
	// reads too, not only writes.
	audit      customer.AuditLog
	auditReads bool
	// personal serves ExportCustomerData and EraseCustomer; nil leaves
	// them unimplemented.
	personal customer.PersonalData
	erased   func(id int64) error // see Options.Erased
}

var _ customerv1connect.CustomerServiceHandler = (*service)(nil)

func (s *service) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	c := req.GetCustomer()
	n := customer.New{Name: c.GetName(), Email: c.GetEmail(), Phone: c.Phone, Address: c.Address, RequestID: req.GetRequestId()}
	n.Trim()
	created, err := s.store.CreateCustomer(s.writeAudit(ctx, procCreate, n.RequestID), n)
	if err != nil {
		err = toConnect(s.log, err)
		s.failedWrite(ctx, procCreate, n.RequestID, 0, err)
		return nil, err
	}
	return &customerv1.CreateCustomerResponse{Customer: toProto(created)}, nil
}

func (s *service) GetCustomer(ctx context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	c, err := s.store.GetCustomer(ctx, req.GetId())
	if err != nil {
		err = toConnect(s.log, err)
		s.read(ctx, procGet, []int64{req.GetId()}, err)
		return nil, err
	}
	s.read(ctx, procGet, []int64{c.ID}, nil)
	// A Connect GET is an ordinary HTTP GET that browsers and caches may
	// revalidate: answer with the etag, and 304 when the client has it.
	if call, ok := connect.CallInfoForHandlerContext(ctx); ok && call.HTTPMethod() == http.MethodGet {
		tag := etagHeader(c.Etag)
		h := http.Header{}
		h.Set("ETag", tag)
		h.Set("Cache-Control", "private, no-cache") // personal data; revalidate every time
		if matchesIfNoneMatch(call.RequestHeader().Values("If-None-Match"), tag) {
			return nil, connect.NewNotModifiedError(h)
		}
		for k, v := range h {
			call.ResponseHeader()[k] = v
		}
	}
	return &customerv1.GetCustomerResponse{Customer: toProto(c)}, nil
}

func (s *service) UpdateCustomer(ctx context.Context, req *customerv1.UpdateCustomerRequest) (*customerv1.UpdateCustomerResponse, error) {
	u := toUpdate(req)
	u.Trim()
	var err error
	if u.Etag, err = ifMatch(ctx, u.Etag); err != nil {
		err = toConnect(s.log, err)
		s.failedWrite(ctx, procUpdate, "", u.ID, err)
		return nil, err
	}
	c, err := s.store.UpdateCustomer(s.writeAudit(ctx, procUpdate, ""), u)
	if err != nil {
		err = toConnect(s.log, err)
		s.failedWrite(ctx, procUpdate, "", u.ID, err)
		return nil, err
	}
	return &customerv1.UpdateCustomerResponse{Customer: toProto(c)}, nil
}

func (s *service) DeleteCustomer(ctx context.Context, req *customerv1.DeleteCustomerRequest) (*customerv1.DeleteCustomerResponse, error) {
	etag, err := ifMatch(ctx, req.GetEtag())
	if err == nil {
		err = s.store.DeleteCustomer(s.writeAudit(ctx, procDelete, ""), req.GetId(), etag)
	}
	if err != nil {
		err = toConnect(s.log, err)
		s.failedWrite(ctx, procDelete, "", req.GetId(), err)
		return nil, err
	}
	return &customerv1.DeleteCustomerResponse{}, nil
}

func (s *service) ListCustomers(ctx context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	res, err := s.listCustomers(ctx, req)
	if err != nil {
		err = toConnect(s.log, err)
		s.read(ctx, procList, nil, err)
		return nil, err
	}
	if s.audit != nil && s.auditReads {
		ids := make([]int64, len(res.Customers))
		for i, c := range res.Customers {
			ids[i] = c.Id
		}
		s.read(ctx, procList, ids, nil)
	}
	return res, nil
}

// listCustomers answers ListCustomers; its errors are the store's.
func (s *service) listCustomers(ctx context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	p, err := toListParams(req)
	if err != nil {
		return nil, err
	}
	// One extra row tells whether another page follows, so the last page
	// comes with an empty token instead of leading to an empty page.
	size := p.Limit
	p.Limit++
	rows, err := s.store.ListCustomers(ctx, p)
	if err != nil {
		return nil, err
	}
	res := &customerv1.ListCustomersResponse{}
	if len(rows) > size {
		rows = rows[:size]
		cur := p.Order.CursorOf(rows[size-1])
		res.NextPageToken = pagetoken.Encode(pagetoken.Token{
			Fingerprint: listFingerprint(p), Value: cur.Value, ID: cur.ID,
		})
	}
	res.Customers = make([]*customerv1.Customer, len(rows))
	for i, c := range rows {
		res.Customers[i] = toProto(c)
	}
	if req.GetIncludeTotal() {
		n, err := s.store.CountCustomers(ctx, p)
		if err != nil {
			return nil, err
		}
		res.TotalSize = int32(min(n, math.MaxInt32))
	}
	return res, nil
}

// toListParams turns a validated ListCustomers request into
// customer.ListParams, with Limit the page size to return. It checks what
// only the server can: the page token.
func toListParams(req *customerv1.ListCustomersRequest) (customer.ListParams, error) {
	var p customer.ListParams
	if size := int(req.GetPageSize()); size <= 0 {
		p.Limit = DefaultPageSize
	} else {
		p.Limit = min(size, MaxPageSize)
	}
	order, err := customer.ParseOrder(req.GetOrderBy(), "order_by")
	if err != nil {
		return p, err
	}
	p.Order = order
	if p.Query, err = customer.NormalizeQuery(req.GetQuery(), "query"); err != nil {
		return p, err
	}
	if ua := req.GetUpdatedAfter(); ua != nil {
		if err := ua.CheckValid(); err != nil {
			return p, customer.InvalidField("updated_after", "must be a valid timestamp")
		}
		p.UpdatedAfter = ua.AsTime()
	}
	if t := req.GetPageToken(); t != "" {
		tok, err := pagetoken.Decode(t)
		if err != nil {
			return p, customer.InvalidField("page_token", "is not a token from a previous response")
		}
		if tok.Fingerprint != listFingerprint(p) {
			return p, customer.InvalidField("page_token", "belongs to a request with another query, order_by or updated_after")
		}
		p.After = &customer.Cursor{Value: tok.Value, ID: tok.ID}
	}
	return p, nil
}

// listFingerprint identifies what a page token is bound to: the order and
// the filters, not the page size (which may change between pages).
func listFingerprint(p customer.ListParams) uint64 {
	var ua string
	if !p.UpdatedAfter.IsZero() {
		ua = p.UpdatedAfter.UTC().Format(time.RFC3339Nano)
	}
	return pagetoken.Fingerprint(p.Order.String(), p.Query, ua)
}
