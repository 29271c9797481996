package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"customerd/internal/batch"
	"customerd/internal/broadcast"
	"customerd/internal/consistency"
	"customerd/internal/customer"
	"customerd/internal/pgdb"
)

// Group commit. Every write transaction takes the same advisory lock, so
// the writes of all replicas run one at a time, and each one costs a round
// trip for BEGIN, one for the lock, its statements and a COMMIT (a WAL
// flush). A replica therefore sends its writes through the batch actor,
// which runs all the writes waiting (up to MaxBatch) in one transaction;
// writes is its batch.Engine for PostgreSQL.
type writes struct {
	pool    *pgxpool.Pool
	commits *broadcast.Signal // closed after every commit seen, for watchers
	txn     txn               // the transaction running: one at a time
}

// batchTimeout bounds one batch transaction. Statements do not run under
// the callers' contexts: cancelling one statement would break the
// connection, and with it the batch of every other caller.
const batchTimeout = time.Minute

var _ batch.Engine[*txn] = (*writes)(nil)

// Begin starts a transaction on a pooled connection and takes the write
// lock, so that the change feed's seq follows commit order.
func (w *writes) Begin(ctx context.Context) (*txn, error) {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	q := pgdb.New(tx)
	if err := q.LockWrites(ctx); err != nil {
		tx.Rollback(context.Background())
		return nil, err
	}
	w.txn = txn{tx: tx, q: q}
	return &w.txn, nil
}

func execTx(ctx context.Context, t *txn, sql string) error {
	_, err := t.tx.Exec(ctx, sql)
	return err
}

// Savepoint, RollbackTo and Release mark, undo and forget one write.
func (w *writes) Savepoint(ctx context.Context, t *txn) error {
	return execTx(ctx, t, "SAVEPOINT write")
}
func (w *writes) RollbackTo(ctx context.Context, t *txn) error {
	return execTx(ctx, t, "ROLLBACK TO SAVEPOINT write")
}
func (w *writes) Release(ctx context.Context, t *txn) error {
	return execTx(ctx, t, "RELEASE SAVEPOINT write")
}

// Prepare has nothing to do: the search document is written with the row.
func (w *writes) Prepare(context.Context, *txn) error { return nil }

// Commit commits; Rollback rolls back (a no-op after Commit).
// After a commit, the writes that want a consistency token (t.lsns) get
// its WAL position.
func (w *writes) Commit(ctx context.Context, t *txn) error {
	if err := t.tx.Commit(ctx); err != nil {
		return err
	}
	if len(t.lsns) > 0 {
		at := commitPosition(ctx, w.pool)
		for _, p := range t.lsns {
			*p = at
		}
	}
	return nil
}
func (w *writes) Rollback(t *txn) { t.tx.Rollback(context.Background()) }

// Committed wakes this replica's watchers at once (the others by the NOTIFY
// of the change trigger).
func (w *writes) Committed() { w.commits.Notify() }

// txn is one write transaction as the store's writes see it: the queries,
// bound to the transaction, and the operations on an existing customer,
// which lock its row first. A write changes or deletes a customer through
// update or delete, never with the queries directly.
type txn struct {
	tx   pgx.Tx
	q    *pgdb.Queries
	lsns []*consistency.LSN // where to put the commit's WAL position (see Store.write)
}

// update applies u to the row, locked for the transaction, and returns the
// row as it leaves it: the etag is checked first (so a stale etag is
// reported as such even when the new email would collide), then every
// field is written, the kept ones with their stored values.
func (t *txn) update(ctx context.Context, u customer.Update) (customer.Row, error) {
	cur, err := t.lock(ctx, u.ID, u.Etag)
	if err != nil || !u.Changes() {
		return cur, err
	}
	p := pgdb.UpdateCustomerParams{ID: u.ID, Name: cur.Name, Email: cur.Email, Phone: cur.Phone, Address: cur.Address}
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Email != nil {
		p.Email = *u.Email
	}
	if u.SetPhone {
		p.Phone = u.Phone
	}
	if u.SetAddress {
		p.Address = u.Address
	}
	p.Search = searchDocument(searchColumns(p.Name, p.Email, p.Phone, p.Address))
	r, err := t.q.UpdateCustomer(ctx, p)
	return customer.Row(r), err
}

// delete removes customer id, checking a non-empty etag first.
func (t *txn) delete(ctx context.Context, id int64, etag string) error {
	if etag != "" {
		if _, err := t.lock(ctx, id, etag); err != nil {
			return err
		}
	}
	n, err := t.q.DeleteCustomer(ctx, id)
	if err == nil && n == 0 {
		return pgx.ErrNoRows
	}
	return err
}

// lock locks customer id's row for the transaction and returns it; it
// fails with customer.ErrStaleEtag when etag is set and stale, and
// pgx.ErrNoRows for an unknown id.
func (t *txn) lock(ctx context.Context, id int64, etag string) (customer.Row, error) {
	cur, err := t.q.GetCustomerForUpdate(ctx, id)
	if err == nil && etag != "" && etag != customer.Etag(cur.ID, cur.Revision) {
		err = customer.ErrStaleEtag
	}
	return customer.Row(cur), err
}
