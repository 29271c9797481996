package customer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Code classifies an error by what the caller can do about it.
type Code int

// The error codes. The RPC layer maps each to one Connect code.
const (
	Internal          Code = iota // a fault of the server; details are logged, not returned
	Invalid                       // the request breaks a rule; Violations say which
	NotFound                      // no customer has that id
	AlreadyExists                 // another customer has that email
	Aborted                       // the etag is stale: someone changed the customer first
	Unavailable                   // the server is shutting down or the database is busy; retry later
	ResourceExhausted             // too many writes are waiting; retry later, with backoff
)

func (c Code) String() string {
	switch c {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case AlreadyExists:
		return "already exists"
	case Aborted:
		return "aborted"
	case Unavailable:
		return "unavailable"
	case ResourceExhausted:
		return "resource exhausted"
	default:
		return "internal"
	}
}

// Error is an error a client may see: its Message is safe to return as is.
type Error struct {
	Code       Code
	Message    string
	Violations []Violation // for Invalid: the fields at fault
}

// Violation names one bad field of a request and what is wrong with it.
type Violation struct {
	Field       string // the field's path in the request, e.g. "customer.email"
	Description string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField returns an *Error with code Invalid for one bad field.
func InvalidField(field, description string) *Error {
	return &Error{
		Code:       Invalid,
		Message:    "invalid request: " + field + ": " + description,
		Violations: []Violation{{Field: field, Description: description}},
	}
}

// ErrorCode returns the code of the *Error in err's chain, or Internal when
// there is none (nil has no code and returns Internal too).
func ErrorCode(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Internal
}

// The failures every store reports, each with the message a client sees.
var (
	ErrNotFound         = Errorf(NotFound, "customer not found")
	ErrStaleEtag        = Errorf(Aborted, "etag does not match: the customer was changed by someone else; read it again and retry")
	ErrRequestIDReused  = Errorf(AlreadyExists, "request_id was already used to create a different customer")
	ErrRequestIDDeleted = Errorf(NotFound, "the customer this request_id created has since been deleted")
	ErrEmailTaken       = Errorf(AlreadyExists, "a customer with this email already exists")
	ErrOutOfRange       = Errorf(Invalid, "a field is out of range")
	ErrBusy             = Errorf(Unavailable, "the database is busy; retry later")
	ErrConnectionLost   = Errorf(Unavailable, "the database connection was lost; retry")
	ErrShuttingDown     = Errorf(Unavailable, "the server is shutting down")
	ErrOverloaded       = Errorf(ResourceExhausted, "too many writes are waiting; retry later")
	ErrInternal         = Errorf(Internal, "internal error")
)

// StoreError turns err, from a store's database, into an error whose message
// is safe for clients, in the order every store shares: nil, context
// errors and *Error values pass through; engine, when it knows err,
// returns its *Error (and logs what an operator should see); an error
// after the store began closing is ErrShuttingDown; anything else is logged
// with its database text and becomes ErrInternal.
func StoreError(err error, log *slog.Logger, closing bool, engine func(error) *Error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e // a write's own failure, or a panic's internal error
	}
	if e := engine(err); e != nil {
		return e
	}
	if closing {
		// A read still running while the store closes (after a forced
		// shutdown) fails on a closed pool: the server is going away.
		return ErrShuttingDown
	}
	log.Error("store operation failed", "err", err)
	return ErrInternal
}
