package customer

import "context"

// ChangeType is what happened to a customer.
type ChangeType int

// The change types.
const (
	Created ChangeType = iota + 1
	Updated
	Deleted
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
