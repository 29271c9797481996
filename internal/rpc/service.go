package rpc

import (
	"context"
	"log/slog"

	"customerd/internal/customer"
	customerv1 "customerd/internal/gen/customer/v1"
	"customerd/internal/gen/customer/v1/customerv1connect"
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
	store customer.Store
	log   *slog.Logger
}

var _ customerv1connect.CustomerServiceHandler = (*service)(nil)

func (s *service) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	c := req.GetCustomer()
	if c == nil {
		return nil, toConnect(s.log, invalid("customer", "is required"))
	}
	n := customer.New{Name: c.GetName(), Email: c.GetEmail(), Phone: c.Phone, Address: c.Address}
	if err := n.Normalize("customer."); err != nil {
		return nil, toConnect(s.log, err)
	}
	created, err := s.store.CreateCustomer(ctx, n)
	if err != nil {
		return nil, toConnect(s.log, err)
	}
	return &customerv1.CreateCustomerResponse{Customer: toProto(created)}, nil
}

func (s *service) GetCustomer(ctx context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	if req.GetId() <= 0 {
		return nil, toConnect(s.log, invalid("id", "must be a positive customer id"))
	}
	c, err := s.store.GetCustomer(ctx, req.GetId())
	if err != nil {
		return nil, toConnect(s.log, err)
	}
	return &customerv1.GetCustomerResponse{Customer: toProto(c)}, nil
}

func (s *service) UpdateCustomer(ctx context.Context, req *customerv1.UpdateCustomerRequest) (*customerv1.UpdateCustomerResponse, error) {
	u, err := toUpdate(req)
	if err != nil {
		return nil, toConnect(s.log, err)
	}
	if err := u.Normalize("customer."); err != nil {
		return nil, toConnect(s.log, err)
	}
	c, err := s.store.UpdateCustomer(ctx, u)
	if err != nil {
		return nil, toConnect(s.log, err)
	}
	return &customerv1.UpdateCustomerResponse{Customer: toProto(c)}, nil
}

func (s *service) DeleteCustomer(ctx context.Context, req *customerv1.DeleteCustomerRequest) (*customerv1.DeleteCustomerResponse, error) {
	if req.GetId() <= 0 {
		return nil, toConnect(s.log, invalid("id", "must be a positive customer id"))
	}
	if err := s.store.DeleteCustomer(ctx, req.GetId(), req.GetEtag()); err != nil {
		return nil, toConnect(s.log, err)
	}
	return &customerv1.DeleteCustomerResponse{}, nil
}

func (s *service) ListCustomers(ctx context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, toConnect(s.log, invalid("page_size", "must not be negative"))
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	var after int64
	if t := req.GetPageToken(); t != "" {
		tok, err := pagetoken.Decode(t)
		if err != nil {
			return nil, toConnect(s.log, invalid("page_token", "is not a token from a previous response"))
		}
		after = tok.AfterID
	}
	// One extra row tells whether another page follows, so the last page
	// comes with an empty token instead of leading to an empty page.
	rows, err := s.store.ListCustomers(ctx, customer.ListParams{AfterID: after, Limit: size + 1})
	if err != nil {
		return nil, toConnect(s.log, err)
	}
	res := &customerv1.ListCustomersResponse{}
	if len(rows) > size {
		rows = rows[:size]
		res.NextPageToken = pagetoken.Encode(pagetoken.Token{AfterID: rows[size-1].ID})
	}
	res.Customers = make([]*customerv1.Customer, len(rows))
	for i, c := range rows {
		res.Customers[i] = toProto(c)
	}
	return res, nil
}
