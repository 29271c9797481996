package customer

import (
	"strings"
	"time"
)

// OrderField is a field ListCustomers can sort by.
type OrderField int

// The sortable fields. Ties are always broken by id, in the same direction.
const (
	ByID OrderField = iota
	ByName
	ByEmail
	ByCreateTime
	ByUpdateTime
)

var orderFieldNames = map[string]OrderField{
	"id": ByID, "name": ByName, "email": ByEmail, "create_time": ByCreateTime, "update_time": ByUpdateTime,
}

func (f OrderField) String() string {
	for name, v := range orderFieldNames {
		if v == f {
			return name
		}
	}
	return "id"
}

// Order is a sort order of ListCustomers.
type Order struct {
	Field OrderField
	Desc  bool
}

// String returns o in the AIP-132 form ParseOrder reads, such as "name desc".
func (o Order) String() string {
	if o.Desc {
		return o.Field.String() + " desc"
	}
	return o.Field.String()
}

// ParseOrder parses an AIP-132 order_by value, exactly as the proto's rule
// lists them: one of "id", "name", "email", "create_time" and
// "update_time", optionally followed by " desc". The empty string is "id".
// Anything else returns an *Error with code Invalid naming field.
func ParseOrder(s, field string) (Order, error) {
	if s == "" {
		return Order{}, nil
	}
	name, desc := strings.CutSuffix(s, " desc")
	if f, ok := orderFieldNames[name]; ok {
		return Order{Field: f, Desc: desc}, nil
	}
	return Order{}, InvalidField(field, "unknown order")
}

// TimeLayout is the text form of timestamps in cursors: UTC with
// milliseconds, which sorts in time order. It is also how SQLite stores them.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime returns t in TimeLayout, truncated to the millisecond.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Cursor is a position in an ordering: the sort value and id of the last
// customer of a page. Value is empty for ByID.
type Cursor struct {
	Value string
	ID    int64
}

// CursorOf returns the position of c in order o.
func (o Order) CursorOf(c Customer) Cursor {
	switch o.Field {
	case ByName:
		return Cursor{Value: c.Name, ID: c.ID}
	case ByEmail:
		return Cursor{Value: c.Email, ID: c.ID}
	case ByCreateTime:
		return Cursor{Value: FormatTime(c.CreateTime), ID: c.ID}
	case ByUpdateTime:
		return Cursor{Value: FormatTime(c.UpdateTime), ID: c.ID}
	default:
		return Cursor{ID: c.ID}
	}
}

// ListParams selects one page of customers.
type ListParams struct {
	Order Order
	// Query keeps customers whose name, email, phone or address contain
	// every word of it (case-insensitively, as word prefixes). Empty keeps
	// all.
	Query string
	// UpdatedAfter keeps customers updated strictly later. Zero keeps all.
	UpdatedAfter time.Time
	// After is where the previous page ended; nil for the first page.
	After *Cursor
	// Limit is the most customers to return.
	Limit int
}

// NormalizeQuery trims a search query and collapses its white space, so that
// equivalent queries compare equal.
func NormalizeQuery(q string) string { return strings.Join(strings.Fields(q), " ") }
