package postgres

import (
	"context"
	"math"
	"strings"
	"time"

	"customerd/internal/customer"
	"customerd/internal/pgdb"
)

// listArgs is the parameter struct that every ListCustomersBy* query shares
// (sqlc generates one named type per query, all with these fields), and
// searchArgs that of every SearchCustomersBy* query.
type (
	listArgs = struct {
		AfterValue   string
		AfterTime    time.Time
		AfterID      int64
		UpdatedAfter time.Time
		PageLimit    int32
	}
	searchArgs = struct {
		Match        string
		AfterValue   string
		AfterTime    time.Time
		AfterID      int64
		UpdatedAfter time.Time
		PageLimit    int32
	}
)

// pageQuery runs one generated query with arguments of type A.
type pageQuery[A any] func(ctx context.Context, q *pgdb.Queries, a A) ([]row, error)

// listBy and searchBy adapt a generated query whose parameter type P has
// the fields of its family's arguments and whose row type R has the fields
// of row; the conversions do not compile for any other shape, so a query
// that drifts from its family breaks the build instead of misbehaving.
func listBy[P ~listArgs, R ~row](f func(*pgdb.Queries, context.Context, P) ([]R, error)) pageQuery[listArgs] {
	return func(ctx context.Context, q *pgdb.Queries, a listArgs) ([]row, error) {
		return rows(f(q, ctx, P(a)))
	}
}

func searchBy[P ~searchArgs, R ~row](f func(*pgdb.Queries, context.Context, P) ([]R, error)) pageQuery[searchArgs] {
	return func(ctx context.Context, q *pgdb.Queries, a searchArgs) ([]row, error) {
		return rows(f(q, ctx, P(a)))
	}
}

func rows[R ~row](rs []R, err error) ([]row, error) {
	out := make([]row, len(rs))
	for i, r := range rs {
		out[i] = row(r)
	}
	return out, err
}

// The query for every order, without and with a search; each is a complete
// query in queries/postgres/customers.sql. These tables only choose.
var (
	listQueries = map[customer.Order]pageQuery[listArgs]{
		{Field: customer.ByID}:                     listBy((*pgdb.Queries).ListCustomersByIDAsc),
		{Field: customer.ByID, Desc: true}:         listBy((*pgdb.Queries).ListCustomersByIDDesc),
		{Field: customer.ByName}:                   listBy((*pgdb.Queries).ListCustomersByNameAsc),
		{Field: customer.ByName, Desc: true}:       listBy((*pgdb.Queries).ListCustomersByNameDesc),
		{Field: customer.ByEmail}:                  listBy((*pgdb.Queries).ListCustomersByEmailAsc),
		{Field: customer.ByEmail, Desc: true}:      listBy((*pgdb.Queries).ListCustomersByEmailDesc),
		{Field: customer.ByCreateTime}:             listBy((*pgdb.Queries).ListCustomersByCreateTimeAsc),
		{Field: customer.ByCreateTime, Desc: true}: listBy((*pgdb.Queries).ListCustomersByCreateTimeDesc),
		{Field: customer.ByUpdateTime}:             listBy((*pgdb.Queries).ListCustomersByUpdateTimeAsc),
		{Field: customer.ByUpdateTime, Desc: true}: listBy((*pgdb.Queries).ListCustomersByUpdateTimeDesc),
	}
	searchQueries = map[customer.Order]pageQuery[searchArgs]{
		{Field: customer.ByID}:                     searchBy((*pgdb.Queries).SearchCustomersByIDAsc),
		{Field: customer.ByID, Desc: true}:         searchBy((*pgdb.Queries).SearchCustomersByIDDesc),
		{Field: customer.ByName}:                   searchBy((*pgdb.Queries).SearchCustomersByNameAsc),
		{Field: customer.ByName, Desc: true}:       searchBy((*pgdb.Queries).SearchCustomersByNameDesc),
		{Field: customer.ByEmail}:                  searchBy((*pgdb.Queries).SearchCustomersByEmailAsc),
		{Field: customer.ByEmail, Desc: true}:      searchBy((*pgdb.Queries).SearchCustomersByEmailDesc),
		{Field: customer.ByCreateTime}:             searchBy((*pgdb.Queries).SearchCustomersByCreateTimeAsc),
		{Field: customer.ByCreateTime, Desc: true}: searchBy((*pgdb.Queries).SearchCustomersByCreateTimeDesc),
		{Field: customer.ByUpdateTime}:             searchBy((*pgdb.Queries).SearchCustomersByUpdateTimeAsc),
		{Field: customer.ByUpdateTime, Desc: true}: searchBy((*pgdb.Queries).SearchCustomersByUpdateTimeDesc),
	}
)

// Cursors that sort before (ascending) or after (descending) every row.
// No stored name or email has 255 characters, so 255 times the highest code
// point sorts after all of them.
var (
	firstValueDesc = strings.Repeat("\U0010FFFF", 255)
	firstTimeAsc   = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	firstTimeDesc  = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// ListCustomers returns one page of customers in p.Order, starting after
// p.After, as a scan (see scan: it waits for a scan slot and ends with
// ctx). Cursors are those of the SQLite engine (customer.CursorOf), so a
// page token of one engine or replica works on another. It fails with
// customer.Invalid for a query customer.NormalizeQuery refuses, an order
// the store does not know or a cursor whose time is malformed, and
// customer.Unavailable when the database cannot be reached.
func (s *Store) ListCustomers(ctx context.Context, p customer.ListParams) ([]customer.Customer, error) {
	if s.closing.Load() {
		return nil, customer.ErrShuttingDown
	}
	query, err := customer.NormalizeQuery(p.Query, "query")
	if err != nil {
		return nil, err
	}
	list, search := listQueries[p.Order], searchQueries[p.Order]
	if list == nil || search == nil {
		return nil, customer.Errorf(customer.Invalid, "unsupported order %q", p.Order)
	}
	a, err := pageArgs(p)
	if err != nil {
		return nil, err
	}
	match := searchMatch(query)
	if query != "" && match == "" {
		return nil, nil // no word of the query can match anything
	}
	var rs []row
	err = s.scan(ctx, func(q *pgdb.Queries) (err error) {
		if match == "" {
			rs, err = list(ctx, q, a)
		} else {
			rs, err = search(ctx, q, searchArgs{
				Match: match, AfterValue: a.AfterValue, AfterTime: a.AfterTime, AfterID: a.AfterID,
				UpdatedAfter: a.UpdatedAfter, PageLimit: a.PageLimit,
			})
		}
		return err
	})
	if err != nil {
		return nil, s.mapError(err)
	}
	out := make([]customer.Customer, len(rs))
	for i, r := range rs {
		out[i] = fromRow(r)
	}
	return out, nil
}

// pageArgs returns the keyset arguments of p's page.
func pageArgs(p customer.ListParams) (listArgs, error) {
	a := listArgs{AfterTime: firstTimeAsc, UpdatedAfter: updatedAfter(p), PageLimit: int32(min(p.Limit, math.MaxInt32))}
	if p.Order.Desc {
		a.AfterValue, a.AfterTime, a.AfterID = firstValueDesc, firstTimeDesc, math.MaxInt64
	}
	if p.After == nil {
		return a, nil
	}
	a.AfterID = p.After.ID
	switch p.Order.Field {
	case customer.ByName, customer.ByEmail:
		a.AfterValue = p.After.Value
	case customer.ByCreateTime, customer.ByUpdateTime:
		t, err := time.Parse(customer.TimeLayout, p.After.Value)
		if err != nil {
			return a, customer.Errorf(customer.Invalid, "invalid page token")
		}
		a.AfterTime = t
	}
	return a, nil
}

// CountCustomers counts the customers that pass p's filters, as a scan
// (see ListCustomers), with the same matcher. It fails with
// customer.Invalid for a query customer.NormalizeQuery refuses and
// customer.Unavailable when the database cannot be reached.
func (s *Store) CountCustomers(ctx context.Context, p customer.ListParams) (int, error) {
	if s.closing.Load() {
		return 0, customer.ErrShuttingDown
	}
	query, err := customer.NormalizeQuery(p.Query, "query")
	if err != nil {
		return 0, err
	}
	match := searchMatch(query)
	if query != "" && match == "" {
		return 0, nil
	}
	var n int64
	err = s.scan(ctx, func(q *pgdb.Queries) (err error) {
		if match == "" {
			n, err = q.CountCustomers(ctx, updatedAfter(p))
		} else {
			n, err = q.CountSearchCustomers(ctx, pgdb.CountSearchCustomersParams{Match: match, UpdatedAfter: updatedAfter(p)})
		}
		return err
	})
	if err != nil {
		return 0, s.mapError(err)
	}
	return int(n), nil
}

// updatedAfter returns the UpdatedAfter filter as a time; the zero time
// keeps every row.
func updatedAfter(p customer.ListParams) time.Time {
	if p.UpdatedAfter.IsZero() {
		return firstTimeAsc
	}
	// Stored timestamps have milliseconds: truncating keeps "strictly
	// later" exact, as the SQLite engine does.
	return p.UpdatedAfter.UTC().Truncate(time.Millisecond)
}
