// Package customer holds the domain of the service: what a customer is, the
// rules its fields follow, the errors operations return, and the Store that
// keeps customers. Storage engines and the RPC layer depend on this package;
// it depends on neither.
package customer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// Customer is a stored customer record.
type Customer struct {
	ID         int64
	Name       string
	Email      string
	Phone      *string // nil when unknown
	Address    *string // nil when unknown
	CreateTime time.Time
	UpdateTime time.Time
	Etag       string // changes on every update
}

// New holds the fields of a customer to create.
type New struct {
	Name    string
	Email   string
	Phone   *string
	Address *string
	// RequestID, when not empty, makes the create idempotent (AIP-155): a
	// second create with the same RequestID and the same fields returns
	// the customer the first one created.
	RequestID string
}

// Update says which fields of customer ID to change. A nil Name or Email
// keeps the stored value. SetPhone (SetAddress) replaces the phone (address)
// with Phone (Address), clearing it when that is nil. A non-empty Etag makes
// the update conditional on it being the customer's current etag.
type Update struct {
	ID         int64
	Etag       string
	Name       *string
	Email      *string
	SetPhone   bool
	Phone      *string
	SetAddress bool
	Address    *string
}

// Changes reports whether u changes any field.
func (u Update) Changes() bool {
	return u.Name != nil || u.Email != nil || u.SetPhone || u.SetAddress
}

// Store keeps customers. It is the seam between the API and a storage engine:
// every engine implements it with the same behaviour, and every error it
// returns is an *Error (see ErrorCode) or a context error.
type Store interface {
	// CreateCustomer stores a new customer. Fails with AlreadyExists when
	// the email is taken (compared case-insensitively) or c.RequestID was
	// used for different fields, NotFound when c.RequestID created a
	// customer that has since been deleted, and Invalid when a field breaks
	// a rule the database enforces. A repeated c.RequestID with the same
	// fields returns the customer it created, as it is now.
	CreateCustomer(ctx context.Context, c New) (Customer, error)
	// GetCustomer returns customer id, or fails with NotFound.
	GetCustomer(ctx context.Context, id int64) (Customer, error)
	// UpdateCustomer applies u. Fails with NotFound for an unknown id,
	// Aborted when u.Etag is set and stale, AlreadyExists when the new
	// email is taken. An update that changes nothing returns the stored
	// customer untouched.
	UpdateCustomer(ctx context.Context, u Update) (Customer, error)
	// DeleteCustomer removes customer id. Fails with NotFound for an unknown
	// id and Aborted when etag is non-empty and stale.
	DeleteCustomer(ctx context.Context, id int64, etag string) error
	// ListCustomers returns one page of customers (see ListParams).
	ListCustomers(ctx context.Context, p ListParams) ([]Customer, error)
	// CountCustomers returns how many customers pass the filters of p
	// (Query and UpdatedAfter); it ignores the order, cursor and limit.
	CountCustomers(ctx context.Context, p ListParams) (int, error)
}

// CanonicalRequestID returns the form in which a create's request_id is
// stored and compared: a UUID (the only form the API accepts) with its hex
// digits in lower case, as RFC 9562 writes UUIDs, so that the same UUID in
// upper or mixed case is the same request. Every engine keys its
// idempotency records with it.
func CanonicalRequestID(id string) string {
	b := []byte(id)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Fingerprint identifies the fields of n (not its RequestID): two creates
// with the same fingerprint ask for the same customer.
func (n New) Fingerprint() string {
	h := sha256.New()
	for _, f := range []*string{&n.Name, &n.Email, n.Phone, n.Address} {
		if f == nil {
			h.Write([]byte{0})
			continue
		}
		var size [binary.MaxVarintLen64]byte
		h.Write([]byte{1})
		h.Write(size[:binary.PutUvarint(size[:], uint64(len(*f)))])
		h.Write([]byte(*f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Row is the shape of a customer row as both engines' generated queries
// return it (sqlc makes a type per query, all convertible to Row).
type Row = struct {
	ID        int64
	Name      string
	Email     string
	Phone     *string
	Address   *string
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// FromRow returns the customer a stored row holds, its times in UTC.
func FromRow(r Row) Customer {
	return Customer{
		ID:         r.ID,
		Name:       r.Name,
		Email:      r.Email,
		Phone:      r.Phone,
		Address:    r.Address,
		CreateTime: r.CreatedAt.UTC(),
		UpdateTime: r.UpdatedAt.UTC(),
		Etag:       Etag(r.ID, r.Revision),
	}
}

// Durability is how safe an acknowledged write is.
type Durability int

// The durability levels.
const (
	// Full: an acknowledged write survives power loss (the default).
	Full Durability = iota
	// Normal: an acknowledged write survives a crash of customerd, but the
	// last commits may be lost on power loss or an OS crash (on PostgreSQL,
	// a crash of the database server); commits are faster.
	Normal
)

// ParseDurability parses "full" or "normal".
func ParseDurability(s string) (Durability, error) {
	switch s {
	case "full":
		return Full, nil
	case "normal":
		return Normal, nil
	}
	return Full, fmt.Errorf("durability must be full or normal, not %q", s)
}

// Defaults of the stores' options, for both engines.
const (
	DefaultRequestIDTTL    = 24 * time.Hour       // how long a create's request_id is remembered
	DefaultChangeRetention = 24 * time.Hour       // how long the change feed keeps a change
	DefaultCleanupInterval = time.Minute          // how often expired request_ids and changes go
	DefaultCacheSize       = 50_000               // how many recently read customers a SQLite store keeps in memory
	DefaultAuditRetention  = 400 * 24 * time.Hour // how long the audit trail keeps an event
)
