package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/pgtest"
	"customerd/internal/postgres"
	"customerd/internal/storetest"
)

// TestScansLeavePointReads blocks every scan slot with a search whose
// connection sleeps until the search's context ends, and checks that
// GetCustomer still answers, that the searches return context.Canceled
// when canceled, that the server stopped sleeping, that their connections
// stayed open, and that the pool serves searches again.
func TestScansLeavePointReads(t *testing.T) {
	url := pgtest.URL(t)
	// A minute for the server to answer each cancel: on a loaded machine it
	// took over the default second, and the connection was closed instead.
	s := mustOpen(t, url, postgres.Options{MaxConns: 8, CancelGrace: time.Minute})
	if slots := postgres.ScanSlots(s); slots != 6 {
		t.Fatalf("%d scan slots of 8 connections, want 6", slots)
	}
	var mu sync.Mutex
	var pids []uint32 // of the connections the blocked scans ran on
	storetest.CheckScansLeavePointReads(t, s, postgres.ScanSlots(s), func(onScan func()) {
		if onScan == nil {
			postgres.SetScanHook(s, nil)
			return
		}
		postgres.SetScanHook(s, func(ctx context.Context, conn *pgx.Conn) error {
			mu.Lock()
			pids = append(pids, conn.PgConn().PID())
			mu.Unlock()
			onScan()
			_, err := conn.Exec(ctx, "SELECT pg_sleep(3600)")
			return err
		})
	})
	// The cancels stopped the statements on the server, and left their
	// connections open: a canceled call returns once the server has
	// answered the cancel request, and the connection goes back to the pool.
	var sleeping, alive int
	if err := mustConnect(t, url).QueryRow(context.Background(),
		`SELECT count(*) FILTER (WHERE state = 'active' AND query LIKE '%pg_sleep(3600)%'), count(*) FILTER (WHERE pid = ANY($1))
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`, pids,
	).Scan(&sleeping, &alive); err != nil {
		t.Fatal(err)
	}
	if sleeping != 0 {
		t.Fatalf("%d canceled statements still run on the server", sleeping)
	}
	if alive != len(pids) {
		t.Fatalf("%d of the %d connections whose statements were canceled are still open, want all", alive, len(pids))
	}
}
