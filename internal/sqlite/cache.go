package sqlite

import (
	"sync"
	"sync/atomic"

	"customerd/internal/customer"
	"customerd/internal/metrics"
	"customerd/internal/sqlitedb"
)

// hotCustomers keeps customers that were read recently in memory, so that a
// GetCustomer or a page of ListCustomers that finds them skips decoding
// rows (and, for GetCustomer, the database). It stays coherent with the
// database because this process is the database's only writer: the write
// actor drops every customer a transaction wrote after COMMIT and before it
// answers anyone (invalidate), so an acknowledged write is never followed
// by an older cached value; and a reader adds what it read only when no
// transaction committed since before its read began (fill), so a value read
// from a snapshot that a commit has since overtaken is never added after
// that commit dropped its customer.
//
// Each entry holds the customer's revision, so a list, which reads the ids
// and revisions of its page from its own snapshot, uses an entry only when
// it is the very version the snapshot holds.
//
// It also keeps the rows (ids and revisions) of recent pages of
// ListCustomers, each valid only until the next commit: a page asked again
// with nothing committed in between is answered from memory when the cache
// still holds each of its customers, without a query.
//
// Memory is bounded: past max entries, an arbitrary one makes room; past
// maxPages pages, all pages go. A nil *hotCustomers (max 0) keeps nothing.
type hotCustomers struct {
	mu    sync.RWMutex
	gen   uint64 // commits that changed customers so far
	max   int
	items map[int64]hotCustomer
	pages map[pageKey][]pageRow // pages read at generation gen

	hits, misses atomic.Int64 // lookups, for /metrics
}

type hotCustomer struct {
	revision int64
	c        customer.Customer
}

// newHotCustomers returns a cache of at most max customers, or nil (no
// cache) when max is 0 or less.
func newHotCustomers(max int) *hotCustomers {
	if max <= 0 {
		return nil
	}
	return &hotCustomers{max: max, items: make(map[int64]hotCustomer), pages: make(map[pageKey][]pageRow)}
}

// get returns customer id and its revision if the cache holds it.
func (h *hotCustomers) get(id int64) (customer.Customer, int64, bool) {
	if h == nil {
		return customer.Customer{}, 0, false
	}
	h.mu.RLock()
	e, ok := h.items[id]
	h.mu.RUnlock()
	if ok {
		h.hits.Add(1)
	} else {
		h.misses.Add(1)
	}
	return e.c, e.revision, ok
}

// generation returns the number of commits that changed customers so far;
// a reader takes it before it reads, and hands it to fill.
func (h *hotCustomers) generation() uint64 {
	if h == nil {
		return 0
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.gen
}

// hotRow is the entry for a row a reader read.
func hotRow(r sqlitedb.Customer) hotCustomer {
	return hotCustomer{revision: r.Revision, c: fromRow(r)}
}

// fill adds what a reader read, unless a commit that changed customers
// came after gen was taken: the entries may then be older than that commit.
func (h *hotCustomers) fill(gen uint64, entries ...hotCustomer) {
	if h == nil || len(entries) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != gen {
		return
	}
	for _, e := range entries {
		if _, ok := h.items[e.c.ID]; !ok && len(h.items) >= h.max {
			for id := range h.items { // an arbitrary victim: map order is random
				delete(h.items, id)
				break
			}
		}
		h.items[e.c.ID] = e
	}
}

// invalidate runs after every commit that changed customers: it drops
// customers ids, which the transaction changed or deleted, and every page
// (a created customer may belong to any), and makes the fills of reads
// that began before it fail.
func (h *hotCustomers) invalidate(ids map[int64]struct{}) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	for id := range ids {
		delete(h.items, id)
	}
	clear(h.pages)
}

// pageKey is everything that decides which rows a page of ListCustomers
// holds.
type pageKey struct {
	order        customer.Order
	query        string // normalized
	updatedAfter string
	after        customer.Cursor
	first        bool // no cursor: the first page
	limit        int
}

// maxPages bounds the pages kept; a key holds at most one query of
// customer.MaxQueryLength characters and a page at most the largest page
// size of rows, so they take a few megabytes at most.
const maxPages = 256

// page returns the customers of the page key, at the revisions a query read
// when nothing had been committed since, if the cache holds every one of
// them.
func (h *hotCustomers) page(key pageKey) ([]customer.Customer, bool) {
	if h == nil {
		return nil, false
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	rows, ok := h.pages[key]
	if !ok {
		return nil, false
	}
	out := make([]customer.Customer, len(rows))
	for i, r := range rows {
		e, ok := h.items[r.ID]
		if !ok || e.revision != r.Revision {
			return nil, false
		}
		out[i] = e.c
	}
	h.hits.Add(int64(len(rows)))
	return out, true
}

// putPage keeps the rows of page key, which a reader read at gen (as for
// fill).
func (h *hotCustomers) putPage(gen uint64, key pageKey, rows []pageRow) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != gen {
		return
	}
	if len(h.pages) >= maxPages {
		clear(h.pages)
	}
	h.pages[key] = rows
}

// len returns how many customers the cache holds.
func (h *hotCustomers) len() int {
	if h == nil {
		return 0
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.items)
}

// gauges are the cache's figures for /metrics; none without a cache.
func (h *hotCustomers) gauges() []metrics.Gauge {
	if h == nil {
		return nil
	}
	return []metrics.Gauge{
		{Name: "customerd_cache_customers", Type: "gauge", Help: "Customers held in the read cache.",
			Value: func() float64 { return float64(h.len()) }},
		{Name: "customerd_cache_hits_total", Type: "counter", Help: "Lookups of a customer that the read cache answered.",
			Value: func() float64 { return float64(h.hits.Load()) }},
		{Name: "customerd_cache_misses_total", Type: "counter", Help: "Lookups of a customer that went to the database.",
			Value: func() float64 { return float64(h.misses.Load()) }},
	}
}
