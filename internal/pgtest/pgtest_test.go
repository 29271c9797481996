package pgtest_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/pgtest"
)

func TestURL(t *testing.T) {
	var url string
	t.Run("Create", func(t *testing.T) {
		url = pgtest.URL(t)
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("a new database has %d tables, %v", n, err)
		}
	})
	if url == "" {
		t.Skip("no server")
	}
	// The subtest's cleanup dropped the database.
	if conn, err := pgx.Connect(context.Background(), url); err == nil {
		conn.Close(context.Background())
		t.Fatal("the database outlived its test")
	}
}

func TestURLSkipsWithoutServer(t *testing.T) {
	t.Setenv(pgtest.EnvServer, "postgres://nobody@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	var skipped bool
	t.Run("Inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		pgtest.URL(t)
	})
	if !skipped {
		t.Fatal("URL did not skip the test without a server")
	}
}

// TestURLNamesTheProcess checks that a database's name says which process
// of which host made it, for the sweep of leftovers.
func TestURLNamesTheProcess(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("/customerd_test_%s_%d_", pgtest.HostTag(), os.Getpid())
	if !strings.HasPrefix(u.Path, want) {
		t.Fatalf("database %s, want a name starting %s", u.Path, want)
	}
}

// TestSweep makes databases named as pgtest names them, for processes that
// are gone and processes that run, and checks that the sweep drops only
// those of this host's processes that are gone, made over a minute ago, and
// unused.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	server := os.Getenv(pgtest.EnvServer)
	if server == "" {
		server = pgtest.DefaultServer
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, server)
	if err != nil {
		t.Skipf("PostgreSQL not reachable (%v)", err)
	}
	// A cleanup, not a defer: the databases are dropped in cleanups, which
	// run after the test function returns and before this one.
	t.Cleanup(func() { admin.Close(ctx) })

	// A process that has exited, and one that runs until the test ends.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	running := exec.Command("sleep", "600")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { running.Process.Kill(); running.Wait() })
	if pgtest.Alive(gone.Process.Pid) || !pgtest.Alive(running.Process.Pid) {
		t.Fatalf("alive(%d exited) = %v, alive(%d running) = %v", gone.Process.Pid, pgtest.Alive(gone.Process.Pid),
			running.Process.Pid, pgtest.Alive(running.Process.Pid))
	}

	host, now := pgtest.HostTag(), time.Now()
	old := now.Add(-2 * time.Minute)
	// A serial of our own keeps these names apart from any real ones.
	serial := now.UnixNano() % 1_000_000
	dbs := map[string]string{
		"GoneOld":       pgtest.DBName(host, gone.Process.Pid, old, serial),
		"GoneNew":       pgtest.DBName(host, gone.Process.Pid, now, serial),
		"RunningOld":    pgtest.DBName(host, running.Process.Pid, old, serial),
		"GoneOtherHost": pgtest.DBName("0badbeef", gone.Process.Pid, old, serial),
		"GoneInUse":     pgtest.DBName(host, gone.Process.Pid, old, serial+1),
	}
	for _, name := range dbs {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop %s: %v", name, err)
			}
		})
	}
	u, _ := url.Parse(server)
	u.Path = "/" + dbs["GoneInUse"]
	user, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close(ctx)

	dropped, err := pgtest.Sweep(ctx, admin, now, host, pgtest.Alive)
	if err != nil {
		t.Fatal(err)
	}
	for what, name := range dbs {
		var exists bool
		if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if wantKept := what != "GoneOld"; exists != wantKept {
			t.Errorf("%s (%s): exists after the sweep = %v, want %v", what, name, exists, wantKept)
		}
		if slices.Contains(dropped, name) == (what != "GoneOld") {
			t.Errorf("%s (%s): the sweep says it dropped %v", what, name, dropped)
		}
	}
}
