package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
)

// The erased person's values, distinctive enough that no other byte
// sequence of the database can hold them by chance, and the words the
// search index makes of them.
var (
	erasedValues = []string{
		"Zyxwvut Qrstuvwxy", "zyxw.erasetarget@example.org", "old.erasetarget@example.org",
		"+99 8877 665544", "17 Quixotic Lane, Vbnmtown",
	}
	erasedWords = []string{"zyxwvut", "qrstuvwxy", "erasetarget", "665544", "quixotic", "vbnmtown"}
)

// TestEraseLeavesNoValues erases a customer among others that were
// created, updated and deleted before, and then looks for its values
// everywhere: on SQLite in the raw bytes of the database file and its WAL,
// on PostgreSQL in every row of every table. It also checks what the API
// sees: the read cache, search, the change feed's tombstones, and that
// erasure is audited.
func TestEraseLeavesNoValues(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx := context.Background()
		dsn := e.DSN(t)
		s := e.Reopen(t, dsn, engine.Options{})
		for i := range 300 {
			c := mustCreate(t, s, fmt.Sprintf("Filler %d Person", i), fmt.Sprintf("filler%d@example.com", i))
			switch i % 3 {
			case 0:
				if err := s.DeleteCustomer(ctx, c.ID, ""); err != nil {
					t.Fatal(err)
				}
			case 1:
				if _, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: ptr(fmt.Sprintf("Renamed %d", i))}); err != nil {
					t.Fatal(err)
				}
			}
		}
		wctx := customer.WithAudit(ctx, customer.AuditEvent{Principal: "crm", Procedure: "CreateCustomer"})
		target, err := s.CreateCustomer(wctx, customer.New{
			Name: "Zyxwvut Qrstuvwxy", Email: "old.erasetarget@example.org", Phone: ptr("+99 8877 665544"),
			Address: ptr("17 Quixotic Lane, Vbnmtown"), RequestID: "0f8fad5b-d9cb-469f-a165-70867728950e",
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateCustomer(ctx, customer.Update{ID: target.ID, Email: ptr("zyxw.erasetarget@example.org")}); err != nil {
			t.Fatal(err)
		}
		// Read it, so that SQLite's read cache holds it.
		if c, err := s.GetCustomer(ctx, target.ID); err != nil || c.Name != target.Name {
			t.Fatalf("get before erasure: %+v, %v", c, err)
		}
		if hits := search(t, s, "quixotic"); hits != 1 {
			t.Fatalf("search before erasure found %d", hits)
		}

		if !engine.IsPostgres(dsn) {
			// The scan sees the values while they are there.
			for _, v := range []string{"Zyxwvut Qrstuvwxy", "old.erasetarget@example.org", "vbnmtown"} {
				if !filesHold(t, dsn, v) {
					t.Fatalf("before the erasure, the files do not hold %q: the scan would prove nothing", v)
				}
			}
		}
		if err := s.EraseCustomer(ctx, target.ID, "wrong"); customer.ErrorCode(err) != customer.Aborted {
			t.Fatalf("erase with a stale etag: %v", err)
		}
		start := time.Now()
		ectx := customer.WithAudit(ctx, customer.AuditEvent{Principal: "dpo", Procedure: "EraseCustomer"})
		if err := s.EraseCustomer(ectx, target.ID, ""); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: EraseCustomer took %v", e.Name, time.Since(start).Round(time.Millisecond))
		wantCode(t, s.EraseCustomer(ctx, target.ID, ""), customer.NotFound)
		if _, err := s.GetCustomer(ctx, target.ID); customer.ErrorCode(err) != customer.NotFound {
			t.Fatalf("get after erasure (the read cache must have dropped it): %v", err)
		}
		if hits := search(t, s, "quixotic"); hits != 0 {
			t.Fatalf("search after erasure found %d", hits)
		}
		changes, err := s.CustomerChanges(ctx, target.ID)
		if err != nil || len(changes) != 3 {
			t.Fatalf("changes after erasure: %+v, %v", changes, err)
		}
		for i, want := range []customer.ChangeType{customer.Created, customer.Updated, customer.Erased} {
			c := changes[i].Customer
			if changes[i].Type != want || c.ID != target.ID || c.Name != "" || c.Email != "" || c.Phone != nil || c.Address != nil || c.UpdateTime.IsZero() {
				t.Fatalf("change %d after erasure: %+v, want a %v tombstone", i, changes[i], want)
			}
		}
		evs, err := s.ListAuditEvents(ctx, customer.AuditQuery{CustomerID: target.ID, Procedure: "EraseCustomer", Limit: 5})
		if err != nil || len(evs) != 1 || evs[0].Principal != "dpo" {
			t.Fatalf("the erasure's audit event: %+v, %v", evs, err)
		}

		if engine.IsPostgres(dsn) {
			scanPostgres(t, dsn)
			return
		}
		scanFiles(t, dsn)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		scanFiles(t, dsn)
	})
}

func search(t *testing.T, s engine.Engine, q string) int {
	t.Helper()
	cs, err := s.ListCustomers(context.Background(), customer.ListParams{Query: q, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// scanFiles looks for the erased values and words (erasedValues and
// erasedWords unless others are given), as the bytes SQLite stores them
// (UTF-8), in the database file and its WAL.
func scanFiles(t *testing.T, path string, values ...string) {
	t.Helper()
	if len(values) == 0 {
		values = append(append(values, erasedValues...), erasedWords...)
	}
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if i := bytes.Index(data, []byte(v)); i >= 0 {
				t.Errorf("%s (%d bytes) still holds %q at offset %d", path+suffix, len(data), v, i)
			}
		}
		t.Logf("scanned %s: %d bytes", path+suffix, len(data))
	}
}

// filesHold reports whether the database file or its WAL holds v.
func filesHold(t *testing.T, path, v string) bool {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(v)) {
			return true
		}
	}
	return false
}

// scanPostgres looks for the erased values and words (erasedValues and
// erasedWords unless others are given) in every row of every table of the
// database, each row as text.
func scanPostgres(t *testing.T, dsn string, values ...string) {
	t.Helper()
	if len(values) == 0 {
		values = append(append(values, erasedValues...), erasedWords...)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 5 {
		t.Fatalf("tables: %v, %v", tables, err)
	}
	for _, table := range tables {
		for _, v := range values {
			var n int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table+` AS r WHERE strpos(lower(r::text), $1) > 0`, strings.ToLower(v)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				t.Errorf("%d rows of %s hold %q", n, table, v)
			}
		}
	}
	t.Logf("scanned every row of %d tables", len(tables))
}

// TestConcurrentErasuresLeaveNoValues erases ten customers at once, as
// erasurelog.Reapply does after a restore, so that the writer takes several
// erasures in one transaction, and then looks for the values of every one
// of them as TestEraseLeavesNoValues does, beside customers left alone.
func TestConcurrentErasuresLeaveNoValues(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dsn := e.DSN(t)
		s := e.Reopen(t, dsn, engine.Options{})
		for i := range 100 {
			mustCreate(t, s, fmt.Sprintf("Filler %d Person", i), fmt.Sprintf("filler%d@example.com", i))
		}
		// Words that share no prefix, so that each is whole in the index.
		var ids []int64
		var values []string
		for i := range 10 {
			word := string(rune('k'+i)) + "zqvxjw"
			c := mustCreate(t, s, word+" Erasable", word+".target@example.net")
			ids = append(ids, c.ID)
			values = append(values, word+" Erasable", word+".target@example.net", word)
		}
		if !engine.IsPostgres(dsn) && !filesHold(t, dsn, values[0]) {
			t.Fatalf("before the erasures, the files do not hold %q: the scan would prove nothing", values[0])
		}
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { errs[i] = s.EraseCustomer(ctx, id, "") })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("erasing customer %d: %v", ids[i], err)
			}
		}
		for i, id := range ids {
			if _, err := s.GetCustomer(ctx, id); customer.ErrorCode(err) != customer.NotFound {
				t.Fatalf("customer %d after its erasure: %v, want NotFound", id, err)
			}
			if hits := search(t, s, values[3*i+2]); hits != 0 {
				t.Fatalf("search for %q after the erasures found %d", values[3*i+2], hits)
			}
		}
		if hits := search(t, s, "filler"); hits != 10 {
			t.Fatalf("search for the customers left alone found %d of a page of 10", hits)
		}
		if engine.IsPostgres(dsn) {
			scanPostgres(t, dsn, values...)
			return
		}
		scanFiles(t, dsn, values...)
	})
}

// TestEraseDeletedCustomer erases a customer that was deleted before: its
// change events, which still hold its values, become tombstones.
func TestEraseDeletedCustomer(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx := context.Background()
		s := e.Open(t, engine.Options{})
		c := mustCreate(t, s, "Gone Person", "gone@example.com")
		if err := s.DeleteCustomer(ctx, c.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.EraseCustomer(ctx, c.ID, ""); err != nil {
			t.Fatalf("erase of a deleted customer: %v", err)
		}
		changes, err := s.CustomerChanges(ctx, c.ID)
		if err != nil || len(changes) != 2 || changes[0].Customer.Name != "" || changes[1].Type != customer.Erased {
			t.Fatalf("changes: %+v, %v", changes, err)
		}
		wantCode(t, s.EraseCustomer(ctx, c.ID, ""), customer.NotFound)
		wantCode(t, s.EraseCustomer(ctx, 12345, ""), customer.NotFound)
	})
}
