package pgstore

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"customerd/internal/customer"
)

// Errors of the write functions that mapError turns into customer errors.
var (
	errStaleEtag        = errors.New("stale etag")
	errRequestIDReused  = errors.New("request_id reused with other fields")
	errRequestIDDeleted = errors.New("request_id's customer deleted")
	errClosed           = errors.New("store closed")
	// errRetry makes write start the transaction over: another replica
	// committed the same request_id after this transaction looked for it.
	errRetry = errors.New("lost a race; retry")
)

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

// mapError turns an error from PostgreSQL or pgx into a *customer.Error
// whose message is safe for clients; context errors pass through
// unchanged. Anything unexpected is logged here, with the server's text,
// and returned as a bare customer.Internal.
func (s *Store) mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if _, ok := errors.AsType[*customer.Error](err); ok {
		return err // mapped already
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return customer.Errorf(customer.NotFound, "customer not found")
	case errors.Is(err, errStaleEtag):
		return customer.Errorf(customer.Aborted, "etag does not match: the customer was changed by someone else; read it again and retry")
	case errors.Is(err, errRequestIDReused):
		return customer.Errorf(customer.AlreadyExists, "request_id was already used to create a different customer")
	case errors.Is(err, errRequestIDDeleted):
		return customer.Errorf(customer.NotFound, "the customer this request_id created has since been deleted")
	case errors.Is(err, errClosed):
		return customer.Errorf(customer.Unavailable, "the server is shutting down")
	case errors.Is(err, errOverloaded):
		return customer.Errorf(customer.ResourceExhausted, "too many writes are waiting; retry later")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case uniqueViolation:
			return customer.Errorf(customer.AlreadyExists, "a customer with this email already exists")
		case checkViolation, notNullViolation, stringTooLong:
			return customer.Errorf(customer.Invalid, "a field is out of range")
		case serializationFailure, deadlockDetected, queryCanceled, tooManyConnections, adminShutdown, cannotConnectNow:
			s.log.Warn("database busy", "err", err)
			return customer.Errorf(customer.Unavailable, "the database is busy; retry later")
		}
	}
	if s.closing.Load() {
		return customer.Errorf(customer.Unavailable, "the server is shutting down")
	}
	if pgconn.SafeToRetry(err) || isConnError(err) {
		s.log.Warn("database connection failed", "err", err)
		return customer.Errorf(customer.Unavailable, "the database connection was lost; retry")
	}
	s.log.Error("store operation failed", "err", err)
	return customer.Errorf(customer.Internal, "internal error")
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
