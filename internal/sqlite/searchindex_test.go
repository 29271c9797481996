package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

// The full-text index is brought up to date once per write transaction
// from notes the triggers leave (see updateSearchIndex). These tests check
// the index against the table with FTS5's own integrity check, which
// compares every entry with the content it was built from, after batches
// that mix writes which succeed, fail and are rerun with savepoints.

// checkSearchIndex fails t unless the index matches the customers table
// exactly and no note is left over.
func checkSearchIndex(t *testing.T, conn *sql.Conn) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `INSERT INTO customers_fts (customers_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Fatalf("full-text index does not match the customers table: %v", err)
	}
	// search_terms must hold every word of the index (it may hold more).
	var missing []string
	rows, err := conn.QueryContext(ctx, `SELECT term FROM customers_fts_terms EXCEPT SELECT term FROM search_terms`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			t.Fatal(err)
		}
		missing = append(missing, w)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("search_terms lacks words the index holds: %q", missing)
	}
	var notes int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM customers_fts_pending`).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	if notes != 0 {
		t.Fatalf("%d notes left in customers_fts_pending after a commit", notes)
	}
}

// searchIDs returns the ids of the customers a search finds, in id order.
func searchIDs(t *testing.T, s *Store, query string) []int64 {
	t.Helper()
	cs, err := s.ListCustomers(context.Background(), customer.ListParams{Query: query, Limit: 1000})
	if err != nil {
		t.Fatalf("search %q: %v", query, err)
	}
	var ids []int64
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestSearchIndexFollowsBatchedWrites(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{})

	// 32 writers, each creating, renaming twice, and deleting every third
	// of its customers, with a duplicate email and a stale etag among them:
	// batches form, and the failing writes make them run again with
	// savepoints.
	const writers, each = 32, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	var survivors sync.Map // id → final name
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c, err := s.CreateCustomer(ctx, customer.New{
					Name: fmt.Sprintf("Zed%dx%d", w, i), Email: fmt.Sprintf("w%d.%d@example.com", w, i),
				})
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.CreateCustomer(ctx, customer.New{Name: "Dup", Email: fmt.Sprintf("w%d.%d@example.com", w, i)}); customer.ErrorCode(err) != customer.AlreadyExists {
					errs <- fmt.Errorf("duplicate email: got %v, want already exists", err)
					return
				}
				final := c
				for r := range 2 {
					name := fmt.Sprintf("Renamed%dx%dr%d", w, i, r)
					if final, err = s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: &name, Etag: final.Etag}); err != nil {
						errs <- err
						return
					}
				}
				stale := "Never"
				if _, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: &stale, Etag: c.Etag}); customer.ErrorCode(err) != customer.Aborted {
					errs <- fmt.Errorf("stale etag: got %v, want aborted", err)
					return
				}
				if i%3 == 0 {
					if err := s.DeleteCustomer(ctx, c.ID, ""); err != nil {
						errs <- err
						return
					}
					continue
				}
				survivors.Store(c.ID, final.Name)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := s.WriterStats(); st.MaxBatch < 2 || st.Reruns == 0 {
		t.Fatalf("want batches of several writes and reruns with savepoints, got max batch %d, %d reruns", st.MaxBatch, st.Reruns)
	}
	checkSearchIndex(t, s.writes.conn)

	// Every surviving customer is found by its last name only.
	n := 0
	survivors.Range(func(k, v any) bool {
		n++
		if got := searchIDs(t, s, v.(string)); len(got) != 1 || got[0] != k.(int64) {
			t.Errorf("search %q: got %v, want [%d]", v, got, k)
		}
		return true
	})
	if n != writers*(each-each/3) {
		t.Fatalf("%d survivors, want %d", n, writers*(each-each/3))
	}
	for _, gone := range []string{"Zed0x1", "Renamed0x1r0", "Renamed0x0r1", "Never", "Dup"} {
		if got := searchIDs(t, s, gone); len(got) != 0 {
			t.Errorf("search %q: got %v, want nothing (overwritten, deleted or never written)", gone, got)
		}
	}
}

// A failing write is rolled back with everything it noted; a write that
// changes a customer and is then rolled back leaves the index as it was.
func TestSearchIndexIgnoresRolledBackWrites(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{MaxBatch: 1})
	a, err := s.CreateCustomer(ctx, customer.New{Name: "Alpha", Email: "a1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCustomer(ctx, customer.New{Name: "Beta", Email: "beta@example.com"}); err != nil {
		t.Fatal(err)
	}
	// Renames a, then collides with b's email: the whole update fails.
	name, email := "Gamma", "beta@example.com"
	if _, err := s.UpdateCustomer(ctx, customer.Update{ID: a.ID, Name: &name, Email: &email}); customer.ErrorCode(err) != customer.AlreadyExists {
		t.Fatalf("got %v, want already exists", err)
	}
	checkSearchIndex(t, s.writes.conn)
	if got := searchIDs(t, s, "Gamma"); len(got) != 0 {
		t.Fatalf("search Gamma: got %v, want nothing", got)
	}
	if got := searchIDs(t, s, "Alpha"); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("search Alpha: got %v, want [%d]", got, a.ID)
	}
}

// Writes made with plain SQL while the server is stopped (the sqlite3
// shell) are indexed when it starts, and in the server's next transaction
// while it runs.
func TestSearchIndexCatchesUpWithPlainSQL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateCustomer(ctx, customer.New{Name: "Alpha", Email: "a1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	shell, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// Two renames in one transaction, with a conflict clause that the
	// triggers' own statements inherit: the note must keep the values the
	// index holds (Alpha), not the intermediate ones (Psi).
	tx, err := shell.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Psi", "Omega"} {
		if _, err := tx.ExecContext(ctx, `UPDATE OR REPLACE customers SET name = ? WHERE id = ?`, name, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := shell.ExecContext(ctx, `INSERT INTO customers (name, email) VALUES ('Sigma', 'sigma@example.com')`); err != nil {
		t.Fatal(err)
	}
	// A customer given another id: found under the new one only.
	if _, err := shell.ExecContext(ctx, `UPDATE customers SET id = 1000 WHERE name = 'Sigma'`); err != nil {
		t.Fatal(err)
	}
	shell.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkSearchIndex(t, s.writes.conn)
	if got := searchIDs(t, s, "Omega"); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("search Omega after restart: got %v, want [%d]", got, a.ID)
	}
	for _, gone := range []string{"Alpha", "Psi"} {
		if got := searchIDs(t, s, gone); len(got) != 0 {
			t.Fatalf("search %s after restart: got %v, want nothing", gone, got)
		}
	}
	if got := searchIDs(t, s, "Sigma"); len(got) != 1 || got[0] != 1000 {
		t.Fatalf("search Sigma after restart: got %v, want [1000]", got)
	}

	// While running: the plain write is indexed by the server's next write.
	if _, err := s.writes.conn.ExecContext(ctx, `UPDATE customers SET address = 'Quayside' WHERE id = ?`, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCustomer(ctx, customer.New{Name: "Delta", Email: "delta@example.com"}); err != nil {
		t.Fatal(err)
	}
	checkSearchIndex(t, s.writes.conn)
	if got := searchIDs(t, s, "Quayside"); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("search Quayside: got %v, want [%d]", got, a.ID)
	}
}

// A search word that stands for the words of search_terms finds exactly
// what FTS5 finds for the word as a prefix: over a few thousand customers
// and the changes of a busy day (renames, new emails, deletes), for every
// prefix of many words, in several cases and combinations.
func TestSearchByWordsFindsWhatPrefixesFind(t *testing.T) {
	ctx := context.Background()
	s := openForTest(t, Options{})
	seed(t, s, 3000)
	for i := int64(1); i <= 300; i++ {
		name := fmt.Sprintf("Renamed Londoner%d", i%7)
		if _, err := s.UpdateCustomer(ctx, customer.Update{ID: i * 3, Name: &name}); err != nil && customer.ErrorCode(err) != customer.NotFound {
			t.Fatal(err)
		}
		if err := s.DeleteCustomer(ctx, i*7, ""); err != nil && customer.ErrorCode(err) != customer.NotFound {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateCustomer(ctx, customer.New{Name: "Zoë Łukasz", Email: "zoe@straße.example"}); err != nil {
		t.Fatal(err)
	}
	var queries []string
	for _, w := range []string{"london", "londoner3", "lovelace", "ada", "turing", "company17", "example", "street", "renamed", "zoe", "high", "0042", "hopper"} {
		for n := 1; n <= len(w); n++ {
			queries = append(queries, w[:n], strings.ToUpper(w[:n]))
		}
	}
	queries = append(queries, "ada lon", "grace hop", "turing paris", "lovelace7", "zzzz", "Zoë", "straße", "ada.lovelace", "+44 20", "a-b", "london zzz")
	for _, q := range queries {
		got, err := s.ListCustomers(ctx, customer.ListParams{Query: q, Limit: 5000})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		match, ok := ftsQuery(q)
		var want []sqlitedb.SearchCustomersByIDAscRow
		if ok {
			if want, err = s.reads.SearchCustomersByIDAsc(ctx, sqlitedb.SearchCustomersByIDAscParams{Match: match, PageLimit: 5000}); err != nil {
				t.Fatalf("prefix search %q: %v", q, err)
			}
		}
		if len(got) != len(want) {
			t.Errorf("search %q: %d customers, the prefix query finds %d", q, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i].ID != want[i].ID {
				t.Errorf("search %q: customer %d is %d, the prefix query's is %d", q, i, got[i].ID, want[i].ID)
				break
			}
		}
	}
	checkSearchIndex(t, s.writes.conn)
}
