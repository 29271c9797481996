package store

import (
	"context"
	"math"
	"strings"
	"unicode"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// listArgs is the parameter struct that every ListCustomersBy* query shares
// (sqlc generates one named type per query, all with these fields).
type listArgs struct {
	AfterValue   string
	AfterID      int64
	UpdatedAfter string
	Match        string
	PageLimit    int64
}

// listQuery is one ListCustomersBy* query, whatever its parameter type.
type listQuery func(ctx context.Context, q *sqlitedb.Queries, a listArgs) ([]sqlitedb.Customer, error)

// listBy adapts a generated query whose parameter type has the fields of
// listArgs; the conversion P(a) does not compile for any other shape, so a
// query that drifts from the others breaks the build instead of misbehaving.
func listBy[P ~struct {
	AfterValue   string
	AfterID      int64
	UpdatedAfter string
	Match        string
	PageLimit    int64
}](f func(*sqlitedb.Queries, context.Context, P) ([]sqlitedb.Customer, error)) listQuery {
	return func(ctx context.Context, q *sqlitedb.Queries, a listArgs) ([]sqlitedb.Customer, error) {
		return f(q, ctx, P(a))
	}
}

// listQueries holds the query for every order. SQL cannot bind ORDER BY to a
// parameter, and splicing it in would hide the SQL from sqlc and risk
// injection, so each order is a complete, reviewed query in
// queries/customers.sql that uses its own index; this table only chooses.
var listQueries = map[customer.Order]listQuery{
	{Field: customer.ByID}:                     listBy((*sqlitedb.Queries).ListCustomersByIDAsc),
	{Field: customer.ByID, Desc: true}:         listBy((*sqlitedb.Queries).ListCustomersByIDDesc),
	{Field: customer.ByName}:                   listBy((*sqlitedb.Queries).ListCustomersByNameAsc),
	{Field: customer.ByName, Desc: true}:       listBy((*sqlitedb.Queries).ListCustomersByNameDesc),
	{Field: customer.ByEmail}:                  listBy((*sqlitedb.Queries).ListCustomersByEmailAsc),
	{Field: customer.ByEmail, Desc: true}:      listBy((*sqlitedb.Queries).ListCustomersByEmailDesc),
	{Field: customer.ByCreateTime}:             listBy((*sqlitedb.Queries).ListCustomersByCreateTimeAsc),
	{Field: customer.ByCreateTime, Desc: true}: listBy((*sqlitedb.Queries).ListCustomersByCreateTimeDesc),
	{Field: customer.ByUpdateTime}:             listBy((*sqlitedb.Queries).ListCustomersByUpdateTimeAsc),
	{Field: customer.ByUpdateTime, Desc: true}: listBy((*sqlitedb.Queries).ListCustomersByUpdateTimeDesc),
}

// Cursors that sort before (ascending) or after (descending) every row:
// every stored value is non-empty text, and valid UTF-8 never holds 0xff.
const (
	firstValueAsc  = ""
	firstValueDesc = "\xff"
)

// ListCustomers returns one page of customers from the read pool, in
// p.Order, starting after p.After. It fails with customer.Invalid for an
// order the store does not know.
func (s *Store) ListCustomers(ctx context.Context, p customer.ListParams) ([]customer.Customer, error) {
	query, ok := listQueries[p.Order]
	if !ok {
		return nil, customer.Errorf(customer.Invalid, "unsupported order %q", p.Order)
	}
	match, ok := ftsQuery(p.Query)
	if !ok {
		return nil, nil // the query has no word that can match anything
	}
	a := listArgs{
		AfterValue:   firstValueAsc,
		UpdatedAfter: updatedAfter(p),
		Match:        match,
		PageLimit:    int64(p.Limit),
	}
	if p.Order.Desc {
		a.AfterValue, a.AfterID = firstValueDesc, math.MaxInt64
	}
	if p.After != nil {
		a.AfterValue, a.AfterID = p.After.Value, p.After.ID
	}
	rows, err := query(ctx, s.reads, a)
	if err != nil {
		return nil, s.mapError(err)
	}
	out := make([]customer.Customer, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return out, nil
}

// CountCustomers counts the customers that pass p's filters.
func (s *Store) CountCustomers(ctx context.Context, p customer.ListParams) (int, error) {
	match, ok := ftsQuery(p.Query)
	if !ok {
		return 0, nil
	}
	n, err := s.reads.CountCustomers(ctx, sqlitedb.CountCustomersParams{UpdatedAfter: updatedAfter(p), Match: match})
	if err != nil {
		return 0, s.mapError(err)
	}
	return int(n), nil
}

func updatedAfter(p customer.ListParams) string {
	if p.UpdatedAfter.IsZero() {
		return ""
	}
	// Stored timestamps have milliseconds: truncating keeps "strictly
	// later" exact, as no row lies between the truncated and the given time.
	return customer.FormatTime(p.UpdatedAfter)
}

// ftsQuery turns a user's search words into an FTS5 query in which every
// word must match the start of a word in some column. Each word becomes a
// quoted string (so no FTS5 syntax from the user is ever interpreted)
// followed by * for a prefix match. It returns "", true for an empty query
// and "", false when no word holds a letter or digit (FTS5 would find
// nothing, or fail, on an empty phrase).
func ftsQuery(q string) (string, bool) {
	words := strings.Fields(q)
	if len(words) == 0 {
		return "", true
	}
	var b strings.Builder
	for _, w := range words {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(`"` + strings.ReplaceAll(w, `"`, `""`) + `"*`)
	}
	return b.String(), b.Len() > 0
}
