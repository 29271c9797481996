package sqlite

import (
	"context"
	"math"
	"strings"

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
	a := listArgs{AfterValue: firstValueAsc, UpdatedAfter: updatedAfter(p), PageLimit: int64(p.Limit)}
	if p.Order.Desc {
		a.AfterValue, a.AfterID = firstValueDesc, math.MaxInt64
	}
	if p.After != nil {
		a.AfterValue, a.AfterID = p.After.Value, p.After.ID
	}
	var rows []sqlitedb.Customer
	if query == "" {
		list, ok := listQueries[p.Order]
		if !ok {
			return nil, customer.Errorf(customer.Invalid, "unsupported order %q", p.Order)
		}
		err = s.scan(ctx, func(q *sqlitedb.Queries) error {
			rows, err = list(ctx, q, a)
			return err
		})
	} else {
		search, ok := searchQueries[p.Order]
		if !ok {
			return nil, customer.Errorf(customer.Invalid, "unsupported order %q", p.Order)
		}
		words := customer.QueryWords(query)
		if len(words) == 0 {
			return nil, nil // no word of the query can match anything
		}
		err = s.scan(ctx, func(q *sqlitedb.Queries) error {
			match, err := ftsMatch(ctx, q, words)
			if err != nil || match == "" {
				return err
			}
			rows, err = search(ctx, q, searchArgs{
				AfterValue: a.AfterValue, AfterID: a.AfterID, UpdatedAfter: a.UpdatedAfter, Match: match, PageLimit: a.PageLimit,
			})
			return err
		})
	}
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
// (see ListCustomers).
func (s *Store) CountCustomers(ctx context.Context, p customer.ListParams) (int, error) {
	query, err := customer.NormalizeQuery(p.Query, "query")
	if err != nil {
		return 0, err
	}
	var n int64
	if query == "" {
		err = s.scan(ctx, func(q *sqlitedb.Queries) error {
			n, err = q.CountCustomers(ctx, updatedAfter(p))
			return err
		})
	} else {
		match, ok := ftsQuery(query)
		if !ok {
			return 0, nil
		}
		err = s.scan(ctx, func(q *sqlitedb.Queries) error {
			n, err = q.CountSearchCustomers(ctx, sqlitedb.CountSearchCustomersParams{UpdatedAfter: updatedAfter(p), Match: match})
			return err
		})
	}
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

// maxWordsPerPrefix is the most words of the index a search word's prefix
// may stand for to be searched as those words. FTS5 reads a query of words
// lazily, but sets each word up in every segment of the index: past a few
// words, the prefix itself is cheaper.
const maxWordsPerPrefix = 16

// ftsMatch returns the FTS5 query for the words of a user's search (see
// customer.QueryWords), reading search_terms with q, in the transaction
// the search will run in, so that the words search_terms lists and the
// index agree. A word of ASCII letters and digits only (asciiWords: its
// FTS5 word is the word in lower case) that is the prefix of at most
// maxWordsPerPrefix words of the index becomes those words, ("london" OR
// "londoner"), which FTS5 reads lazily, in rowid order; asked for the
// prefix itself, FTS5 first merges the lists of every matching word, in
// proportion to all the customers they hold. A word that starts no word at
// all means nothing matches, and ftsMatch returns "". Other words stay
// prefixes (see ftsQuery).
func ftsMatch(ctx context.Context, q *sqlitedb.Queries, words []string) (string, error) {
	var b strings.Builder
	for _, w := range words {
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		tokens, ascii := asciiWords(w)
		if !ascii || len(tokens) != 1 || len(tokens[0]) != len(w) {
			b.WriteString(ftsPrefix(w)) // not one word of letters and digits
			continue
		}
		lower := tokens[0]
		terms, err := q.SearchTermsFrom(ctx, sqlitedb.SearchTermsFromParams{
			First: lower, Past: lower + "\xff", MaxTerms: maxWordsPerPrefix + 1,
		})
		switch {
		case err != nil:
			return "", err
		case len(terms) == 0:
			return "", nil // no customer has a word that starts so
		case len(terms) > maxWordsPerPrefix:
			b.WriteString(ftsPrefix(w))
		default:
			b.WriteString("(")
			for i, t := range terms {
				if i > 0 {
					b.WriteString(" OR ")
				}
				b.WriteString(ftsWord(t))
			}
			b.WriteString(")")
		}
	}
	return b.String(), nil
}

// ftsWord quotes w for an FTS5 query: a quoted string, so that no FTS5
// syntax from the user is ever interpreted.
func ftsWord(w string) string { return `"` + strings.ReplaceAll(w, `"`, `""`) + `"` }

// ftsPrefix quotes w for an FTS5 query as a prefix.
func ftsPrefix(w string) string { return ftsWord(w) + "*" }

// ftsQuery turns a search query in canonical form (customer.NormalizeQuery)
// into an FTS5 query in which every word that can match (customer.QueryWords)
// must match the start of a word in some column. Each word becomes a
// quoted string (so no FTS5 syntax from the user is ever interpreted)
// followed by * for a prefix match. It returns false when no word can
// match (FTS5 would find nothing, or fail, on an empty phrase).
func ftsQuery(q string) (string, bool) {
	var b strings.Builder
	for _, w := range customer.QueryWords(q) {
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(ftsPrefix(w))
	}
	return b.String(), b.Len() > 0
}
