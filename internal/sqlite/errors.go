package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"errors"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"customerd/internal/customer"
)

// mapError turns an error from SQLite, database/sql or the batch actor into
// a *customer.Error whose message is safe for clients (see
// customer.StoreError).
func (s *Store) mapError(err error) error {
	return customer.StoreError(err, s.log, s.closing.Load(), s.sqliteError)
}

// sqliteError returns the customer error for the failures of SQLite and
// database/sql the store tells apart, and nil for any other.
func (s *Store) sqliteError(err error) *customer.Error {
	if errors.Is(err, sql.ErrNoRows) {
		return customer.ErrNotFound
	}
	if errors.Is(err, driver.ErrBadConn) {
		// database/sql discards the connection; the next write opens another.
		s.log.Warn("database connection broke", "err", err)
		return customer.ErrConnectionLost
	}
	if s.noteDamage(err) {
		// Unavailable, not Internal: the write was rolled back, this
		// server reports NOT_SERVING until an operator restores the
		// database, and a client may retry (elsewhere, or later).
		return customer.Errorf(customer.Unavailable, "the server's database is damaged; it cannot serve this request until an operator repairs it")
	}
	e, ok := errors.AsType[*sqlitedriver.Error](err)
	if !ok {
		return nil
	}
	switch code := e.Code(); {
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return customer.ErrEmailTaken
	case code == sqlite3.SQLITE_CONSTRAINT_CHECK, code == sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return customer.ErrOutOfRange
	case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
		s.log.Warn("database busy", "err", err)
		return customer.ErrBusy
	}
	return nil
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
