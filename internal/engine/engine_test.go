package engine_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/sqlite"
	"customerd/internal/waitfor"
)

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

func TestCreateCustomer(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx := context.Background()
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			before := time.Now().Add(-time.Second)
			c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com", Phone: ptr("+44 1")})
			if err != nil {
				t.Fatal(err)
			}
			if c.ID <= 0 || c.Name != "Ada" || c.Email != "ada@example.com" || c.Phone == nil || *c.Phone != "+44 1" || c.Address != nil {
				t.Fatalf("created %+v", c)
			}
			if c.CreateTime.Before(before) || !c.CreateTime.Equal(c.UpdateTime) || c.Etag == "" {
				t.Fatalf("timestamps/etag: %+v", c)
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
			s := e.Open(t, engine.Options{})
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
		t.Run("NonASCIICaseIsDistinct", func(t *testing.T) {
			// NOCASE folds ASCII letters only: É and é are different letters
			// to SQLite, so these emails do not collide there, nor here.
			s := e.Open(t, engine.Options{})
			mustCreate(t, s, "Émile", "Émile@example.com")
			mustCreate(t, s, "émile", "émile@example.com")
			_, err := s.CreateCustomer(ctx, customer.New{Name: "x", Email: "éMILE@EXAMPLE.COM"})
			wantCode(t, err, customer.AlreadyExists)
		})
		t.Run("ErrInvalidFromDatabase", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			_, err := s.CreateCustomer(ctx, customer.New{Name: strings.Repeat("n", 201), Email: "a@example.com"})
			wantCode(t, err, customer.Invalid)
			_, err = s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "a@example.com", Phone: ptr(strings.Repeat("1", 33))})
			wantCode(t, err, customer.Invalid)
			// Characters, not bytes, count: 200 two-byte letters fit.
			mustCreate(t, s, strings.Repeat("é", 200), "b@example.com")
		})
		t.Run("ErrCanceled", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
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
		t.Run("ErrAlreadyExists", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			mustCreate(t, s, "Ada", "Ada@Example.com")
			_, err := s.CreateCustomer(ctx, customer.New{Name: "Other", Email: "ada@example.COM"})
			wantCode(t, err, customer.AlreadyExists)
			if strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "duplicate") || strings.Contains(err.Error(), "customers") {
				t.Fatalf("error leaks database text: %q", err)
			}
			page, _ := s.ListCustomers(ctx, customer.ListParams{Limit: 10})
			if len(page) != 1 {
				t.Fatalf("customers after a rejected create: %d, want 1", len(page))
			}
		})
	})
}

func TestGetCustomer(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		s := e.Open(t, engine.Options{})
		_, err := s.GetCustomer(context.Background(), 12345)
		wantCode(t, err, customer.NotFound)
	})
}

func TestUpdateCustomer(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx := context.Background()
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
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
			if u.Etag == c.Etag {
				t.Fatal("etag did not change")
			}
			if !u.UpdateTime.After(c.UpdateTime) || !u.CreateTime.Equal(c.CreateTime) {
				t.Fatalf("update_time %v must be after %v; create_time %v must stay %v", u.UpdateTime, c.UpdateTime, u.CreateTime, c.CreateTime)
			}
			got, err := s.GetCustomer(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.UpdateTime.Equal(u.UpdateTime) || got.Etag != u.Etag {
				t.Fatalf("update returned update_time %v etag %s; a later get says %v %s", u.UpdateTime, u.Etag, got.UpdateTime, got.Etag)
			}
		})
		t.Run("UpdateTimeStrictlyIncreases", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			c := mustCreate(t, s, "Ada", "ada@example.com")
			prev := c
			for i := range 5 {
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
			s := e.Open(t, engine.Options{})
			c := mustCreate(t, s, "Ada", "ada@example.com")
			u, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID})
			if err != nil {
				t.Fatal(err)
			}
			if u.Etag != c.Etag || !u.UpdateTime.Equal(c.UpdateTime) {
				t.Fatal("an update that changes nothing moved the etag or update_time")
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			_, err := s.UpdateCustomer(ctx, customer.Update{ID: 99, Name: ptr("x")})
			wantCode(t, err, customer.NotFound)
		})
		t.Run("ErrAborted", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
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
			s := e.Open(t, engine.Options{})
			mustCreate(t, s, "Ada", "ada@example.com")
			b := mustCreate(t, s, "Bob", "bob@example.com")
			if _, err := s.UpdateCustomer(ctx, customer.Update{ID: b.ID, Name: ptr("Bobby")}); err != nil {
				t.Fatal(err)
			}
			// Stale etag and a colliding email: the stale etag is the news.
			_, err := s.UpdateCustomer(ctx, customer.Update{ID: b.ID, Etag: b.Etag, Email: ptr("ada@example.com")})
			wantCode(t, err, customer.Aborted)
		})
		t.Run("SameValuesChangeNothing", func(t *testing.T) {
			// Writing back the values a customer has is not a change: same
			// etag, no change event. A change of letter case alone is one.
			s := e.Open(t, engine.Options{})
			c, err := s.CreateCustomer(ctx, customer.New{Name: "Ada", Email: "ada@example.com", Phone: ptr("1")})
			if err != nil {
				t.Fatal(err)
			}
			_, before, err := s.ChangeBounds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			same, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Etag: c.Etag, Name: ptr("Ada"), Email: ptr("ada@example.com"), SetPhone: true, Phone: ptr("1"), SetAddress: true})
			if err != nil {
				t.Fatal(err)
			}
			if same.Etag != c.Etag || !same.UpdateTime.Equal(c.UpdateTime) {
				t.Fatalf("writing back the same values changed the customer: %+v, was %+v", same, c)
			}
			if _, after, _ := s.ChangeBounds(ctx); after != before {
				t.Fatalf("writing back the same values recorded a change (%d → %d)", before, after)
			}
			cased, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: ptr("ADA"), Email: ptr("ADA@example.com")})
			if err != nil {
				t.Fatal(err)
			}
			if cased.Etag == c.Etag || cased.Name != "ADA" || cased.Email != "ADA@example.com" {
				t.Fatalf("a change of case: %+v", cased)
			}
			if _, after, _ := s.ChangeBounds(ctx); after == before {
				t.Fatal("a change of case recorded no change")
			}
		})
		t.Run("EveryMask", func(t *testing.T) {
			// Every combination of fields: those named change, the others keep
			// their values, and search finds the new words, not the old ones.
			s := e.Open(t, engine.Options{})
			for mask := range 16 {
				c, err := s.CreateCustomer(ctx, customer.New{
					Name: fmt.Sprintf("Oldname%d", mask), Email: fmt.Sprintf("old%d@example.com", mask),
					Phone: ptr(fmt.Sprintf("11%d", mask)), Address: ptr(fmt.Sprintf("Oldtown%d", mask)),
				})
				if err != nil {
					t.Fatal(err)
				}
				want := c
				u := customer.Update{ID: c.ID}
				if mask&1 != 0 {
					u.Name, want.Name = ptr(fmt.Sprintf("Newname%d", mask)), fmt.Sprintf("Newname%d", mask)
				}
				if mask&2 != 0 {
					u.Email, want.Email = ptr(fmt.Sprintf("new%d@example.com", mask)), fmt.Sprintf("new%d@example.com", mask)
				}
				if mask&4 != 0 {
					u.SetPhone, u.Phone, want.Phone = true, ptr(fmt.Sprintf("22%d", mask)), ptr(fmt.Sprintf("22%d", mask))
				}
				if mask&8 != 0 {
					u.SetAddress, want.Address = true, nil // cleared
				}
				got, err := s.UpdateCustomer(ctx, u)
				if err != nil {
					t.Fatalf("mask %04b: %v", mask, err)
				}
				if got.Name != want.Name || got.Email != want.Email || !reflect.DeepEqual(got.Phone, want.Phone) ||
					!reflect.DeepEqual(got.Address, want.Address) || (got.Etag == c.Etag) != (mask == 0) {
					t.Fatalf("mask %04b: got %+v, want %+v", mask, got, want)
				}
				for word, found := range map[string]bool{
					fmt.Sprintf("Oldname%d", mask): mask&1 == 0, fmt.Sprintf("Newname%d", mask): mask&1 != 0,
					fmt.Sprintf("old%d", mask): mask&2 == 0, fmt.Sprintf("new%d", mask): mask&2 != 0,
					fmt.Sprintf("Oldtown%d", mask): mask&8 == 0,
				} {
					page, err := s.ListCustomers(ctx, customer.ListParams{Query: word, Limit: 10})
					if err != nil {
						t.Fatal(err)
					}
					if (len(page) == 1 && page[0].ID == c.ID) != found {
						t.Fatalf("mask %04b: search %q found %v, want found=%v", mask, word, idsOf(page), found)
					}
				}
			}
		})
		t.Run("ErrAlreadyExists", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			mustCreate(t, s, "Ada", "ada@example.com")
			b := mustCreate(t, s, "Bob", "bob@example.com")
			_, err := s.UpdateCustomer(ctx, customer.Update{ID: b.ID, Name: ptr("Bobby"), Email: ptr("ADA@example.com")})
			wantCode(t, err, customer.AlreadyExists)
			got, _ := s.GetCustomer(ctx, b.ID)
			if got.Name != "Bob" || got.Email != "bob@example.com" || got.Etag != b.Etag {
				t.Fatalf("a rejected update changed the row: %+v", got)
			}
		})
	})
}

func TestDeleteCustomer(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx := context.Background()
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			c := mustCreate(t, s, "Ada", "ada@example.com")
			if err := s.DeleteCustomer(ctx, c.ID, c.Etag); err != nil {
				t.Fatal(err)
			}
			_, err := s.GetCustomer(ctx, c.ID)
			wantCode(t, err, customer.NotFound)
			// The email is free again.
			mustCreate(t, s, "Ada again", "ada@example.com")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			wantCode(t, s.DeleteCustomer(ctx, 42, ""), customer.NotFound)
			wantCode(t, s.DeleteCustomer(ctx, 42, "abc"), customer.NotFound)
		})
		t.Run("ErrAborted", func(t *testing.T) {
			s := e.Open(t, engine.Options{})
			c := mustCreate(t, s, "Ada", "ada@example.com")
			wantCode(t, s.DeleteCustomer(ctx, c.ID, "stale"), customer.Aborted)
			if _, err := s.GetCustomer(ctx, c.ID); err != nil {
				t.Fatalf("customer gone after a rejected delete: %v", err)
			}
		})
	})
}

func TestListCustomers(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx := context.Background()
		s := e.Open(t, engine.Options{})
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
		// Rows deleted before and after the cursor, and rows inserted, between pages.
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
	})
}

func idsOf(cs []customer.Customer) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func TestDataSurvivesReopen(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		dsn := e.DSN(t)
		ctx, cancel := context.WithTimeout(context.Background(), enginetest.OpenTimeout)
		defer cancel()
		s, err := engine.Open(ctx, dsn, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c := mustCreate(t, s, "Ada", "ada@example.com")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := e.Reopen(t, dsn, engine.Options{}).GetCustomer(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Etag != c.Etag || got.Email != c.Email {
			t.Fatalf("after reopen: got %+v, want %+v", got, c)
		}
	})
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	memory := enginetest.Engine{Name: "memory", DSN: func(testing.TB) string { return sqlite.Memory }}
	a := memory.Open(t, engine.Options{})
	b := memory.Open(t, engine.Options{})
	c := mustCreate(t, a, "Ada", "ada@example.com")
	// Reads come from other connections than the write: they must see it.
	for range 20 {
		if _, err := a.GetCustomer(ctx, c.ID); err != nil {
			t.Fatalf("read after write on :memory:: %v", err)
		}
	}
	if page, err := a.ListCustomers(ctx, customer.ListParams{Limit: 10}); err != nil || len(page) != 1 {
		t.Fatalf("list on :memory:: %d rows, %v", len(page), err)
	}
	// Two in-memory stores are separate databases.
	if _, err := b.GetCustomer(ctx, c.ID); customer.ErrorCode(err) != customer.NotFound {
		t.Fatalf("second :memory: store sees the first one's rows: %v", err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		s := e.Open(t, engine.Options{})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateCustomer(context.Background(), customer.New{Name: "Ada", Email: "ada@example.com"})
		wantCode(t, err, customer.Unavailable)
	})
}

func TestReadAfterCloseIsUnavailable(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		s := e.Open(t, engine.Options{})
		c := mustCreate(t, s, "Ada", "ada@example.com")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetCustomer(context.Background(), c.ID)
		wantCode(t, err, customer.Unavailable)
		_, err = s.ListCustomers(context.Background(), customer.ListParams{Limit: 10})
		wantCode(t, err, customer.Unavailable)
	})
}

// TestCancelMeansNotWritten cancels creates at random moments while they
// run, and checks the answer is always the truth: a create that returned a
// context error left nothing behind, and one that succeeded is stored. (A
// write that has begun runs to its end, so its caller learns whether it
// committed.)
func TestCancelMeansNotWritten(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		s := e.Open(t, engine.Options{})
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Go(func() {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(time.Duration(i%40)*250*time.Microsecond, cancel)
				email := fmt.Sprintf("cancel%03d@example.com", i)
				c, err := s.CreateCustomer(ctx, customer.New{Name: "C", Email: email})
				stored, lerr := s.ListCustomers(context.Background(), customer.ListParams{Query: fmt.Sprintf("cancel%03d", i), Limit: 5})
				if lerr != nil {
					t.Error(lerr)
					return
				}
				found := false
				for _, got := range stored {
					found = found || got.Email == email
				}
				switch {
				case err == nil && (!found || c.Email != email):
					t.Errorf("create %d succeeded but is not stored", i)
				case err != nil && !errors.Is(err, context.Canceled):
					t.Errorf("create %d: %v", i, err)
				case err != nil && found:
					t.Errorf("create %d answered %v but was stored", i, err)
				}
			})
		}
		waitfor.Group(t, &wg, "the creates")
	})
}

// TestGauges checks that every engine reports its writes, commits and size
// for /metrics under the same names.
func TestGauges(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		s := e.Open(t, engine.Options{})
		for i := range 3 {
			mustCreate(t, s, "G", fmt.Sprintf("g%d@example.com", i))
		}
		got := map[string]float64{}
		for _, g := range s.Gauges() {
			got[g.Name] = g.Value()
		}
		for name, atLeast := range map[string]float64{
			"customerd_writer_writes_total":         3,
			"customerd_writer_commits_total":        1,
			"customerd_writer_batches_total":        1,
			"customerd_writer_commit_seconds_total": 0,
			"customerd_writer_queue_depth":          0,
			"customerd_database_size_bytes":         1,
		} {
			v, ok := got[name]
			if !ok || v < atLeast {
				t.Errorf("%s = %v (present %v), want at least %v", name, v, ok, atLeast)
			}
		}
	})
}
