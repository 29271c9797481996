package rpc

import (
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	"customerd/internal/customer"
	customerv1 "customerd/internal/gen/customer/v1"
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

// Update mask paths. Mutable fields may be listed; output-only ones may not.
var (
	mutablePaths    = map[string]bool{"name": true, "email": true, "phone": true, "address": true}
	outputOnlyPaths = map[string]bool{"id": true, "create_time": true, "update_time": true, "etag": true}
)

// toUpdate turns an UpdateCustomer request into a customer.Update, following
// AIP-134: with a mask exactly the listed fields change; without one, every
// populated field does. The wildcard "*" is not supported: protojson cannot
// encode it, so JSON clients could not send it.
func toUpdate(req *customerv1.UpdateCustomerRequest) (customer.Update, error) {
	c := req.GetCustomer()
	if c == nil {
		return customer.Update{}, invalid("customer", "is required")
	}
	u := customer.Update{ID: c.GetId(), Etag: c.GetEtag()}
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
		return u, nil
	}
	set := map[string]bool{}
	for _, p := range paths {
		switch {
		case mutablePaths[p]:
			set[p] = true
		case outputOnlyPaths[p]:
			return customer.Update{}, invalid("update_mask", "path "+quote(p)+" is output only and cannot be updated")
		default:
			return customer.Update{}, invalid("update_mask", "unknown path "+quote(p)+`: use "name", "email", "phone" or "address"`)
		}
	}
	if set["name"] {
		u.Name = &c.Name
	}
	if set["email"] {
		u.Email = &c.Email
	}
	if set["phone"] {
		u.SetPhone, u.Phone = true, c.Phone
	}
	if set["address"] {
		u.SetAddress, u.Address = true, c.Address
	}
	return u, nil
}

// quote quotes a client-supplied string for an error message, cutting it
// short so that a huge path cannot make a huge error.
func quote(s string) string {
	const max = 64
	r := []rune(s)
	if len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}
