package postgres

import (
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"customerd/internal/customer"
)

// errRetry makes a write start over: another replica committed the same
// request_id after this transaction looked for it.
var errRetry = errors.New("lost a race; retry")

// The SQLSTATE codes the store tells apart.
const (
	uniqueViolation      = "23505"
	checkViolation       = "23514"
	notNullViolation     = "23502"
	stringTooLong        = "22001"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
	queryCanceled        = "57014" // statement_timeout, or a cancel request
	tooManyConnections   = "53300"
	adminShutdown        = "57P01"
	cannotConnectNow     = "57P03"
)

// retryable reports whether a write that failed with err may succeed when
// run again from the start.
func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == serializationFailure || pgErr.Code == deadlockDetected
	}
	return false
}

// mapError turns an error from PostgreSQL, pgx or the batch actor into a
// *customer.Error whose message is safe for clients (see
// customer.StoreError).
func (s *Store) mapError(err error) error {
	return customer.StoreError(err, s.log, s.closing.Load(), s.postgresError)
}

// postgresError returns the customer error for the failures of PostgreSQL
// and pgx the store tells apart, and nil for any other.
func (s *Store) postgresError(err error) *customer.Error {
	if errors.Is(err, pgx.ErrNoRows) {
		return customer.ErrNotFound
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.Code {
		case uniqueViolation:
			return customer.ErrEmailTaken
		case checkViolation, notNullViolation, stringTooLong:
			return customer.ErrOutOfRange
		case serializationFailure, deadlockDetected, queryCanceled, tooManyConnections, adminShutdown, cannotConnectNow:
			s.log.Warn("database busy", "err", err)
			return customer.ErrBusy
		}
	}
	if s.closing.Load() {
		return customer.ErrShuttingDown
	}
	if pgconn.SafeToRetry(err) || isConnError(err) {
		s.log.Warn("database connection failed", "err", err)
		return customer.ErrConnectionLost
	}
	return nil
}

// isConnError reports whether err comes from connecting or from a broken
// connection rather than from a statement.
func isConnError(err error) bool {
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
