package rpc

import (
	"cmp"

	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "customerd/gen/customer/v1"
	"customerd/internal/customer"
)

func toProto(c customer.Customer) *customerv1.Customer {
	return &customerv1.Customer{
		Id:         c.ID,
		Name:       c.Name,
		Email:      c.Email,
		Phone:      c.Phone,
		Address:    c.Address,
		CreateTime: timestamppb.New(c.CreateTime),
		UpdateTime: timestamppb.New(c.UpdateTime),
		Etag:       c.Etag,
	}
}

// toUpdate turns a validated UpdateCustomer request into a
// customer.Update, naming the customer by id or else customer.id (the
// proto's rules have made sure they agree), following AIP-134: with a mask exactly the listed fields
// change; without one (or with an empty one), every populated field does.
// The proto's rules have already rejected any other mask path; the wildcard
// "*" is not among them, because protojson cannot encode it.
func toUpdate(req *customerv1.UpdateCustomerRequest) customer.Update {
	c := req.GetCustomer()
	u := customer.Update{ID: cmp.Or(req.GetId(), c.GetId()), Etag: c.GetEtag()}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		if c.GetName() != "" {
			u.Name = &c.Name
		}
		if c.GetEmail() != "" {
			u.Email = &c.Email
		}
		u.SetPhone, u.Phone = c.Phone != nil, c.Phone
		u.SetAddress, u.Address = c.Address != nil, c.Address
		return u
	}
	for _, p := range paths {
		switch p {
		case "name":
			u.Name = &c.Name
		case "email":
			u.Email = &c.Email
		case "phone":
			u.SetPhone, u.Phone = true, c.Phone
		case "address":
			u.SetAddress, u.Address = true, c.Address
		}
	}
	return u
}
