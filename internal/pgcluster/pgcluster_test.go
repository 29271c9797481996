package pgcluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/pgcluster"
)

// TestFailover starts a primary with a synchronous standby, commits a row,
// kills the primary with SIGKILL, promotes the standby, finds the row
// there through the multi-host URL, and rebuilds the old primary as the
// new primary's synchronous standby.
func TestFailover(t *testing.T) {
	start := time.Now()
	c := pgcluster.Start(t, pgcluster.Options{Standbys: 1, Sync: true})
	t.Logf("cluster of 2 started in %v", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nodes := c.Nodes()
	old, standby := nodes[0], nodes[1]
	if p := c.Primary(); p != old {
		t.Fatalf("primary: %v, want %s", p, old.Name)
	}

	conn, err := pgx.Connect(ctx, c.MultiHostURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	start = time.Now()
	old.Kill()
	c.Promote(standby)
	t.Logf("killed and promoted in %v", time.Since(start).Round(time.Millisecond))
	if p := c.Primary(); p != standby {
		t.Fatalf("primary after promotion: %v, want %s", p, standby.Name)
	}
	conn, err = pgx.Connect(ctx, c.MultiHostURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows on the promoted standby: %d, %v", n, err)
	}

	start = time.Now()
	c.Rebuild(old, standby)
	c.MakeSync(standby, old)
	t.Logf("rebuilt the old primary as a synchronous standby in %v", time.Since(start).Round(time.Millisecond))
	if _, err := conn.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if !old.InRecovery() {
		t.Fatal("the rebuilt node is not a standby")
	}
}
