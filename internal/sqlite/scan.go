package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"sync"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"customerd/internal/sqlitedb"
)

// scan runs fn in a read transaction on a connection of the read pool,
// once it holds a scan slot (see package scan). SQLite is interrupted when
// ctx ends, whatever step the statement is at, and scan then returns ctx's
// error. It returns fn's error otherwise.
func (s *Store) scan(ctx context.Context, fn func(q *sqlitedb.Queries) error) error {
	return s.scans.Run(ctx, func() error {
		conn, err := s.read.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		stop, err := interruptOnDone(ctx, conn)
		if err != nil {
			return err
		}
		defer stop() // before the connection goes back to the pool
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() // read only: nothing to keep
		if s.scanHook != nil {
			if err := s.scanHook(ctx, tx); err != nil {
				return err
			}
		}
		return fn(s.reads.WithTx(tx))
	})
}

// interruptOnDone interrupts the statement running on conn when ctx ends,
// until the returned stop is called; stop returns once no interrupt can
// come any more.
//
// modernc.org/sqlite (v1.62.0) interrupts a statement whose context ends
// only while QueryContext runs, that is until its first row: the steps
// that rows.Next takes later run to their end (tested in scan_test.go), and
// database/sql waits for them before it closes the rows. A search or list
// whose rows are far apart in its index would hold its connection past
// the caller's deadline. So each scan watches its context itself and calls
// sqlite3_interrupt, as the driver does, on the connection's handle.
func interruptOnDone(ctx context.Context, conn *sql.Conn) (stop func(), err error) {
	var handle uintptr
	if err := conn.Raw(func(dc any) error {
		var ok bool
		handle, ok = sqliteHandle(dc)
		if !ok {
			return errNoHandle
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var interrupting sync.WaitGroup
	interrupting.Add(1)
	stopWatch := context.AfterFunc(ctx, func() {
		defer interrupting.Done()
		// A TLS of its own, as the driver does: the statement runs on the
		// connection's, which is not safe for concurrent use.
		tls := libc.NewTLS()
		sqlite3.Xsqlite3_interrupt(tls, handle)
		tls.Close()
	})
	return func() {
		if stopWatch() {
			interrupting.Done()
		}
		interrupting.Wait()
	}, nil
}

var errNoHandle = errors.New("sqlite: cannot find the sqlite3 handle of a modernc.org/sqlite connection to interrupt it")

// sqliteHandle returns the sqlite3* handle of a modernc.org/sqlite driver
// connection: its unexported field db, read (not written) by reflection,
// as the driver offers no way to interrupt a connection. Open fails when it
// cannot be found, so that an upgrade of the driver that renames it is
// noticed at once.
func sqliteHandle(driverConn any) (uintptr, bool) {
	v := reflect.ValueOf(driverConn)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return 0, false
	}
	f := v.Elem().FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Uintptr || f.Uint() == 0 {
		return 0, false
	}
	return uintptr(f.Uint()), true
}
