package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"customerd/internal/pgdb"
)

// Lists, searches and counts ("scans") can read many rows; a point read
// (GetCustomer, the change feed) reads a few by key, and writes need a
// connection too. Scans run on at most scanConns of the pool's connections
// at once, so that point reads and writes never wait behind them for a
// connection, however many are queued: the others wait for a scan slot, in
// ctx's time.

// scanConns returns how many of maxConns connections scans may hold: all
// but a quarter, and at least one.
func scanConns(maxConns int) int { return max(1, maxConns-max(1, maxConns/4)) }

// scan runs fn on a connection of the pool, once it holds a scan slot. When
// ctx ends, the statement running is canceled on the server (see
// cancelOnDone) and scan returns ctx's error; it returns fn's error
// otherwise.
func (s *Store) scan(ctx context.Context, fn func(q *pgdb.Queries) error) error {
	if err := s.scans.Acquire(ctx, 1); err != nil {
		return err
	}
	defer s.scans.Release(1)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	defer conn.Release()
	if s.scanHook != nil {
		err = s.scanHook(ctx, conn.Conn())
	}
	if err == nil {
		err = fn(pgdb.New(conn))
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // the server's "canceling statement due to user request"
	}
	return err
}

// cancelGrace is how long a connection whose context ended waits for the
// server to answer the cancel request before it is closed.
const cancelGrace = time.Second

// cancelOnDone is what a connection does when the context of a call on it
// ends. By default pgx closes the connection at once (sending the server a
// cancel request as it goes), so every canceled search would cost a new
// connection, and a burst of them a burst of connects. Instead, the cancel
// request is sent first and the call returns when the server has stopped
// the statement, leaving the connection usable; only if the server does not
// answer within cancelGrace is the socket closed.
func cancelOnDone(c *pgconn.PgConn) ctxwatch.Handler {
	return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
}
