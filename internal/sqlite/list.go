package sqlite

import (
	"context"
	"fmt"
	"math"
	"strconv"

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

// pageRow is what every page query returns for each row: its id and
// revision (sqlc generates one named type per query, all of this shape).
type pageRow = struct {
	ID       int64
	Revision int64
}

// pageQuery runs one generated query with arguments of type A.
type pageQuery[A any] func(ctx context.Context, q *sqlitedb.Queries, a A) ([]pageRow, error)

// listBy and searchBy adapt a generated query whose parameter type P has
// the fields of its family's arguments and whose row type R is a pageRow;
// the conversions do not compile for any other shape, so a query that
// drifts from its family breaks the build instead of misbehaving.
func listBy[P ~listArgs, R ~pageRow](f func(*sqlitedb.Queries, context.Context, P) ([]R, error)) pageQuery[listArgs] {
	return func(ctx context.Context, q *sqlitedb.Queries, a listArgs) ([]pageRow, error) {
		rows, err := f(q, ctx, P(a))
		return pageRows(rows), err
	}
}

func searchBy[P ~searchArgs, R ~pageRow](f func(*sqlitedb.Queries, context.Context, P) ([]R, error)) pageQuery[searchArgs] {
	return func(ctx context.Context, q *sqlitedb.Queries, a searchArgs) ([]pageRow, error) {
		rows, err := f(q, ctx, P(a))
		return pageRows(rows), err
	}
}

func pageRows[R ~pageRow](rows []R) []pageRow {
	out := make([]pageRow, len(rows))
	for i, r := range rows {
		out[i] = pageRow(r)
	}
	return out
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
	key := pageKey{order: p.Order, query: query, updatedAfter: a.UpdatedAfter, first: p.After == nil, limit: p.Limit}
	if p.After != nil {
		key.after = *p.After
	}
	if page, ok := s.hot.page(key); ok {
		return page, nil
	}
	var page []customer.Customer
	gen := s.hot.generation() // before the scan's snapshot: see hotCustomers.fill
	err = s.scan(ctx, func(q *sqlitedb.Queries) (err error) {
		var rows []pageRow
		defer func() {
			if err == nil {
				s.hot.putPage(gen, key, rows)
			}
		}()
		if query == "" {
			rows, err = list(ctx, q, a)
		} else {
			var match string
			if match, err = searchMatch(ctx, q, query); err != nil || match == "" {
				return err
			}
			rows, err = search(ctx, q, searchArgs{
				Match: match, AfterValue: a.AfterValue, AfterID: a.AfterID, UpdatedAfter: a.UpdatedAfter, PageLimit: a.PageLimit,
			})
		}
		if err != nil {
			return err
		}
		page, err = s.customers(ctx, q, gen, rows)
		return err
	})
	if err != nil {
		return nil, s.mapError(err)
	}
	return page, nil
}

// customers returns the customers of a page, in its order, at the revisions
// its query read: from the cache where it holds that revision, the others
// read with q, in the same transaction as the page, and added to the cache
// (gen as for hotCustomers.fill).
func (s *Store) customers(ctx context.Context, q *sqlitedb.Queries, gen uint64, rows []pageRow) ([]customer.Customer, error) {
	page := make([]customer.Customer, len(rows))
	var missing []byte   // the ids the cache lacks, as a JSON array
	var at map[int64]int // where each of them goes in the page
	for i, r := range rows {
		c, rev, ok := s.hot.get(r.ID)
		if ok && rev == r.Revision {
			page[i] = c
			continue
		}
		missing = strconv.AppendInt(append(missing, ','), r.ID, 10)
		if at == nil {
			at = make(map[int64]int)
		}
		at[r.ID] = i
	}
	if len(missing) == 0 {
		return page, nil
	}
	missing[0] = '['
	read, err := q.GetCustomersIn(ctx, string(append(missing, ']')))
	if err != nil {
		return nil, err
	}
	if len(read) != len(at) {
		return nil, fmt.Errorf("sqlite: read %d of the %d customers of a page in its own transaction", len(read), len(at))
	}
	entries := make([]hotCustomer, len(read))
	for i, r := range read {
		entries[i] = hotRow(r)
		page[at[r.ID]] = entries[i].c
	}
	s.hot.fill(gen, entries...)
	return page, nil
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
