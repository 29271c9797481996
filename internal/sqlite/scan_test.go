package sqlite

import (
	"context"
	"database/sql"
	"testing"

	"customerd/internal/storetest"
)

// laterStepSQL returns its first row at once and never a second one: the
// work that rows.Next does after the first row, which the driver does not
// interrupt by itself (see interruptOnDone), only ends with an interrupt.
const laterStepSQL = `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)
SELECT x FROM n WHERE x = 1 OR x < 0`

// TestScansLeavePointReads blocks every scan slot with a search whose
// transaction runs laterStepSQL until the search's context ends, and
// checks that GetCustomer still answers, that the searches return
// context.Canceled when canceled, and that the pool serves searches again.
func TestScansLeavePointReads(t *testing.T) {
	s := openForTest(t, Options{ReadConns: 4})
	if slots := s.scans.Len(); slots != 3 {
		t.Fatalf("%d scan slots of 4 connections, want 3", slots)
	}
	storetest.CheckScansLeavePointReads(t, s, s.scans.Len(), func(onScan func()) {
		if onScan == nil {
			s.scanHook = nil
			return
		}
		s.scanHook = func(ctx context.Context, tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, laterStepSQL)
			if err != nil {
				return err
			}
			defer rows.Close()
			if !rows.Next() {
				t.Errorf("laterStepSQL: no first row: %v", rows.Err())
			}
			onScan()
			for rows.Next() {
			}
			return rows.Err()
		}
	})
}
