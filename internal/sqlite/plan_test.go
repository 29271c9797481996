package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// namedQueries reads queries/customers.sql, the source sqlc generates from,
// and returns each query by name with sqlc.arg(x) turned into :x.
func namedQueries(t *testing.T) map[string]string {
	t.Helper()
	src, err := os.ReadFile("../../queries/customers.sql")
	if err != nil {
		t.Fatal(err)
	}
	arg := regexp.MustCompile(`sqlc\.n?arg\((\w+)\)`)
	out := map[string]string{}
	for _, block := range strings.Split(string(src), "-- name: ")[1:] {
		name := strings.Fields(block)[0]
		var lines []string
		for _, l := range strings.Split(block, "\n")[1:] {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		out[name] = arg.ReplaceAllString(strings.Join(lines, "\n"), ":$1")
	}
	return out
}

// queryPlan returns the EXPLAIN QUERY PLAN lines of query.
func queryPlan(t *testing.T, conn queryer, query string, args ...any) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// TestListQueriesUseIndexes checks that no ListCustomers page scans or sorts
// the customers table. Without a search each order is a range search on its
// own index, with no sort; with a search the page starts from the full-text
// matches and looks customers up by id, sorting only the matches (in id
// order, not even those).
// analyzedStore returns a store whose planner statistics were taken on
// 3,000 customers, inserted with plain SQL (so their search index notes are
// still waiting, as after a bulk load), in which "ada" is rare: plans
// depend on statistics.
// queryer is a pool (*sql.DB) or one connection (*sql.Conn).
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func analyzedStore(t *testing.T) *Store {
	t.Helper()
	s := openForTest(t, Options{})
	tx, err := s.writes.conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		name := fmt.Sprintf("Customer %d", i%700)
		if i%500 == 0 {
			name = "Ada " + name
		}
		if _, err := tx.Exec(`INSERT INTO customers (name, email, address) VALUES (?, ?, ?)`,
			name, fmt.Sprintf("c%d@example.com", i), "Somewhere"); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.writes.conn.ExecContext(context.Background(), `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestListQueriesUseIndexes(t *testing.T) {
	s := analyzedStore(t)
	rangeSearch := regexp.MustCompile(`(?m)^SEARCH c USING (INTEGER PRIMARY KEY|INDEX \w+) \(\w+[<>]`)
	byID := regexp.MustCompile(`(?m)^SEARCH c USING INTEGER PRIMARY KEY \(rowid=\?\)`)
	fullText := regexp.MustCompile(`(?m)^SCAN (customers_fts|f) VIRTUAL TABLE INDEX \d+:M`)
	fullScan := regexp.MustCompile(`(?m)^SCAN c( |$)`)
	counts := map[string]int{}
	for name, query := range namedQueries(t) {
		family, _, ok := strings.Cut(name, "CustomersBy")
		if !ok {
			continue
		}
		counts[family]++
		for _, ua := range []string{"", "2026-01-01T00:00:00.000Z"} {
			plan := strings.Join(queryPlan(t, s.read, query,
				sql.Named("after_value", "m"), sql.Named("after_id", 10), sql.Named("updated_after", ua),
				sql.Named("match", `"ada"*`), sql.Named("page_limit", 50)), "\n")
			if fullScan.MatchString(plan) {
				t.Errorf("%s scans customers:\n%s", name, plan)
			}
			switch family {
			case "List":
				if strings.Contains(plan, "TEMP B-TREE") || !rangeSearch.MatchString(plan) {
					t.Errorf("%s is not a range search on an index without a sort:\n%s", name, plan)
				}
			case "Search":
				if !fullText.MatchString(plan) || !byID.MatchString(plan) {
					t.Errorf("%s does not start from the full-text matches:\n%s", name, plan)
				}
				// In id order the matches come in order: no sort, and the
				// query stops after a page.
				if strings.HasPrefix(name, "SearchCustomersByID") && strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("%s sorts the matches:\n%s", name, plan)
				}
			}
		}
	}
	if counts["List"] != 10 || counts["Search"] != 10 {
		t.Fatalf("found %v queries, want 10 of each family (5 fields × 2 directions)", counts)
	}
}

// TestSearchIndexQueriesReadTheNotes checks that bringing the search index
// up to date reads the notes and looks customers up by id, even when the
// statistics were taken with many notes waiting (after a bulk load with
// plain SQL): a scan of customers would make every write transaction cost
// in proportion to the table.
func TestSearchIndexQueriesReadTheNotes(t *testing.T) {
	s := analyzedStore(t)
	fullScan := regexp.MustCompile(`(?m)^SCAN c( |$)`)
	queries := namedQueries(t)
	for _, name := range []string{"SearchIndexApplyNotes", "SearchIndexClearNotes"} {
		query, ok := queries[name]
		if !ok {
			t.Fatalf("no query %s in queries/customers.sql", name)
		}
		plan := strings.Join(queryPlan(t, s.writes.conn, query), "\n")
		if fullScan.MatchString(plan) || strings.Contains(plan, "SCAN customers") {
			t.Errorf("%s scans customers:\n%s", name, plan)
		}
		if name == "SearchIndexApplyNotes" && !strings.Contains(plan, "SEARCH c USING INTEGER PRIMARY KEY") {
			t.Errorf("%s does not look customers up by id:\n%s", name, plan)
		}
	}
}
