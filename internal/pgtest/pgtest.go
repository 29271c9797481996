// Package pgtest gives tests a throwaway PostgreSQL database.
//
// Each database is named after the process that made it,
// customerd_test_<host>_<pid>_<process start in unix seconds>_<n>, so
// that the databases of a test run that was killed before it could drop
// them are cleaned up later: the first call of URL in a process drops the
// databases left by processes of this host that no longer run.
package pgtest

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvServer names the environment variable that points the tests at a
// PostgreSQL server: a URL such as postgres://user:pass@host:5432/postgres
// whose user may create databases. Without it the tests use DefaultServer.
const EnvServer = "CUSTOMERD_TEST_POSTGRES"

// DefaultServer is the server the tests use when EnvServer is not set.
const DefaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// prefix starts the name of every database pgtest makes.
const prefix = "customerd_test_"

// staleAfter is how old a database of a process that is gone must be
// before it is dropped; younger ones may belong to a process whose pid
// this host no longer shows for another reason (a pid namespace).
const staleAfter = time.Minute

var (
	started = time.Now()
	made    atomic.Int64 // databases made by this process
	swept   sync.Once
)

// URL creates an empty database on the test server (EnvServer, or
// DefaultServer), from template0, and returns its URL; the database is
// dropped, with any connections still open to it, when the test ends. When
// no server answers within a few seconds URL skips the test (t.Skip)
// instead of failing it; any other error fails the test. The first call in
// a process first drops the databases that earlier test processes of this
// host left behind (see the package comment).
func URL(t testing.TB) string {
	t.Helper()
	server, u := serverURL(t)
	name := create(t, server)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		// FORCE ends the sessions a test left open, such as a store's
		// listener that is still shutting down.
		if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// pool holds the URLs of this process's reused databases that no test is
// using (see Reused).
var pool struct {
	mu   sync.Mutex
	free []string
}

// Reused returns the URL of a database of this process that no other test
// is using, made by the first test that needs one. When the test ends,
// every table but schema_migrations is emptied and its sequences
// restarted, and the database goes back to the process's pool: the next
// test gets it with the schema it was left with (migrated once, by the
// first store opened on it) and no rows, without paying for creating,
// migrating and dropping a database of its own (seconds on a loaded
// machine). Use URL for a test that needs a database nobody migrated, or
// that changes the schema. Reused databases outlive their process; the
// next test process drops them (see the package comment).
func Reused(t testing.TB) string {
	t.Helper()
	pool.mu.Lock()
	var dsn string
	if n := len(pool.free); n > 0 {
		dsn, pool.free = pool.free[n-1], pool.free[:n-1]
	}
	pool.mu.Unlock()
	if dsn == "" {
		server, u := serverURL(t)
		u.Path = "/" + create(t, server)
		dsn = u.String()
	}
	t.Cleanup(func() {
		// Stores close in cleanups registered after this one, so they have
		// closed by now; a session still open would hold the TRUNCATE back.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := empty(ctx, dsn); err != nil {
			t.Logf("pgtest: not reusing a database that could not be emptied: %v", err)
			return
		}
		pool.mu.Lock()
		pool.free = append(pool.free, dsn)
		pool.mu.Unlock()
	})
	return dsn
}

// empty truncates every table of the public schema but schema_migrations,
// restarting their sequences, after ending any session still connected.
func empty(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables
		WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY tablename`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		return err
	}
	_, err = conn.Exec(ctx, `TRUNCATE `+strings.Join(tables, ", ")+` RESTART IDENTITY CASCADE`)
	return err
}

// serverURL returns the test server's URL, as given and parsed; it skips
// the test when the server does not answer, and sweeps once per process.
func serverURL(t testing.TB) (string, *url.URL) {
	t.Helper()
	server := os.Getenv(EnvServer)
	if server == "" {
		server = DefaultServer
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: %s must be a postgres:// URL", EnvServer)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, server)
	if err != nil {
		t.Skipf("PostgreSQL not reachable at %s (%v); start it or set %s", u.Host, err, EnvServer)
	}
	defer admin.Close(context.Background())
	swept.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		dropped, err := sweep(ctx, admin, time.Now(), hostTag(), alive)
		if len(dropped) > 0 {
			t.Logf("pgtest: dropped %d databases left by test processes that are gone: %s", len(dropped), strings.Join(dropped, ", "))
		}
		if err != nil {
			t.Logf("pgtest: looking for databases left by earlier test runs: %v", err)
		}
	})
	return server, u
}

// create makes a new empty database on server and returns its name.
func create(t testing.TB, server string) string {
	t.Helper()
	name := dbName(hostTag(), os.Getpid(), started, made.Add(1))
	// A minute: under load, copying the template and its WAL can take
	// seconds; the error says what was waited for rather than hanging.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close(context.Background())
	start := time.Now()
	// template0 is always pristine (template1 may have been changed), and
	// copying it is quick.
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'`, name)); err != nil {
		t.Fatalf("pgtest: create database %s (after %v): %v", name, time.Since(start).Round(time.Millisecond), err)
	}
	return name
}

// hostTag names this host in database names: a short hash of its host
// name, which may be long or hold characters that names cannot.
func hostTag() string {
	host, _ := os.Hostname()
	h := fnv.New32a()
	h.Write([]byte(host))
	return fmt.Sprintf("%08x", h.Sum32())
}

// dbName is the name of the nth database made by process pid of host,
// which started at created.
func dbName(host string, pid int, created time.Time, n int64) string {
	return fmt.Sprintf("%s%s_%d_%d_%d", prefix, host, pid, created.Unix(), n)
}

// parseName returns the host, pid and creation time in a name made by
// dbName; ok is false for any other name.
func parseName(name string) (host string, pid int, created time.Time, ok bool) {
	parts := strings.Split(strings.TrimPrefix(name, prefix), "_")
	if !strings.HasPrefix(name, prefix) || len(parts) != 4 {
		return "", 0, time.Time{}, false
	}
	pid, err1 := strconv.Atoi(parts[1])
	unix, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return "", 0, time.Time{}, false
	}
	return parts[0], pid, time.Unix(unix, 0), true
}

// sweep drops the databases that processes of host made more than
// staleAfter before now, whose process is no longer alive, and to which no
// session is connected. It returns the names it dropped. A database in use
// or already gone is left to whoever uses or dropped it, so that test
// processes sweeping at once do not get in each other's way.
func sweep(ctx context.Context, admin *pgx.Conn, now time.Time, host string, alive func(pid int) bool) ([]string, error) {
	rows, err := admin.Query(ctx, `
		SELECT datname FROM pg_database d
		WHERE starts_with(datname, $1)
		  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)
		ORDER BY datname`, prefix)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, name := range names {
		h, pid, created, ok := parseName(name)
		if !ok || h != host || now.Sub(created) < staleAfter || alive(pid) {
			continue
		}
		// Without FORCE: a session that connected meanwhile keeps it.
		if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s`, pgx.Identifier{name}.Sanitize())); err != nil {
			if ctx.Err() != nil {
				return dropped, err
			}
			continue
		}
		dropped = append(dropped, name)
	}
	return dropped, nil
}
