package sqlite

import (
	"context"
	"database/sql/driver"
	"path/filepath"
	"testing"

	"customerd/internal/customer"
)

// TestWriterSurvivesABrokenConnection breaks the write connection between
// two writes, as a failing disk or a closed file handle would: database/sql
// discards it, the writer's next transaction opens a new one with the same
// pragmas, the prepared statements are prepared again on it, and writes go
// on with nothing lost.
func TestWriterSurvivesABrokenConnection(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "f.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := s.CreateCustomer(ctx, customer.New{Name: "Before", Email: "before@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		var broken any
		s.writes.conn.Raw(func(dc any) error { // the writer's connection, idle between batches
			broken = dc
			return driver.ErrBadConn // database/sql closes and discards it
		})

		c, err := s.CreateCustomer(ctx, customer.New{Name: "After", Email: "after" + string(rune('a'+round)) + "@example.com"})
		if err != nil {
			t.Fatalf("round %d: write after the connection broke: %v", round, err)
		}
		name := "Renamed"
		if _, err := s.UpdateCustomer(ctx, customer.Update{ID: c.ID, Name: &name}); err != nil {
			t.Fatalf("round %d: update on the new connection: %v", round, err)
		}
		s.writes.conn.Raw(func(dc any) error {
			if dc == broken {
				t.Errorf("round %d: the writer still uses the broken connection", round)
			}
			return nil
		})
	}
	if got, err := s.GetCustomer(ctx, first.ID); err != nil || got.Etag != first.Etag {
		t.Fatalf("the customer written before the breaks: %+v, %v", got, err)
	}
	if st := s.WriterStats(); st.Writes < 7 {
		t.Fatalf("writer stats %+v", st)
	}
}
