package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"customerd/internal/customer"
	"customerd/internal/pgdb"
)

// row is the shape of every customer row the queries return.
type row = customer.Row

func fromRow(r row) customer.Customer { return customer.FromRow(r) }

// CreateCustomer stores c, which the caller has validated. A non-empty
// c.RequestID makes it idempotent: the key (customer.CanonicalRequestID), a fingerprint of c and the new
// id are stored in the same transaction as the customer, so a retry on any
// replica finds them. It fails with customer.AlreadyExists when the email
// is taken or the key was used for other fields, customer.NotFound when the
// key's customer has been deleted since, customer.Invalid when a database
// constraint rejects a field, and customer.Unavailable when the database
// cannot be reached or the store is closed.
func (s *Store) CreateCustomer(ctx context.Context, c customer.New) (customer.Customer, error) {
	c.RequestID = customer.CanonicalRequestID(c.RequestID) // the same UUID in any case is one request
	var out row
	ev, audited := customer.AuditOf(ctx)
	err := s.write(ctx, func(ctx context.Context, t *txn) error {
		if err := s.create(ctx, t, c, &out); err != nil {
			return err
		}
		return t.auditWrite(ctx, ev, audited, out.ID)
	})
	if err != nil {
		return customer.Customer{}, s.mapError(err)
	}
	return fromRow(out), nil
}

// create is the write of CreateCustomer.
func (s *Store) create(ctx context.Context, t *txn, c customer.New, out *row) error {
	q := t.q
	var fingerprint string
	expiry := time.Now().Add(-s.requestTTL)
	if c.RequestID != "" {
		fingerprint = c.Fingerprint()
		prev, err := q.GetCreateRequest(ctx, pgdb.GetCreateRequestParams{RequestID: c.RequestID, CreatedAfter: expiry})
		switch {
		case err == nil && prev.Fingerprint != fingerprint:
			return customer.ErrRequestIDReused
		case err == nil:
			r, err := q.GetCustomer(ctx, prev.CustomerID)
			if errors.Is(err, pgx.ErrNoRows) {
				return customer.ErrRequestIDDeleted
			}
			*out = row(r)
			return err
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
	}
	r, err := q.CreateCustomer(ctx, pgdb.CreateCustomerParams{
		Name: c.Name, Email: c.Email, Phone: c.Phone, Address: c.Address,
		Search: searchDocument(searchColumns(c.Name, c.Email, c.Phone, c.Address)),
	})
	if err != nil {
		return err
	}
	*out = row(r)
	if c.RequestID == "" {
		return nil
	}
	_, err = q.PutCreateRequest(ctx, pgdb.PutCreateRequestParams{
		RequestID: c.RequestID, Fingerprint: fingerprint, CustomerID: r.ID, CreatedBefore: expiry,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// A create with the same key committed after the look-up above
		// (possible only for a writer that skips the write lock): the
		// retry finds its row.
		return errRetry
	}
	return err
}

// GetCustomer returns customer id, or fails with customer.NotFound (or
// customer.Unavailable when the database cannot be reached).
func (s *Store) GetCustomer(ctx context.Context, id int64) (customer.Customer, error) {
	if s.closing.Load() {
		return customer.Customer{}, customer.ErrShuttingDown
	}
	var r pgdb.GetCustomerRow
	err := s.read(ctx, func(pool *pgxpool.Pool) (err error) {
		r, err = pgdb.New(pool).GetCustomer(ctx, id)
		return err
	})
	if err != nil {
		return customer.Customer{}, s.mapError(err)
	}
	return fromRow(row(r)), nil
}

// UpdateCustomer applies u (see txn.update). It fails with
// customer.NotFound, customer.Aborted (stale etag), customer.AlreadyExists
// (email taken), customer.Invalid (a constraint) or customer.Unavailable.
func (s *Store) UpdateCustomer(ctx context.Context, u customer.Update) (customer.Customer, error) {
	var out row
	ev, audited := customer.AuditOf(ctx)
	err := s.write(ctx, func(ctx context.Context, t *txn) (err error) {
		if out, err = t.update(ctx, u); err != nil {
			return err
		}
		return t.auditWrite(ctx, ev, audited, u.ID)
	})
	if err != nil {
		return customer.Customer{}, s.mapError(err)
	}
	return fromRow(out), nil
}

// DeleteCustomer removes customer id. It fails with customer.NotFound for
// an unknown id, customer.Aborted when etag is non-empty and stale, and
// customer.Unavailable when the database cannot be reached.
func (s *Store) DeleteCustomer(ctx context.Context, id int64, etag string) error {
	ev, audited := customer.AuditOf(ctx)
	return s.mapError(s.write(ctx, func(ctx context.Context, t *txn) error {
		if err := t.delete(ctx, id, etag); err != nil {
			return err
		}
		return t.auditWrite(ctx, ev, audited, id)
	}))
}
