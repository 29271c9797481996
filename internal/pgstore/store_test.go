package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/customer"
	"customerd/internal/pgstore"
	"customerd/internal/pgtest"
)

// MustOpenStore opens a store on a new, empty database.
func MustOpenStore(tb testing.TB) *pgstore.Store {
	tb.Helper()
	return mustOpen(tb, pgtest.URL(tb), pgstore.Options{})
}

func mustOpen(tb testing.TB, url string, opts pgstore.Options) *pgstore.Store {
	tb.Helper()
	s, err := pgstore.Open(context.Background(), url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// mustConnect opens a plain connection to url, as psql or another program
// would use the database.
func mustConnect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func ptr(s string) *string { return &s }

func mustCreate(tb testing.TB, s customer.Store, name, email string) customer.Customer {
	tb.Helper()
	c, err := s.CreateCustomer(context.Background(), customer.New{Name: name, Email: email})
	if err != nil {
		tb.Fatalf("create %s: %v", email, err)
	}
	return c
}

func wantCode(t *testing.T, err error, want customer.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if got := customer.ErrorCode(err); got != want {
		t.Fatalf("got %v (%v), want %v", got, err, want)
	}
}

func countRows(t *testing.T, url, table string) int {
	t.Helper()
	var n int
	if err := mustConnect(t, url).QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateCustomer(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s := MustOpenStore(t)
		before := time.Now().Add(-time.Second)
		c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com", Phone: ptr("+44 1")})
		if err != nil {
			t.Fatal(err)
		}
		if c.ID <= 0 || c.Name != "Ada" || c.Email != "ada@example.com" || c.Phone == nil || *c.Phone != "+44 1" || c.Address != nil {
			t.Fatalf("created %+v", c)
		}
		if c.CreateTime.Before(before) || !c.CreateTime.Equal(c.UpdateTime) || c.Etag != customer.Etag(c.ID, 1) {
			t.Fatalf("timestamps/etag: %+v", c)
		}
		if c.CreateTime.Location() != time.UTC {
			t.Fatalf("create_time in %v, want UTC", c.CreateTime.Location())
		}
		got, err := s.GetCustomer(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.Etag != c.Etag || !got.CreateTime.Equal(c.CreateTime) || *got.Phone != *c.Phone {
			t.Fatalf("get: got %+v, want %+v", got, c)
		}
	})
	t.Run("MillisecondPrecision", func(t *testing.T) {
		s := MustOpenStore(t)
		var sawMillis bool
		for i := range 20 {
			c := mustCreate(t, s, "x", fmt.Sprintf("ms%d@example.com", i))
			if c.CreateTime.Nanosecond()%int(time.Millisecond) != 0 {
				t.Fatalf("create_time %v has sub-millisecond digits", c.CreateTime)
			}
			if c.CreateTime.Nanosecond() != 0 {
				sawMillis = true
				break
			}
			time.Sleep(3 * time.Millisecond)
		}
		if !sawMillis {
			t.Fatal("20 create_times all fell on whole seconds: precision is seconds, not milliseconds")
		}
	})
	t.Run("ErrAlreadyExists", func(t *testing.T) {
		s := MustOpenStore(t)
		mustCreate(t, s, "Ada", "Ada@Example.com")
		_, err := s.CreateCustomer(ctx, customer.New{Name: "Other", Email: "ada@example.COM"})
		wantCode(t, err, customer.AlreadyExists)
		if strings.Contains(err.Error(), "duplicate") || strings.Contains(err.Error(), "customers") {
			t.Fatalf("error leaks PostgreSQL text: %q", err)
		}
		page, _ := s.ListCustomers(ctx, customer.ListParams{Limit: 10})
		if len(page) != 1 {
			t.Fatalf("customers after a rejected create: %d, want 1", len(page))
		}
	})
	t.Run("NonASCIICaseIsDistinct", func(t *testing.T) {
		// NOCASE folds ASCII letters only: É and é are different letters
		// to SQLite, so these emails do not collide there, nor here.
		s := MustOpenStore(t)
		mustCreate(t, s, "Émile", "Émile@example.com")
		mustCreate(t, s, "émile", "émile@example.com")
		_, err := s.CreateCustomer(ctx, customer.New{Name: "x", Email: "éMILE@EXAMPLE.COM"})
		wantCode(t, err, customer.AlreadyExists)
	})
	t.Run("ErrInvalidFromDatabase", func(t *testing.T) {
		s := MustOpenStore(t)
		_, err := s.CreateCustomer(ctx, customer.New{Name: strings.Repeat("n", 201), Email: "a@example.com"})
		wantCode(t, err, customer.Invalid)
		_, err = s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "a@example.com", Phone: ptr(strings.Repeat("1", 33))})
		wantCode(t, err, customer.Invalid)
		// Characters, not bytes, count: 200 two-byte letters fit.
		mustCreate(t, s, strings.Repeat("é", 200), "b@example.com")
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		s := MustOpenStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.CreateCustomer(cctx, customer.New{Name: "Ada", Email: "ada@example.com"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if page, _ := s.ListCustomers(ctx, customer.ListParams{Limit: 10}); len(page) != 0 {
			t.Fatal("a canceled create wrote a row")
		}
	})
}

func TestGetCustomer(t *testing.T) {
	s := MustOpenStore(t)
	_, err := s.GetCustomer(context.Background(), 12345)
	wantCode(t, err, customer.NotFound)
}

func TestUpdateCustomer(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s := MustOpenStore(t)
		c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com", Phone: ptr("1"), Address: ptr("London")})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Etag: c.Etag, Name: ptr("Ada L."), SetPhone: true})
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "Ada L." || u.Phone != nil || u.Address == nil || *u.Address != "London" || u.Email != c.Email {
			t.Fatalf("updated %+v", u)
		}
		if u.Etag != customer.Etag(c.ID, 2) {
			t.Fatalf("etag %s, want that of revision 2", u.Etag)
		}
		if !u.UpdateTime.After(c.UpdateTime) || !u.CreateTime.Equal(c.CreateTime) {
			t.Fatalf("update_time %v must be after %v; create_time %v must stay %v", u.UpdateTime, c.UpdateTime, u.CreateTime, c.CreateTime)
		}
		got, err := s.GetCustomer(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.UpdateTime.Equal(u.UpdateTime) || got.Etag != u.Etag || got.Phone != nil {
			t.Fatalf("update returned %+v; a later get says %+v", u, got)
		}
		// The search follows the new values.
		found, err := s.ListCustomers(ctx, customer.ListParams{Query: "ada l", Limit: 10})
		if err != nil || len(found) != 1 {
			t.Fatalf("search after update: %v, %v", found, err)
		}
	})
	t.Run("UpdateTimeStrictlyIncreases", func(t *testing.T) {
		s := MustOpenStore(t)
		c := mustCreate(t, s, "Ada", "ada@example.com")
		prev := c
		for i := range 20 {
			u, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: ptr(fmt.Sprint("Ada ", i))})
			if err != nil {
				t.Fatal(err)
			}
			if !u.UpdateTime.After(prev.UpdateTime) || u.Etag == prev.Etag {
				t.Fatalf("update %d: update_time %v etag %s after %v %s", i, u.UpdateTime, u.Etag, prev.UpdateTime, prev.Etag)
			}
			prev = u
		}
	})
	t.Run("NoChanges", func(t *testing.T) {
		s := MustOpenStore(t)
		c := mustCreate(t, s, "Ada", "ada@example.com")
		u, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		if u.Etag != c.Etag || !u.UpdateTime.Equal(c.UpdateTime) {
			t.Fatal("an update that changes nothing moved the etag or update_time")
		}
		// Setting a field to the value it has changes nothing either.
		u, err = s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: ptr("Ada"), SetPhone: true})
		if err != nil {
			t.Fatal(err)
		}
		if u.Etag != c.Etag || !u.UpdateTime.Equal(c.UpdateTime) {
			t.Fatal("an update to the same values moved the etag or update_time")
		}
		_, err = s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Etag: "stale"})
		wantCode(t, err, customer.Aborted)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s := MustOpenStore(t)
		_, err := s.UpdateCustomer(ctx, customer.Update{ID: 99, Name: ptr("x")})
		wantCode(t, err, customer.NotFound)
		_, err = s.UpdateCustomer(ctx, customer.Update{ID: 99})
		wantCode(t, err, customer.NotFound)
	})
	t.Run("ErrAborted", func(t *testing.T) {
		s := MustOpenStore(t)
		c := mustCreate(t, s, "Ada", "ada@example.com")
		if _, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: ptr("B")}); err != nil {
			t.Fatal(err)
		}
		_, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Etag: c.Etag, Name: ptr("C")})
		wantCode(t, err, customer.Aborted)
		if got, _ := s.GetCustomer(ctx, c.ID); got.Name != "B" {
			t.Fatalf("name after a stale update: %q, want B", got.Name)
		}
	})
	t.Run("ErrAbortedBeforeAlreadyExists", func(t *testing.T) {
		s := MustOpenStore(t)
		mustCreate(t, s, "Ada", "ada@example.com")
		b := mustCreate(t, s, "Bob", "bob@example.com")
		if _, err := s.UpdateCustomer(ctx, customer.Update{ID: b.ID, Name: ptr("Bobby")}); err != nil {
			t.Fatal(err)
		}
		_, err := s.UpdateCustomer(ctx, customer.Update{ID: b.ID, Etag: b.Etag, Email: ptr("ada@example.com")})
		wantCode(t, err, customer.Aborted)
	})
	t.Run("ErrAlreadyExists", func(t *testing.T) {
		s := MustOpenStore(t)
		mustCreate(t, s, "Ada", "ada@example.com")
		b := mustCreate(t, s, "Bob", "bob@example.com")
		_, err := s.UpdateCustomer(ctx, customer.Update{ID: b.ID, Name: ptr("Bobby"), Email: ptr("ADA@example.com")})
		wantCode(t, err, customer.AlreadyExists)
		got, _ := s.GetCustomer(ctx, b.ID)
		if got.Name != "Bob" || got.Email != "bob@example.com" || got.Etag != b.Etag {
			t.Fatalf("a rejected update changed the row: %+v", got)
		}
		// A change of case of one's own email is no collision.
		if _, err := s.UpdateCustomer(ctx, customer.Update{ID: b.ID, Email: ptr("BOB@example.com")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeleteCustomer(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s := MustOpenStore(t)
		c := mustCreate(t, s, "Ada", "ada@example.com")
		if err := s.DeleteCustomer(ctx, c.ID, c.Etag); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetCustomer(ctx, c.ID)
		wantCode(t, err, customer.NotFound)
		mustCreate(t, s, "Ada again", "ada@example.com")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s := MustOpenStore(t)
		wantCode(t, s.DeleteCustomer(ctx, 42, ""), customer.NotFound)
		wantCode(t, s.DeleteCustomer(ctx, 42, "abc"), customer.NotFound)
	})
	t.Run("ErrAborted", func(t *testing.T) {
		s := MustOpenStore(t)
		c := mustCreate(t, s, "Ada", "ada@example.com")
		wantCode(t, s.DeleteCustomer(ctx, c.ID, "stale"), customer.Aborted)
		if _, err := s.GetCustomer(ctx, c.ID); err != nil {
			t.Fatalf("customer gone after a rejected delete: %v", err)
		}
	})
}

func TestListCustomers(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	var ids []int64
	for i := range 7 {
		ids = append(ids, mustCreate(t, s, "c", fmt.Sprintf("c%d@example.com", i)).ID)
	}
	page, err := s.ListCustomers(ctx, customer.ListParams{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 || page[0].ID != ids[0] || page[2].ID != ids[2] {
		t.Fatalf("first page: %v", idsOf(page))
	}
	if err := s.DeleteCustomer(ctx, ids[1], ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCustomer(ctx, ids[3], ""); err != nil {
		t.Fatal(err)
	}
	late := mustCreate(t, s, "late", "late@example.com")
	page, err = s.ListCustomers(ctx, customer.ListParams{After: &customer.Cursor{ID: ids[2]}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{ids[4], ids[5], ids[6], late.ID}
	if fmt.Sprint(idsOf(page)) != fmt.Sprint(want) {
		t.Fatalf("second page: got %v, want %v", idsOf(page), want)
	}
	n, err := s.CountCustomers(ctx, customer.ListParams{})
	if err != nil || n != 6 {
		t.Fatalf("count: %d, %v; want 6", n, err)
	}
	_, err = s.ListCustomers(ctx, customer.ListParams{Order: customer.Order{Field: customer.ByCreateTime},
		After: &customer.Cursor{Value: "not a time", ID: 1}, Limit: 10})
	wantCode(t, err, customer.Invalid)
}

func idsOf(cs []customer.Customer) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func TestDataSurvivesReopen(t *testing.T) {
	url := pgtest.URL(t)
	s, err := pgstore.Open(context.Background(), url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := mustCreate(t, s, "Ada", "ada@example.com")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := mustOpen(t, url, pgstore.Options{}).GetCustomer(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Etag != c.Etag || got.Email != c.Email || !got.UpdateTime.Equal(c.UpdateTime) {
		t.Fatalf("after reopen: got %+v, want %+v", got, c)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	c := mustCreate(t, s, "Ada", "ada@example.com")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com"})
	wantCode(t, err, customer.Unavailable)
	_, err = s.GetCustomer(ctx, c.ID)
	wantCode(t, err, customer.Unavailable)
	_, err = s.ListCustomers(ctx, customer.ListParams{Limit: 10})
	wantCode(t, err, customer.Unavailable)
	wantCode(t, s.WaitForChange(ctx, 0), customer.Unavailable)
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrNotPostgresURL", func(t *testing.T) {
		if _, err := pgstore.Open(ctx, "mysql://x", pgstore.Options{}); err == nil {
			t.Fatal("opened a mysql:// URL")
		}
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := pgstore.Open(cctx, "postgres://u:secret@127.0.0.1:1/x?sslmode=disable", pgstore.Options{})
		if err == nil {
			t.Fatal("opened a server that is not there")
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error shows the password: %v", err)
		}
	})
	t.Run("Size", func(t *testing.T) {
		if n := MustOpenStore(t).Size(); n <= 0 {
			t.Fatalf("Size() = %d", n)
		}
	})
}
