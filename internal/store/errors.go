package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"customerd/internal/customer"
	"customerd/internal/writer"
)

// mapError turns an error from SQLite, database/sql or the writer into a
// *customer.Error whose message is safe for clients; context errors pass
// through unchanged. Anything unexpected is logged here, with its SQLite
// text, and returned as a bare customer.Internal.
func (s *Store) mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return customer.Errorf(customer.NotFound, "customer not found")
	}
	if errors.Is(err, errStaleEtag) {
		return customer.Errorf(customer.Aborted, "etag does not match: the customer was changed by someone else; read it again and retry")
	}
	if errors.Is(err, errRequestIDReused) {
		return customer.Errorf(customer.AlreadyExists, "request_id was already used to create a different customer")
	}
	if errors.Is(err, errRequestIDDeleted) {
		return customer.Errorf(customer.NotFound, "the customer this request_id created has since been deleted")
	}
	if errors.Is(err, driver.ErrBadConn) {
		// database/sql discards the connection; the next write opens another.
		s.log.Warn("database connection broke", "err", err)
		return customer.Errorf(customer.Unavailable, "the database connection was lost; retry")
	}
	if errors.Is(err, writer.ErrOverloaded) {
		return customer.Errorf(customer.ResourceExhausted, "too many writes are waiting; retry later")
	}
	if errors.Is(err, writer.ErrClosed) {
		return customer.Errorf(customer.Unavailable, "the server is shutting down")
	}
	if s.noteDamage(err) {
		// Unavailable, not Internal: the write was rolled back, this
		// server reports NOT_SERVING until an operator restores the
		// database, and a client may retry (elsewhere, or later).
		return customer.Errorf(customer.Unavailable, "the server's database is damaged; it cannot serve this request until an operator repairs it")
	}
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		switch code := e.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return customer.Errorf(customer.AlreadyExists, "a customer with this email already exists")
		case code == sqlite3.SQLITE_CONSTRAINT_CHECK, code == sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return customer.Errorf(customer.Invalid, "a field is out of range")
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
			s.log.Warn("database busy", "err", err)
			return customer.Errorf(customer.Unavailable, "the database is busy; retry later")
		}
	}
	if s.closing.Load() {
		// A read still running while the store closes (after a forced
		// shutdown) fails on a closed pool: the server is going away.
		return customer.Errorf(customer.Unavailable, "the server is shutting down")
	}
	s.log.Error("store operation failed", "err", err)
	return customer.Errorf(customer.Internal, "internal error")
}

// noteDamage reports whether err is SQLite finding the database file
// damaged. The first time, it logs at error level what the operator should
// do and calls Options.Damaged.
func (s *Store) noteDamage(err error) bool {
	if !isDamage(err) {
		return false
	}
	s.damagedOnce.Do(func() {
		s.log.Error(damagedMessage(s.path), "err", err)
		if s.onDamaged != nil {
			s.onDamaged()
		}
	})
	return true
}
