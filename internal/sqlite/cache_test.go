package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"customerd/internal/customer"
)

func createForTest(t *testing.T, s *Store, name string) customer.Customer {
	t.Helper()
	c, err := s.CreateCustomer(context.Background(), customer.New{Name: name, Email: strings.ToLower(name) + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listNames(t *testing.T, s *Store) []string {
	t.Helper()
	page, err := s.ListCustomers(context.Background(), customer.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range page {
		names = append(names, c.Name)
	}
	return names
}

// Reads served from the cache see every acknowledged update and delete.
func TestCacheFollowsWrites(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{})
	a := createForTest(t, s, "Ada")
	createForTest(t, s, "Grace")
	if got := listNames(t, s); fmt.Sprint(got) != "[Ada Grace]" {
		t.Fatalf("list: %v", got)
	}
	if _, err := s.GetCustomer(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if n := s.hot.len(); n != 2 {
		t.Fatalf("the cache holds %d customers after a list and a get, want 2", n)
	}
	name := "Ada L."
	if _, err := s.UpdateCustomer(ctx, customer.Update{ID: a.ID, Name: &name}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCustomer(ctx, a.ID)
	if err != nil || got.Name != name {
		t.Fatalf("get after update: %q, %v; want %q", got.Name, err, name)
	}
	if got := listNames(t, s); fmt.Sprint(got) != "[Ada L. Grace]" {
		t.Fatalf("list after update: %v", got)
	}
	if err := s.DeleteCustomer(ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCustomer(ctx, a.ID); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("get after delete: %v, want not found", err)
	}
	if got := listNames(t, s); fmt.Sprint(got) != "[Grace]" {
		t.Fatalf("list after delete: %v", got)
	}
}

// A reader adds what it read only if no commit that wrote customers came
// after it took the generation: its row may be older than that commit.
func TestCacheRefusesFillsOvertakenByACommit(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{})
	a := createForTest(t, s, "Ada")
	gen := s.hot.generation()
	old, err := s.reads.GetCustomer(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	name := "Ada L."
	if _, err := s.UpdateCustomer(ctx, customer.Update{ID: a.ID, Name: &name}); err != nil {
		t.Fatal(err)
	}
	s.hot.fill(gen, hotRow(old))
	if c, _, ok := s.hot.get(a.ID); ok {
		t.Fatalf("the cache took a row read before a later commit: %q", c.Name)
	}
	got, err := s.GetCustomer(ctx, a.ID)
	if err != nil || got.Name != name {
		t.Fatalf("get: %q, %v; want %q", got.Name, err, name)
	}
	// Without a commit in between, the fill is taken.
	s.hot.invalidate(map[int64]struct{}{a.ID: {}})
	gen = s.hot.generation()
	row, err := s.reads.GetCustomer(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.hot.fill(gen, hotRow(row))
	if c, _, ok := s.hot.get(a.ID); !ok || c.Name != name {
		t.Fatalf("the cache did not take a current row: %q, %v", c.Name, ok)
	}
}

// A page takes a customer from the cache only when the cache holds the
// revision the page's own query read.
func TestListUsesOnlyTheRevisionItRead(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{})
	a := createForTest(t, s, "Ada")
	row, err := s.reads.GetCustomer(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A marked copy at the stored revision is used: the page comes from the cache.
	marked := row
	marked.Name = "from the cache"
	s.hot.invalidate(map[int64]struct{}{a.ID: {}})
	s.hot.fill(s.hot.generation(), hotRow(marked))
	if got := listNames(t, s); fmt.Sprint(got) != "[from the cache]" {
		t.Fatalf("list with the revision cached: %v", got)
	}
	// At another revision it is not: the page reads the row.
	marked.Revision++
	s.hot.invalidate(map[int64]struct{}{a.ID: {}})
	s.hot.fill(s.hot.generation(), hotRow(marked))
	if got := listNames(t, s); fmt.Sprint(got) != "[Ada]" {
		t.Fatalf("list with another revision cached: %v", got)
	}
	if _, rev, _ := s.hot.get(a.ID); rev != row.Revision {
		t.Fatalf("the page left revision %d in the cache, want the one it read, %d", rev, row.Revision)
	}
}

// No reader ever sees a customer older than the last acknowledged write,
// while readers fill the cache concurrently with the writes.
func TestCacheNeverServesOlderThanAcknowledged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := openForTest(t, Options{})
	a := createForTest(t, s, "v0")
	var acked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	stop := make(chan struct{})
	for r := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				want := acked.Load()
				var name string
				if r%2 == 0 {
					c, err := s.GetCustomer(ctx, a.ID)
					if err != nil {
						errs <- err
						return
					}
					name = c.Name
				} else {
					page, err := s.ListCustomers(ctx, customer.ListParams{Limit: 10})
					if err != nil || len(page) != 1 {
						errs <- fmt.Errorf("list: %d customers, %v", len(page), err)
						return
					}
					name = page[0].Name
				}
				if v, _ := strconv.ParseInt(strings.TrimPrefix(name, "v"), 10, 64); v < want {
					errs <- fmt.Errorf("reader %d saw %q after v%d was acknowledged", r, name, want)
					return
				}
			}
		})
	}
	for v := int64(1); v <= 300 && ctx.Err() == nil && len(errs) == 0; v++ {
		name := fmt.Sprint("v", v)
		if _, err := s.UpdateCustomer(ctx, customer.Update{ID: a.ID, Name: &name}); err != nil {
			t.Fatal(err)
		}
		acked.Store(v)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The cache holds at most CacheSize customers; every read stays right.
func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{CacheSize: 5})
	var cs []customer.Customer
	for i := range 20 {
		cs = append(cs, createForTest(t, s, fmt.Sprint("C", i)))
	}
	for range 2 {
		for _, c := range cs {
			got, err := s.GetCustomer(ctx, c.ID)
			if err != nil || got.Name != c.Name {
				t.Fatalf("get %d: %q, %v; want %q", c.ID, got.Name, err, c.Name)
			}
		}
		if got := listNames(t, s); len(got) != 20 {
			t.Fatalf("list: %d customers, want 20", len(got))
		}
	}
	if n := s.hot.len(); n > 5 {
		t.Fatalf("the cache holds %d customers, more than its 5", n)
	}
	off := openForTest(t, Options{CacheSize: -1})
	c := createForTest(t, off, "Ada")
	if got, err := off.GetCustomer(ctx, c.ID); err != nil || got.Name != "Ada" || off.hot.len() != 0 {
		t.Fatalf("without a cache: %q, %v, %d cached", got.Name, err, off.hot.len())
	}
}

// A page asked again with nothing committed in between is answered
// without a query; any commit, a create among them, makes the next one
// query again.
func TestRepeatedPagesSkipTheQuery(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{})
	var scans atomic.Int64
	s.scanHook = func(context.Context, *sql.Tx) error { scans.Add(1); return nil }
	a := createForTest(t, s, "Ada")
	for range 3 {
		if got := listNames(t, s); fmt.Sprint(got) != "[Ada]" {
			t.Fatalf("list: %v", got)
		}
	}
	if n := scans.Load(); n != 1 {
		t.Fatalf("three lists of one page ran %d queries, want 1", n)
	}
	createForTest(t, s, "Grace")
	if got := listNames(t, s); fmt.Sprint(got) != "[Ada Grace]" {
		t.Fatalf("list after a create: %v", got)
	}
	name := "Ada L."
	if _, err := s.UpdateCustomer(ctx, customer.Update{ID: a.ID, Name: &name}); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, s); fmt.Sprint(got) != "[Ada L. Grace]" {
		t.Fatalf("list after an update: %v", got)
	}
	// Another page is another key.
	page, err := s.ListCustomers(ctx, customer.ListParams{Limit: 1})
	if err != nil || len(page) != 1 || page[0].Name != name {
		t.Fatalf("page of one: %v, %v", page, err)
	}
	if n := scans.Load(); n != 4 {
		t.Fatalf("%d queries, want 4 (one per page after each commit)", n)
	}
	// Many distinct pages keep a bounded number.
	for i := range maxPages + 10 {
		if _, err := s.ListCustomers(ctx, customer.ListParams{Limit: 1, Query: fmt.Sprint("x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.hot.pages); n > maxPages {
		t.Fatalf("%d pages kept, more than %d", n, maxPages)
	}
}
