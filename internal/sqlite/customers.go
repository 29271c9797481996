package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// CreateCustomer stores c, which the caller has validated. A non-empty
// c.RequestID makes it idempotent: the key (customer.CanonicalRequestID), a fingerprint of c and the new
// id are stored in the same transaction as the customer, so a retry finds
// them even after a crash or restart. It fails with customer.AlreadyExists
// when the email is taken or the key was used for other fields,
// customer.NotFound when the key's customer has been deleted since, and
// customer.Invalid when a database constraint rejects a field.
func (s *Store) CreateCustomer(ctx context.Context, c customer.New) (customer.Customer, error) {
	c.RequestID = customer.CanonicalRequestID(c.RequestID) // the same UUID in any case is one request
	var row sqlitedb.Customer
	ev, audited := customer.AuditOf(ctx)
	err := s.batch.Do(ctx, func(ctx context.Context, t *txn) error {
		if err := s.create(ctx, t, c, &row); err != nil {
			return err
		}
		t.auditWrite(ev, audited, row.ID)
		return nil
	})
	if err != nil {
		return customer.Customer{}, s.mapError(err)
	}
	return fromRow(row), nil
}

// create is the write of CreateCustomer.
func (s *Store) create(ctx context.Context, t *txn, c customer.New, row *sqlitedb.Customer) error {
	q := t.q
	var fingerprint string
	if c.RequestID != "" {
		fingerprint = c.Fingerprint()
		prev, err := q.GetCreateRequest(ctx, sqlitedb.GetCreateRequestParams{
			RequestID: c.RequestID, CreatedAfter: customer.FormatTime(time.Now().Add(-s.requestTTL)),
		})
		switch {
		case err == nil && prev.Fingerprint != fingerprint:
			return customer.ErrRequestIDReused
		case err == nil:
			*row, err = q.GetCustomer(ctx, prev.CustomerID)
			if errors.Is(err, sql.ErrNoRows) {
				return customer.ErrRequestIDDeleted
			}
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
	}
	var err error
	t.created = true // a page of ListCustomers may now be another
	*row, err = q.CreateCustomer(ctx, sqlitedb.CreateCustomerParams{
		Name: c.Name, Email: c.Email, Phone: c.Phone, Address: c.Address,
	})
	if err != nil || c.RequestID == "" {
		return err
	}
	return q.PutCreateRequest(ctx, sqlitedb.PutCreateRequestParams{
		RequestID: c.RequestID, Fingerprint: fingerprint, CustomerID: row.ID,
	})
}

// GetCustomer returns customer id from the cache or else the read pool, or
// fails with customer.NotFound.
func (s *Store) GetCustomer(ctx context.Context, id int64) (customer.Customer, error) {
	if c, _, ok := s.hot.get(id); ok {
		return c, nil
	}
	gen := s.hot.generation() // before the read: see hotCustomers.fill
	row, err := s.reads.GetCustomer(ctx, id)
	if err != nil {
		return customer.Customer{}, s.mapError(err)
	}
	e := hotRow(row)
	s.hot.fill(gen, e)
	return e.c, nil
}

// UpdateCustomer applies u (see txn.update) and answers with the customer
// as the write left it. It fails with customer.NotFound, customer.Aborted
// (stale etag, checked before anything else) or customer.AlreadyExists
// (email taken).
func (s *Store) UpdateCustomer(ctx context.Context, u customer.Update) (customer.Customer, error) {
	var row sqlitedb.Customer
	ev, audited := customer.AuditOf(ctx)
	err := s.batch.Do(ctx, func(ctx context.Context, t *txn) error {
		if err := t.update(ctx, u, &row); err != nil {
			return err
		}
		t.auditWrite(ev, audited, u.ID)
		return nil
	})
	if err != nil {
		return customer.Customer{}, s.mapError(err)
	}
	return fromRow(row), nil
}

// applyUpdate runs the UPDATE that assigns exactly the indexed columns u
// names (see queries/customers.sql) and returns how many rows it changed.
func applyUpdate(ctx context.Context, q *sqlitedb.Queries, u customer.Update) (int64, error) {
	switch {
	case u.Name != nil && u.Email != nil:
		return q.UpdateCustomer(ctx, sqlitedb.UpdateCustomerParams{
			ID: u.ID, Name: *u.Name, Email: *u.Email,
			SetPhone: u.SetPhone, Phone: u.Phone, SetAddress: u.SetAddress, Address: u.Address,
		})
	case u.Name != nil:
		return q.UpdateCustomerKeepEmail(ctx, sqlitedb.UpdateCustomerKeepEmailParams{
			ID: u.ID, Name: *u.Name,
			SetPhone: u.SetPhone, Phone: u.Phone, SetAddress: u.SetAddress, Address: u.Address,
		})
	case u.Email != nil:
		return q.UpdateCustomerKeepName(ctx, sqlitedb.UpdateCustomerKeepNameParams{
			ID: u.ID, Email: *u.Email,
			SetPhone: u.SetPhone, Phone: u.Phone, SetAddress: u.SetAddress, Address: u.Address,
		})
	}
	return q.UpdateCustomerKeepNameEmail(ctx, sqlitedb.UpdateCustomerKeepNameEmailParams{
		ID: u.ID, SetPhone: u.SetPhone, Phone: u.Phone, SetAddress: u.SetAddress, Address: u.Address,
	})
}

// DeleteCustomer removes customer id. It fails with customer.NotFound for an
// unknown id and customer.Aborted when etag is non-empty and stale.
func (s *Store) DeleteCustomer(ctx context.Context, id int64, etag string) error {
	ev, audited := customer.AuditOf(ctx)
	return s.mapError(s.batch.Do(ctx, func(ctx context.Context, t *txn) error {
		if err := t.delete(ctx, id, etag); err != nil {
			return err
		}
		t.auditWrite(ev, audited, id)
		return nil
	}))
}

func fromRow(r sqlitedb.Customer) customer.Customer { return customer.FromRow(customer.Row(r)) }
