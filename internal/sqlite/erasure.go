package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"customerd/internal/customer"
)

var _ customer.PersonalData = (*Store)(nil)

// CustomerChanges returns every change kept for customer id, in commit
// order.
func (s *Store) CustomerChanges(ctx context.Context, id int64) ([]customer.Change, error) {
	rows, err := s.reads.ListCustomerChanges(ctx, id)
	if err != nil {
		return nil, s.mapError(err)
	}
	return customer.ChangesFromRows(rows), nil
}

// StillHeld returns the ids, of ids, that the database holds a customer
// row or a change with values of (see the query StillHeld).
func (s *Store) StillHeld(ctx context.Context, ids []int64) ([]int64, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	held, err := s.reads.StillHeld(ctx, string(list))
	return held, s.mapError(err)
}

// EraseCustomer deletes customer id and removes its values from the
// database file and its WAL: in one write, the customer row goes (through
// txn.delete, which drops it from the read cache), its changes become
// tombstones, its request_ids go, and before COMMIT the search index
// deletes its words and is merged into one segment (FTS5 optimize: see
// writes.Prepare), and search_terms loses the words no customer holds any
// more. The writer's secure_delete pragma
// zeroes every byte these deletes free. After the commit a TRUNCATE
// checkpoint empties the WAL, whose older frames held the values; when
// readers keep it from finishing, the checkpointer retries it until it
// does.
func (s *Store) EraseCustomer(ctx context.Context, id int64, etag string) error {
	ev, audited := customer.AuditOf(ctx)
	err := s.batch.Do(ctx, func(ctx context.Context, t *txn) error {
		if err := customer.Erase(ctx, t.q, t.delete, sql.ErrNoRows, id, etag); err != nil {
			return err
		}
		t.erasing = true
		t.auditWrite(ev, audited, id)
		return nil
	})
	if err != nil {
		return s.mapError(err)
	}
	if s.ckpt != nil {
		s.ckpt.truncateSoon(ctx, eraseTruncateWait)
	}
	return nil
}

// eraseTruncateWait is how long EraseCustomer waits for the TRUNCATE
// checkpoint before leaving it to the checkpointer.
const eraseTruncateWait = 2 * time.Second
