package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"customerd/internal/customer"
)

var _ customer.PersonalData = (*Store)(nil)

// CustomerChanges returns every change kept for customer id, in commit
// order.
func (s *Store) CustomerChanges(ctx context.Context, id int64) ([]customer.Change, error) {
	if s.closing.Load() {
		return nil, customer.ErrShuttingDown
	}
	rows, err := s.reads.ListCustomerChanges(ctx, id)
	if err != nil {
		return nil, s.mapError(err)
	}
	return customer.ChangesFromRows(rows), nil
}

// StillHeld returns the ids, of ids, that the database holds a customer
// row or a change with values of (see the query StillHeld).
func (s *Store) StillHeld(ctx context.Context, ids []int64) ([]int64, error) {
	if s.closing.Load() {
		return nil, customer.ErrShuttingDown
	}
	held, err := s.reads.StillHeld(ctx, ids)
	return held, s.mapError(err)
}

// EraseCustomer deletes customer id (its search document goes with the
// row), turns its changes into tombstones and forgets its request_ids, in
// one write. No row of any table holds its values afterwards; the dead
// row versions that held them stay in the table files until VACUUM (or
// autovacuum) reclaims them, and in the server's WAL until it is recycled
// (see docs/privacy.md).
func (s *Store) EraseCustomer(ctx context.Context, id int64, etag string) error {
	ev, audited := customer.AuditOf(ctx)
	return s.mapError(s.write(ctx, func(ctx context.Context, t *txn) error {
		if err := customer.Erase(ctx, t.q, t.delete, pgx.ErrNoRows, id, etag); err != nil {
			return err
		}
		return t.auditWrite(ctx, ev, audited, id)
	}))
}
