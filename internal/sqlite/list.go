package sqlite

import (
	"context"
	"math"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// listArgs is the parameter struct that every ListCustomersBy* query shares
// (sqlc generates one named type per query, all with these fields), and
// searchArgs that of every SearchCustomersBy* query.
type (
	listArgs = struct {
		AfterValue   string
		AfterID      int64
		UpdatedAfter string
		PageLimit    int64
	}
	searchArgs = struct {
		Match        string
		AfterValue   string
		AfterID      int64
		UpdatedAfter string
		PageLimit    int64
	}
)

// pageQuery runs one generated query with arguments of type A.
type pageQuery[A any] func(ctx context.Context, q *sqlitedb.Queries, a A) ([]sqlitedb.Customer, error)

// listBy and searchBy adapt a generated query whose parameter type P has
// the fields of its family's arguments; the conversion P(a) does not compile
// for any other shape, so a query that drifts from its family breaks the
// build instead of misbehaving.
func listBy[P ~listArgs](f func(*sqlitedb.Queries, context.Context, P) ([]sqlitedb.Customer, error)) pageQuery[listArgs] {
	return func(ctx context.Context, q *sqlitedb.Queries, a listArgs) ([]sqlitedb.Customer, error) {
		return f(q, ctx, P(a))
	}
}

func searchBy[P ~searchArgs](f func(*sqlitedb.Queries, context.Context, P) ([]sqlitedb.Customer, error)) pageQuery[searchArgs] {
	return func(ctx context.Context, q *sqlitedb.Queries, a searchArgs) ([]sqlitedb.Customer, error) {
		return f(q, ctx, P(a))
	}
}

// The query for every order, without and with a search. SQL cannot bind
// ORDER BY to a parameter, and splicing it in would hide the SQL from sqlc
// and invite injection, so each order is a complete, reviewed query in
// queries/customers.sql that uses its own index; these tables only choose.
var (
	listQueries = map[customer.Order]pageQuery[listArgs]{
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
	searchQueries = map[customer.Order]pageQuery[searchArgs]{
		{Field: customer.ByID}:                     searchBy((*sqlitedb.Queries).SearchCustomersByIDAsc),
		{Field: customer.ByID, Desc: true}:         searchBy((*sqlitedb.Queries).SearchCustomersByIDDesc),
		{Field: customer.ByName}:                   searchBy((*sqlitedb.Queries).SearchCustomersByNameAsc),
		{Field: customer.ByName, Desc: true}:       searchBy((*sqlitedb.Queries).SearchCustomersByNameDesc),
		{Field: customer.ByEmail}:                  searchBy((*sqlitedb.Queries).SearchCustomersByEmailAsc),
		{Field: customer.ByEmail, Desc: true}:      searchBy((*sqlitedb.Queries).SearchCustomersByEmailDesc),
		{Field: customer.ByCreateTime}:             searchBy((*sqlitedb.Queries).SearchCustomersByCreateTimeAsc),
		{Field: customer.ByCreateTime, Desc: true}: searchBy((*sqlitedb.Queries).SearchCustomersByCreateTimeDesc),
		{Field: customer.ByUpdateTime}:             searchBy((*sqlitedb.Queries).SearchCustomersByUpdateTimeAsc),
		{Field: customer.ByUpdateTime, Desc: true}: searchBy((*sqlitedb.Queries).SearchCustomersByUpdateTimeDesc),
	}
)

// Cursors that sort before (ascending) or after (descending) every row:
// every stored value is non-empty text, and valid UTF-8 never holds 0xff.
const (
	firstValueAsc  = ""
	firstValueDesc = "\xff"
)

// ListCustomers returns one page of customers from the read pool, in
// p.Order, starting after p.After, as a scan (see scan: it waits for a scan
// slot and ends with ctx). It fails with customer.Invalid for a query
// customer.NormalizeQuery refuses or an order the store does not know.
func (s *Store) ListCustomers(ctx context.Context, p customer.ListParams) ([]customer.Customer, error) {
	query, err := customer.NormalizeQuery(p.Query, "query")
	if err != nil {
		return nil, err
	}
	list, search := listQueries[p.Order], searchQueries[p.Order]
	if list == nil || search == nil {
		return nil, customer.Errorf(customer.Invalid, "unsupported order %q", p.Order)
	}
	a := listArgs{AfterValue: firstValueAsc, UpdatedAfter: updatedAfter(p), PageLimit: int64(p.Limit)}
	if p.Order.Desc {
		a.AfterValue, a.AfterID = firstValueDesc, math.MaxInt64
	}
	if p.After != nil {
		a.AfterValue, a.AfterID = p.After.Value, p.After.ID
	}
	var rows []sqlitedb.Customer
	err = s.scan(ctx, func(q *sqlitedb.Queries) (err error) {
		if query == "" {
			rows, err = list(ctx, q, a)
			return err
		}
		match, err := searchMatch(ctx, q, query)
		if err != nil || match == "" {
			return err
		}
		rows, err = search(ctx, q, searchArgs{
			Match: match, AfterValue: a.AfterValue, AfterID: a.AfterID, UpdatedAfter: a.UpdatedAfter, PageLimit: a.PageLimit,
		})
		return err
	})
	if err != nil {
		return nil, s.mapError(err)
	}
	out := make([]customer.Customer, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return out, nil
}

// CountCustomers counts the customers that pass p's filters, as a scan
// (see ListCustomers), with the same matcher.
func (s *Store) CountCustomers(ctx context.Context, p customer.ListParams) (int, error) {
	query, err := customer.NormalizeQuery(p.Query, "query")
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.scan(ctx, func(q *sqlitedb.Queries) (err error) {
		if query == "" {
			n, err = q.CountCustomers(ctx, updatedAfter(p))
			return err
		}
		match, err := searchMatch(ctx, q, query)
		if err != nil || match == "" {
			return err
		}
		n, err = q.CountSearchCustomers(ctx, sqlitedb.CountSearchCustomersParams{UpdatedAfter: updatedAfter(p), Match: match})
		return err
	})
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
