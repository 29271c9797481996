package erasurelog_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/enginetest"
	"customerd/internal/erasurelog"
)

// TestReapplyErasesOnlyWhatIsStillHeld checks, on every engine, that the
// store names the logged customers it still holds values of (a customer
// row, or the changes of a customer deleted but not erased) and no others,
// and that Reapply erases exactly those, once: a second start erases
// nothing, and a customer the log does not name is left alone.
func TestReapplyErasesOnlyWhatIsStillHeld(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, e enginetest.Engine) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		st := e.Open(t, engine.Options{})
		var ids []int64
		for _, email := range []string{"kept@example.com", "deleted@example.com", "erased@example.com", "unlogged@example.com"} {
			c, err := st.CreateCustomer(ctx, customer.New{Name: "Someone", Email: email})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		kept, deleted, erased, unlogged := ids[0], ids[1], ids[2], ids[3]
		if err := st.DeleteCustomer(ctx, deleted, ""); err != nil {
			t.Fatal(err)
		}
		if err := st.EraseCustomer(ctx, erased, ""); err != nil {
			t.Fatal(err)
		}
		unknown := unlogged + 1000

		log, err := erasurelog.Open(filepath.Join(t.TempDir(), "erasures"))
		if err != nil {
			t.Fatal(err)
		}
		defer log.Close()
		for _, id := range []int64{kept, deleted, erased, unknown} {
			if err := log.Append(id); err != nil {
				t.Fatal(err)
			}
		}
		held, err := st.StillHeld(ctx, []int64{kept, deleted, erased, unknown})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(held)
		if !slices.Equal(held, []int64{kept, deleted}) {
			t.Fatalf("StillHeld = %v, want [%d %d] (kept, deleted)", held, kept, deleted)
		}

		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		for start, want := range []int{2, 0} {
			n, err := log.Reapply(ctx, st, quiet)
			if err != nil || n != want {
				t.Fatalf("start %d: Reapply erased %d, %v; want %d", start+1, n, err, want)
			}
		}
		if held, err := st.StillHeld(ctx, []int64{kept, deleted, erased, unknown, unlogged}); err != nil || !slices.Equal(held, []int64{unlogged}) {
			t.Fatalf("after Reapply, StillHeld = %v, %v; want only the unlogged customer %d", held, err, unlogged)
		}
		if _, err := st.GetCustomer(ctx, kept); customer.ErrorCode(err) != customer.NotFound {
			t.Fatalf("the logged customer after Reapply: %v, want NotFound", err)
		}
		changes, err := st.CustomerChanges(ctx, deleted)
		if err != nil || len(changes) == 0 {
			t.Fatalf("changes of the deleted customer: %d, %v", len(changes), err)
		}
		for _, c := range changes {
			if c.Customer.Email != "" {
				t.Fatalf("a change of the deleted customer still holds %q after Reapply", c.Customer.Email)
			}
		}
		if held, err := st.StillHeld(ctx, nil); err != nil || len(held) != 0 {
			t.Fatalf("StillHeld(nil) = %v, %v", held, err)
		}
	})
}
