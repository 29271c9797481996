package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"customerd/internal/pgdb"
)

// scan runs fn on a connection of the pool (the standby's, see read), once it holds a scan slot (see
// package scan). When ctx ends, the statement running is canceled on the
// server (see cancelOnDone) and scan returns ctx's error; it returns fn's
// error otherwise.
func (s *Store) scan(ctx context.Context, fn func(q *pgdb.Queries) error) error {
	return s.scans.Run(ctx, func() error {
		return s.read(ctx, func(pool *pgxpool.Pool) error {
			return pool.AcquireFunc(ctx, func(conn *pgxpool.Conn) error {
				if s.scanHook != nil {
					if err := s.scanHook(ctx, conn.Conn()); err != nil {
						return err
					}
				}
				return fn(pgdb.New(conn))
			})
		})
	})
}

// defaultCancelGrace is Options.CancelGrace's default.
const defaultCancelGrace = time.Second

// cancelOnDone makes what a connection does when the context of a call on
// it ends. By default pgx closes the connection at once (sending the server
// a cancel request as it goes), so every canceled search would cost a new
// connection, and a burst of them a burst of connects. Instead, the cancel
// request is sent first and the call returns when the server has stopped
// the statement, leaving the connection usable; only if the server does not
// answer within grace is the socket closed.
func cancelOnDone(grace time.Duration) func(*pgconn.PgConn) ctxwatch.Handler {
	return func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: grace}
	}
}
