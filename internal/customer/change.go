package customer

import (
	"context"
	"errors"
	"time"
)

// ChangeType is what happened to a customer.
type ChangeType int

// The change types.
const (
	Created ChangeType = iota + 1
	Updated
	Deleted
	// Erased is the deletion of an erased customer (see PersonalData).
	Erased
)

// ParseChangeType reads the change types as the change tables store them:
// "created", "updated" or "deleted"; anything else is 0.
func ParseChangeType(s string) ChangeType {
	switch s {
	case "created":
		return Created
	case "updated":
		return Updated
	case "deleted":
		return Deleted
	}
	return 0
}

// Change is one entry of the change feed: a customer after a create or an
// update, or as it was when deleted. Seq orders changes in commit order.
// The changes of an erased customer are tombstones: its id, revision and
// times, no values.
type Change struct {
	Seq      int64
	Type     ChangeType
	Customer Customer
}

// ChangeFeed reads the change feed. It is part of what a storage engine
// provides beside Store.
type ChangeFeed interface {
	// ListChanges returns up to limit changes with Seq above after, in
	// order.
	ListChanges(ctx context.Context, after int64, limit int) ([]Change, error)
	// ChangeBounds returns the Seq of the oldest change kept and of the
	// newest (0, 0 when there is none).
	ChangeBounds(ctx context.Context) (oldest, newest int64, err error)
	// WaitForChange returns once a change with Seq above after may exist,
	// or after at most a second, or when ctx ends (with ctx.Err()).
	WaitForChange(ctx context.Context, after int64) error
}

// ChangeRow is the shape of a change as both engines' generated queries
// return it.
type ChangeRow = struct {
	Seq        int64
	Change     string
	CustomerID int64
	Name       string
	Email      string
	Phone      *string
	Address    *string
	Revision   int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Erased     bool
}

// ChangesFromRows returns the changes that stored rows hold.
func ChangesFromRows[R ~ChangeRow](rows []R) []Change {
	out := make([]Change, len(rows))
	for i, row := range rows {
		r := ChangeRow(row)
		typ := ParseChangeType(r.Change)
		if r.Erased && typ == Deleted {
			typ = Erased
		}
		out[i] = Change{Seq: r.Seq, Type: typ, Customer: FromRow(Row{
			ID: r.CustomerID, Name: r.Name, Email: r.Email, Phone: r.Phone, Address: r.Address,
			Revision: r.Revision, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		})}
	}
	return out
}

// SeqReader reads the ends of a store's change feed: the seq of the oldest
// and the newest change kept, 0 when there is none. Both engines' generated
// queries are one.
type SeqReader interface {
	OldestChange(ctx context.Context) (int64, error)
	NewestChange(ctx context.Context) (int64, error)
}

// ReadChangeBounds returns the oldest and newest change q finds.
func ReadChangeBounds(ctx context.Context, q SeqReader) (oldest, newest int64, err error) {
	if oldest, err = q.OldestChange(ctx); err == nil {
		newest, err = q.NewestChange(ctx)
	}
	return oldest, newest, err
}

// PersonalData is what a storage engine does for the people it holds, beside
// Store: copy everything about one, and erase one.
type PersonalData interface {
	// CustomerChanges returns every change still kept for customer id, in
	// commit order.
	CustomerChanges(ctx context.Context, id int64) ([]Change, error)
	// EraseCustomer deletes customer id and removes its values from
	// everything the store keeps: its changes become tombstones (the
	// deletion an Erased change), its request_ids are forgotten, and the
	// search index loses its words. A successful erasure made with a
	// context from WithAudit records its event in its transaction. Fails
	// with NotFound when the store holds nothing of id, Aborted when etag is
	// set and stale.
	EraseCustomer(ctx context.Context, id int64, etag string) error
	// StillHeld returns the ids, of ids, that EraseCustomer would find
	// something of (a customer row or a change with its values), in no
	// particular order, with one query for all of them.
	StillHeld(ctx context.Context, ids []int64) ([]int64, error)
}

// ErasureQueries are the statements of an erasure that both engines'
// generated queries have: turning a customer's changes into tombstones
// (returning how many held values) and forgetting its request_ids.
type ErasureQueries interface {
	EraseChanges(ctx context.Context, customerID int64) (int64, error)
	DeleteCreateRequestsOf(ctx context.Context, customerID int64) error
}

// Erase runs the statements of erasing customer id (see
// PersonalData.EraseCustomer) inside the caller's write transaction:
// deleteRow deletes its row, checking etag when it is set, and fails with
// noRow (the engine's own "no rows" error) when there is none; q erases
// the rest. A customer deleted before, without an etag, is still erased:
// its changes may hold its values. Erase fails with noRow when the store
// holds nothing of id (the rule StillHeld's queries follow too).
func Erase(ctx context.Context, q ErasureQueries, deleteRow func(ctx context.Context, id int64, etag string) error, noRow error, id int64, etag string) error {
	deleted := true
	if err := deleteRow(ctx, id, etag); errors.Is(err, noRow) && etag == "" {
		deleted = false
	} else if err != nil {
		return err
	}
	n, err := q.EraseChanges(ctx, id)
	if err != nil {
		return err
	}
	if !deleted && n == 0 {
		return noRow
	}
	return q.DeleteCreateRequestsOf(ctx, id)
}
