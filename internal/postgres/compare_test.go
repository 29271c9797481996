package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/sqlite"
)

// The tests in this file load the same customers into the SQLite engine and
// into this one, and check that both return the same customers in the same
// order, page by page, for every order and a range of searches.

// sampleCustomers returns fixed customers that exercise the collation and
// the tokenizer (ASCII case, accents, letters only one of lower() and
// NOCASE folds, punctuation, emails, phones), then n random ones.
func sampleCustomers(n int) []customer.New {
	cs := []customer.New{
		{Name: "Ada Lovelace", Email: "ada@example.com", Phone: ptr("+44 20 7946 0000"), Address: ptr("12 St James Sq, London")},
		{Name: "ada lovelace", Email: "Ada.L@Example.org"},
		{Name: "ADA", Email: "ada2@example.com"},
		{Name: "Émile Zola", Email: "emile@zola.fr", Address: ptr("Médan, Île-de-France")},
		{Name: "émile zola", Email: "Émile@zola.fr"},
		{Name: "Emile", Email: "e.mile@zola.fr"},
		{Name: "Łukasz Żółć", Email: "lukasz@example.pl", Address: ptr("Łódź")},
		{Name: "Straße", Email: "strasse@example.de", Address: ptr("Straße des 17. Juni")},
		{Name: "Zoë", Email: "zoe@example.com", Phone: ptr("(555) 010-0199")},
		{Name: "zoe", Email: "ZOE@example.net"},
		{Name: "_underscore", Email: "under_score@example.com"},
		{Name: "[bracket]", Email: "bracket@example.com"},
		{Name: "John Doe", Email: "john.doe@example.com", Phone: ptr("555-0100")},
		{Name: "Jöhn Döe", Email: "john.doe2@acme.com", Address: ptr("Acme Corp., 1 Main St.")},
		{Name: "Ωμέγα Ἀθῆναι", Email: "omega@example.gr"},
		{Name: "日本語テキスト", Email: "nihongo@example.jp"},
		{Name: "e\u0301cole", Email: "ecole@example.fr"},
		{Name: "x²y", Email: "x2y@example.com", Phone: ptr("½")},
		{Name: "Anne-Marie O'Neil", Email: "anne-marie.oneil@example.ie"},
		{Name: "Ænid", Email: "aenid@example.com"},
		{Name: "İstanbul", Email: "istanbul@example.tr"},
		{Name: "a", Email: "a@b.co"},
		{Name: "A", Email: "A2@b.co"},
		{Name: "Zz", Email: "zz@example.com"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	parts := []string{"ada", "Ada", "ADA", "émile", "Émile", "Łódź", "lodz", "john", "doe", "acme", "zoë", "Zoe",
		"straße", "ſtraße", "ıstanbul", "µ-metal", "ΣΟΦΟΣ", "x", "Y", "café", "CAFE", "ŽOLĆ", "o'neil", "müller", "Muller", "ñandú", "Ørsted", "σ", "Σ"}
	word := func() string { return parts[r.IntN(len(parts))] }
	for i := range n {
		c := customer.New{
			Name:  word() + " " + word(),
			Email: fmt.Sprintf("%s.%s%d@%s.com", word(), word(), i, []string{"example", "acme", "EXAMPLE"}[r.IntN(3)]),
		}
		if r.IntN(2) == 0 {
			c.Phone = ptr(fmt.Sprintf("+%d %d-%04d", r.IntN(99), r.IntN(999), r.IntN(10000)))
		}
		if r.IntN(2) == 0 {
			c.Address = ptr(fmt.Sprintf("%d %s %s, %s", r.IntN(200), word(), word(), word()))
		}
		cs = append(cs, c)
	}
	return cs
}

// loadBoth creates cs in both engines, in order, and makes a few updates,
// so that ids and the order of update times agree.
func loadBoth(t *testing.T, cs []customer.New) (lite *sqlite.Store, pg customer.Store) {
	t.Helper()
	ctx := context.Background()
	lite, err := sqlite.Open(filepath.Join(t.TempDir(), "c.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	pg = MustOpenStore(t)
	for _, s := range []customer.Store{lite, pg} {
		for i, c := range cs {
			got, err := s.CreateCustomer(ctx, c)
			if err != nil {
				t.Fatalf("%T: create %d %+v: %v", s, i, c, err)
			}
			if got.ID != int64(i+1) {
				t.Fatalf("%T: customer %d got id %d", s, i, got.ID)
			}
		}
		for _, id := range []int64{3, 1, 7} {
			// Updated strictly later than every create, in both engines.
			time.Sleep(2 * time.Millisecond)
			if _, err := s.UpdateCustomer(ctx, customer.Update{ID: id, SetAddress: true, Address: ptr("updated")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return lite, pg
}

// walk lists every page of p (pages of size) and returns the ids in order.
func walk(t *testing.T, s customer.Store, p customer.ListParams, size int) []int64 {
	t.Helper()
	var ids []int64
	p.Limit = size
	for range 10000 {
		page, err := s.ListCustomers(context.Background(), p)
		if err != nil {
			t.Fatalf("%T: list %+v: %v", s, p, err)
		}
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		if len(page) < size {
			return ids
		}
		cur := p.Order.CursorOf(page[len(page)-1])
		p.After = &cur
	}
	t.Fatal("paging did not end")
	return nil
}

var allOrders = func() []customer.Order {
	var os []customer.Order
	for _, f := range []customer.OrderField{customer.ByID, customer.ByName, customer.ByEmail, customer.ByCreateTime, customer.ByUpdateTime} {
		os = append(os, customer.Order{Field: f}, customer.Order{Field: f, Desc: true})
	}
	return os
}()

func TestListMatchesSQLite(t *testing.T) {
	lite, pg := loadBoth(t, sampleCustomers(150))
	for _, o := range allOrders {
		for _, size := range []int{1, 3, 1000} {
			p := customer.ListParams{Order: o}
			want, got := walk(t, lite, p, size), walk(t, pg, p, size)
			if !slices.Equal(got, want) {
				t.Errorf("order %v, pages of %d:\n got %v\nwant %v", o, size, got, want)
			}
		}
	}
}

// TestPageTokensCrossEngines starts a listing on one engine and finishes
// it on the other: cursors do not depend on the engine. (The two engines
// stamp different times on their copies, so only the orders by id, name and
// email can be compared.)
func TestPageTokensCrossEngines(t *testing.T) {
	lite, pg := loadBoth(t, sampleCustomers(40))
	ctx := context.Background()
	for _, o := range allOrders {
		if o.Field == customer.ByCreateTime || o.Field == customer.ByUpdateTime {
			continue
		}
		p := customer.ListParams{Order: o, Limit: 7}
		first, err := lite.ListCustomers(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		cur := o.CursorOf(first[len(first)-1])
		p.After = &cur
		want, got := walk(t, lite, p, 5), walk(t, pg, p, 5)
		if !slices.Equal(got, want) {
			t.Errorf("order %v after %+v:\n got %v\nwant %v", o, cur, got, want)
		}
	}
}

func TestSearchMatchesSQLite(t *testing.T) {
	cs := sampleCustomers(150)
	lite, pg := loadBoth(t, cs)
	ctx := context.Background()
	queries := []string{
		"ada", "ADA lond", "lovelace ada", "émile", "emile", "EMILE zola", "e.mile", "zola.fr", "acme.com",
		"john.d", "john.doe@example.com", "doe@", "+44", "20 79", "7946", "(555)", "555-01", "ł", "łódź", "lodz",
		"straße", "strasse", "stra", "zoë", "zoe", "o", "-", "@@", "x²", "x", "½", "ab cd", "", "日本",
		"日本語テキスト", "ωμέγα", "Ωμεγα", "ἀθῆναι", "ecole", "école", "e\u0301cole", "anne-marie", "o'neil",
		"oneil", "o", "Ænid", "aenid", "istanbul", "İstanbul", "17. juni", "updated", "café", "cafe", "müller",
		"muller", "ñandú", "nandu", "ørsted", "orsted", "σ", "ς", "Σ", "ſ", "ı", "µ", "a", "b.co", "\"ada\"", "ada*", "ada OR zoe",
		"NOT ada", "ada AND", "(ada)", "ada:*", "ada & zoe", "ada | zoe", "'ada'", "ada\\", "1", "17", "0000",
	}
	// Prefixes of words that occur in the data.
	r := rand.New(rand.NewPCG(3, 4))
	for range 60 {
		c := cs[r.IntN(len(cs))]
		fields := strings.FieldsFunc(c.Name+" "+c.Email, func(r rune) bool { return r == ' ' || r == '@' })
		w := []rune(fields[r.IntN(len(fields))])
		queries = append(queries, string(w[:1+r.IntN(len(w))]))
	}
	for _, q := range queries {
		for _, o := range allOrders {
			p := customer.ListParams{Query: q, Order: o}
			want, got := walk(t, lite, p, 1000), walk(t, pg, p, 1000)
			if !slices.Equal(got, want) {
				t.Errorf("query %q order %v:\n got %v\nwant %v", q, o, got, want)
				break
			}
			if o.Field == customer.ByName {
				if paged := walk(t, pg, p, 4); !slices.Equal(paged, want) {
					t.Errorf("query %q order %v in pages of 4: %v, want %v", q, o, paged, want)
				}
			}
		}
		p := customer.ListParams{Query: q}
		wantN, err := lite.CountCustomers(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if gotN, err := pg.CountCustomers(ctx, p); err != nil || gotN != wantN {
			t.Errorf("count %q: %d, %v; want %d", q, gotN, err, wantN)
		}
	}
}
