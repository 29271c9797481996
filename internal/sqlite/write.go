package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"customerd/internal/batch"
	"customerd/internal/broadcast"
	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// writes runs the write transactions of the batch actor on the one write
// connection: it is the actor's batch.Engine for SQLite.
type writes struct {
	db       *sql.DB           // the pool of the one write connection
	conn     *sql.Conn         // that connection, held (see connect)
	queries  *sqlitedb.Queries // prepared once on the connection
	stmts    [6]*sql.Stmt      // see controlSQL
	optimize *sql.Stmt         // FTS5 optimize (see Prepare)
	words    knownWords        // see knownWords: kept across transactions
	commits  *broadcast.Signal // notified after every commit that changed customers, for watchers
	hot      *hotCustomers     // told which customers every commit wrote
	index    auditIndex        // the audit_customers pairs known to be stored
	txn      txn               // the transaction running: one at a time
}

// controlSQL is the transaction control the writer issues itself, on the
// connection it holds, instead of through database/sql's Tx: a Tx wraps
// every prepared statement anew for each query (Tx.StmtContext) and starts
// a goroutine for each result set that watches the transaction's context.
// BEGIN IMMEDIATE takes the write lock at once, as a writer must.
var controlSQL = [6]string{`SAVEPOINT write`, `ROLLBACK TO write`, `RELEASE write`, `BEGIN IMMEDIATE`, `COMMIT`, `ROLLBACK`}

// The indexes of controlSQL's statements in writes.stmts.
const (
	savepointStmt = iota
	rollbackToStmt
	releaseStmt
	beginStmt
	commitStmt
	rollbackStmt
)

// optimizeSQL merges the full-text index into one segment: the words that
// deletes and updates only marked as deleted (FTS5 keeps them in older
// segments until a merge) are gone after it. An erasure runs it, in its
// transaction: it rewrites the whole index, so it costs in proportion to
// the index. (FTS5's secure-delete option, which deletes entries in place,
// made every update of the index dearer, and did not remove the words an
// update had marked before the erasure.)
const optimizeSQL = `INSERT INTO customers_fts (customers_fts) VALUES ('optimize')`

// newWrites prepares every query and transaction control statement on a
// connection it takes from db, which allows one, and holds until close. It
// fails when a query does not prepare (the schema is not migrated).
func newWrites(db *sql.DB, commits *broadcast.Signal, hot *hotCustomers) (*writes, error) {
	w := &writes{db: db, commits: commits, hot: hot}
	if err := w.connect(context.Background()); err != nil {
		return nil, err
	}
	return w, nil
}

// connect takes a connection from the pool and prepares every statement
// on it. The statements of a connection that broke are forgotten, not
// closed: they went with it.
func (w *writes) connect(ctx context.Context) error {
	if w.conn != nil {
		w.conn.Close()
	}
	w.forget()
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	w.conn = conn
	if w.queries, err = sqlitedb.Prepare(ctx, conn); err != nil {
		w.close()
		return err
	}
	for i, text := range controlSQL {
		if w.stmts[i], err = conn.PrepareContext(ctx, text); err != nil {
			w.close()
			return fmt.Errorf("prepare %s: %w", text, err)
		}
	}
	if w.optimize, err = conn.PrepareContext(ctx, optimizeSQL); err != nil {
		w.close()
		return fmt.Errorf("prepare %s: %w", optimizeSQL, err)
	}
	return nil
}

// close closes the prepared statements and gives the connection back to
// the pool; the actor must have stopped, or be calling it (connect).
func (w *writes) close() {
	if w.queries != nil {
		w.queries.Close()
	}
	for _, st := range append(w.stmts[:], w.optimize) {
		if st != nil {
			st.Close()
		}
	}
	if w.conn != nil {
		w.conn.Close()
	}
	w.forget()
}

// forget drops the connection and its statements without closing them.
func (w *writes) forget() {
	w.conn, w.queries, w.stmts, w.optimize = nil, nil, [len(controlSQL)]*sql.Stmt{}, nil
}

var _ batch.Engine[*txn] = (*writes)(nil)

// Begin starts a transaction with a fresh txn.
func (w *writes) Begin(ctx context.Context) (*txn, error) {
	if w.conn == nil { // an earlier connect failed
		if err := w.connect(ctx); err != nil {
			return nil, err
		}
	}
	_, err := w.stmts[beginStmt].ExecContext(ctx)
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		// The connection broke (database/sql has discarded it): the
		// writer goes on with a new one.
		if err = w.connect(ctx); err == nil {
			_, err = w.stmts[beginStmt].ExecContext(ctx)
		}
	}
	if err != nil {
		return nil, err
	}
	w.words.reset()
	w.index.rolledBack()
	w.txn.index, w.txn.erasing, w.txn.created = &w.index, false, false
	w.txn.back.reset()
	clear(w.txn.events)
	w.txn.events, w.txn.eventsMark = w.txn.events[:0], 0
	clear(w.txn.wrote)
	w.txn.open, w.txn.q = true, w.queries
	return &w.txn, nil
}

func (w *writes) exec(ctx context.Context, i int) error {
	_, err := w.stmts[i].ExecContext(ctx)
	return err
}

// Savepoint, RollbackTo and Release run the prepared savepoint statements.
// A write rolled back to its savepoint also drops the audit event it noted.
func (w *writes) Savepoint(ctx context.Context, t *txn) error {
	t.eventsMark = len(t.events)
	return w.exec(ctx, savepointStmt)
}
func (w *writes) RollbackTo(ctx context.Context, t *txn) error {
	w.index.rolledBack()
	clear(t.events[t.eventsMark:])
	t.events = t.events[:t.eventsMark]
	return w.exec(ctx, rollbackToStmt)
}
func (w *writes) Release(ctx context.Context, t *txn) error { return w.exec(ctx, releaseStmt) }

// Prepare appends the audit events of the batch's writes, brings the
// search index up to date with the writes (see UpdateSearchIndex) and reads
// back the customers they changed (see readBack).
func (w *writes) Prepare(ctx context.Context, t *txn) error {
	if err := t.flushAudit(ctx); err != nil {
		return err
	}
	if err := w.words.update(ctx, t.q); err != nil {
		return err
	}
	if t.erasing {
		// The index drops the erased customer's words for good.
		if _, err := w.optimize.ExecContext(ctx); err != nil {
			return err
		}
		// The index has deleted the erased customer's words: the ones
		// nobody else holds leave search_terms, and knownWords forgets
		// every word, so that a word that comes back is added again.
		if err := t.q.SearchTermsPrune(ctx); err != nil {
			return err
		}
		w.words.forget()
	}
	return t.back.read(ctx, t.q)
}

// Commit commits; Rollback rolls back (a no-op after Commit). A COMMIT
// that failed may have left the transaction open (SQLITE_BUSY) or ended it
// (an I/O error rolls back): Rollback ends it in either case.
func (w *writes) Commit(ctx context.Context, t *txn) error {
	if err := w.exec(ctx, commitStmt); err != nil {
		return err
	}
	t.open = false
	return nil
}
func (w *writes) Rollback(t *txn) {
	if t.open {
		t.open = false
		w.exec(context.Background(), rollbackStmt) // fails only when SQLite ended it already
	}
}

// Committed makes the batch's new words known and, when the batch changed
// customers, drops the customers it wrote from the cache and wakes the
// watchers of the change feed.
func (w *writes) Committed() {
	w.words.committed()
	w.index.committed()
	if len(w.txn.wrote) > 0 || w.txn.created {
		// Only a transaction that changed customers makes the cache's
		// pages stale and adds to the change feed: not the audit trail's
		// batches (one every few milliseconds under reads), nor clean-ups.
		w.hot.invalidate(w.txn.wrote)
		w.commits.Notify()
	}
}

// txn is one write transaction as the store's writes see it: the queries,
// bound to the transaction, and the operations on an existing customer,
// which keep the read-backs of the batch right (see readBack). A write
// changes or deletes a customer through update or delete, never with the
// queries directly.
type txn struct {
	open  bool // between BEGIN and a COMMIT or ROLLBACK
	q     *sqlitedb.Queries
	back  readBack
	wrote map[int64]struct{} // the customers changed or deleted, for the cache
	index *auditIndex        // see txn.audit
	// events are the audit events of the writes so far (see auditWrite);
	// eventsMark is their number when the last savepoint was taken.
	events     []customer.AuditEvent
	eventsMark int
	// erasing is set by an erasure (EraseCustomer), for Prepare.
	erasing bool
	// created is set by a create, which changes what pages of
	// ListCustomers hold (see Committed).
	created bool
}

// update applies u and has the customer as the transaction leaves it read
// into *out before COMMIT (with the other updates of the batch, in one
// query). It fails with customer.ErrStaleEtag, checked before anything
// else, and sql.ErrNoRows for an unknown id.
func (t *txn) update(ctx context.Context, u customer.Update, out *sqlitedb.Customer) error {
	if !u.Changes() {
		row, err := t.q.GetCustomer(ctx, u.ID)
		if err == nil && u.Etag != "" && u.Etag != customer.Etag(row.ID, row.Revision) {
			return customer.ErrStaleEtag
		}
		*out = row
		return err
	}
	if err := t.touch(ctx, u.ID, u.Etag); err != nil {
		return err
	}
	n, err := applyUpdate(ctx, t.q, u)
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return err
	}
	t.back.add(u.ID, out)
	return nil
}

// delete removes customer id. It fails with customer.ErrStaleEtag when etag
// is set and stale, and sql.ErrNoRows for an unknown id.
func (t *txn) delete(ctx context.Context, id int64, etag string) error {
	if err := t.touch(ctx, id, etag); err != nil {
		return err
	}
	n, err := t.q.DeleteCustomer(ctx, id)
	if err == nil && n == 0 {
		return sql.ErrNoRows
	}
	return err
}

// touch runs before a write changes or deletes customer id: an earlier
// write of the transaction waiting for that customer is answered now, with
// what it did (see readBack.settle), and a non-empty etag is checked, so
// that a stale etag is reported as such even when the new values would also
// collide with another customer.
func (t *txn) touch(ctx context.Context, id int64, etag string) error {
	if t.wrote == nil {
		t.wrote = map[int64]struct{}{}
	}
	t.wrote[id] = struct{}{}
	if err := t.back.settle(ctx, t.q, id); err != nil {
		return err
	}
	if etag == "" {
		return nil
	}
	cur, err := t.q.GetCustomer(ctx, id)
	if err != nil {
		return err
	}
	if etag != customer.Etag(cur.ID, cur.Revision) {
		return customer.ErrStaleEtag
	}
	return nil
}
