package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"customerd/internal/customer"
	"customerd/internal/sqlite"
)

// makeCustomers makes a database at path holding n customers, closed.
func makeCustomers(t *testing.T, path string, n int) {
	t.Helper()
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := s.CreateCustomer(context.Background(), customer.New{
			Name: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("c%d@example.com", i),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies the database at src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// damagePage overwrites page n (from 1) of the SQLite file at path with
// junk, the page size read from the file's header.
func damagePage(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header := make([]byte, 100)
	if _, err := io.ReadFull(f, header); err != nil {
		t.Fatal(err)
	}
	pageSize := int64(binary.BigEndian.Uint16(header[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	junk := []byte(strings.Repeat("junk!", int(pageSize)/5+1))[:pageSize]
	if _, err := f.WriteAt(junk, int64(n-1)*pageSize); err != nil {
		t.Fatal(err)
	}
}

// TestCheck checks a sound database, copies of it with a damaged page, and
// one whose search index no longer matches its customers.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sound := filepath.Join(dir, "sound.db")
	makeCustomers(t, sound, 300)

	t.Run("Sound", func(t *testing.T) {
		before := fileState(t, sound)
		problems, err := sqlite.Check(ctx, sound)
		if err != nil || len(problems) > 0 {
			t.Fatalf("got %q, %v; want no problems", problems, err)
		}
		if after := fileState(t, sound); after != before {
			t.Errorf("check changed the file: %q before, %q after", before, after)
		}
	})
	for _, page := range []int{2, 5} {
		t.Run(fmt.Sprintf("DamagedPage%d", page), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("page%d.db", page))
			copyFile(t, sound, path)
			damagePage(t, path, page)
			problems, err := sqlite.Check(ctx, path)
			if err != nil || len(problems) == 0 {
				t.Fatalf("got %q, %v; want problems", problems, err)
			}
			t.Logf("problems: %q", problems)
		})
	}
	t.Run("StaleSearchIndex", func(t *testing.T) {
		path := filepath.Join(dir, "stale.db")
		copyFile(t, sound, path)
		// A change the index never hears of: the note the trigger left is
		// deleted in the same transaction.
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`BEGIN; UPDATE customers SET name = 'Zebulon' WHERE id = 7; DELETE FROM customers_fts_pending; COMMIT`)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		problems, err := sqlite.Check(ctx, path)
		if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "the search index (customers_fts) does not match the customers table") {
			t.Fatalf("got %q, %v; want the search index named", problems, err)
		}
		t.Logf("problems: %q", problems)
	})
	t.Run("ChangeNotYetIndexed", func(t *testing.T) {
		// A write made with the sqlite3 shell reaches the index at the
		// server's next start: not a problem.
		path := filepath.Join(dir, "pending.db")
		copyFile(t, sound, path)
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`UPDATE customers SET name = 'Zebulon' WHERE id = 7`)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if problems, err := sqlite.Check(ctx, path); err != nil || len(problems) > 0 {
			t.Fatalf("got %q, %v; want no problems", problems, err)
		}
	})
	t.Run("NotACustomerdDatabase", func(t *testing.T) {
		path := filepath.Join(dir, "other.db")
		makeForeign(t, path, "DELETE")
		if _, err := sqlite.Check(ctx, path); err == nil || !strings.Contains(err.Error(), "is not a customerd database") {
			t.Fatalf("got %v, want not a customerd database", err)
		}
	})
}

// TestDamagedCallback opens a copy of a database with page 5
// (sqlite_sequence, which every create updates) overwritten: creates fail
// with customer.Unavailable and a message without SQLite's text, and
// Options.Damaged is called once.
func TestDamagedCallback(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "customers.db")
	makeCustomers(t, path, 300)
	damagePage(t, path, 5)
	var calls atomic.Int32
	s, err := sqlite.Open(path, sqlite.Options{Damaged: func() { calls.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		_, err := s.CreateCustomer(context.Background(), customer.New{Name: "Ada", Email: fmt.Sprintf("ada%d@example.com", i)})
		if customer.ErrorCode(err) != customer.Unavailable || strings.Contains(err.Error(), "malformed") {
			t.Fatalf("create %d: %v, want Unavailable without SQLite's text", i, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("Damaged called %d times, want 1", n)
	}
}
