package sqlite

import (
	"context"
	"fmt"
	"strconv"

	"customerd/internal/sqlitedb"
)

// readBack reads the customers that the updates of one write transaction
// changed, to answer them with, in one query before COMMIT instead of one
// query each. (RETURNING cannot answer them: it shows the row from before
// the customers_touch trigger, which sets updated_at and the revision.)
// Only the batch actor's goroutine uses it: reset at the start of every
// attempt at a transaction, add by the writes, read before COMMIT.
type readBack struct {
	dst map[int64]*sqlitedb.Customer // id → where a write wants the row
	buf []byte                       // the ids as a JSON array
}

func (r *readBack) reset() { clear(r.dst) }

// add asks for customer id, as the transaction leaves it, in *dst.
func (r *readBack) add(id int64, dst *sqlitedb.Customer) {
	if r.dst == nil {
		r.dst = map[int64]*sqlitedb.Customer{}
	}
	r.dst[id] = dst
}

// settle must run before a write changes or deletes customer id: if an
// earlier write of the transaction is waiting for that customer, it reads
// it now, so that the earlier write is answered with what it did, not with
// what the later one does.
func (r *readBack) settle(ctx context.Context, q *sqlitedb.Queries, id int64) error {
	dst, ok := r.dst[id]
	if !ok {
		return nil
	}
	row, err := q.GetCustomer(ctx, id)
	if err != nil {
		return err
	}
	*dst = row
	delete(r.dst, id)
	return nil
}

// read reads every customer asked for. Each must exist: the transaction
// changed it, and settle ran before anything could delete it.
func (r *readBack) read(ctx context.Context, q *sqlitedb.Queries) error {
	if len(r.dst) == 0 {
		return nil
	}
	r.buf = append(r.buf[:0], '[')
	for id := range r.dst {
		if len(r.buf) > 1 {
			r.buf = append(r.buf, ',')
		}
		r.buf = strconv.AppendInt(r.buf, id, 10)
	}
	r.buf = append(r.buf, ']')
	rows, err := q.GetCustomersIn(ctx, string(r.buf))
	if err != nil {
		return err
	}
	if len(rows) != len(r.dst) {
		return fmt.Errorf("sqlite: read back %d of the %d customers the transaction changed", len(rows), len(r.dst))
	}
	for _, row := range rows {
		*r.dst[row.ID] = row
	}
	return nil
}
