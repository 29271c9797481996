package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	_ "github.com/amacneil/dbmate/v2/pkg/driver/postgres" // dbmate's postgres driver (lib/pq, pure Go)
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"customerd/db"
)

// migrateTimeout bounds the wait for the migration lock and the migrations
// together when Open's context sets no earlier deadline: a server that
// cannot migrate says why instead of waiting for ever.
const migrateTimeout = 5 * time.Minute

// migrateLocked applies the migrations while holding a session advisory
// lock on a connection of pool, so that replicas starting together do not
// run the same migration twice: the others wait, then find nothing to do.
// ctx, cut to migrateTimeout, bounds it all; when it ends first, the error
// says what was being waited for.
func migrateLocked(ctx context.Context, pool *pgxpool.Pool, dbURL string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	// The lock belongs to this session: release it by closing the
	// connection rather than returning it to the pool still locked.
	defer conn.Release()
	defer conn.Conn().Close(context.Background())
	if err := lockForMigrating(ctx, conn.Conn(), log); err != nil {
		return err
	}
	netConn := conn.Conn().PgConn().Conn()
	_, usesTLS := netConn.(*tls.Conn)
	u, err := dbmateURL(dbURL, usesTLS)
	if err != nil {
		return err
	}
	if strings.Contains(u.Host, ",") {
		// lib/pq reads "h1:p1,h2:p2" as one host name: give dbmate the host
		// this connection reached, the primary that
		// target_session_attrs chose, which holds the lock.
		u.Host = connectedHost(ctx, pool.Config().ConnConfig, netConn.RemoteAddr())
	}
	return runMigrations(ctx, pool, u, log)
}

// lockForMigrating takes the migration lock on conn, waiting for another
// session that holds it (a replica migrating) at most until ctx ends.
func lockForMigrating(ctx context.Context, conn *pgx.Conn, log *slog.Logger) error {
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", migrateLockKey).Scan(&locked); err != nil {
		return fmt.Errorf("postgres: lock for migrating: %w", err)
	}
	if locked {
		return nil
	}
	holder := lockHolder(ctx, conn)
	log.Info("waiting for the migration lock", "component", "migrate", "holder", holder)
	// The server gives up when ctx does (lock_timeout), so that a session
	// whose client has left does not go on waiting and then take the lock.
	remaining := untilDeadline(ctx, 0)
	if _, err := conn.Exec(ctx, "SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $1, false)", remaining); err != nil {
		return fmt.Errorf("postgres: lock for migrating: %w", err)
	}
	start := time.Now()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("postgres: waited %v for the migration lock (advisory lock %d, held by %s, which should be migrating this database): %w",
			time.Since(start).Round(time.Millisecond), migrateLockKey, holder, err)
	}
	return nil
}

// lockHolder describes the session holding the migration lock, for
// messages: its pid and application_name, or "another session" when it
// cannot be seen (it may just have let go).
func lockHolder(ctx context.Context, conn *pgx.Conn) string {
	var pid int
	var app, client string
	err := conn.QueryRow(ctx, `
		SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'a local socket')
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		LIMIT 1`, migrateLockKey).Scan(&pid, &app, &client)
	if err != nil {
		return "another session"
	}
	return fmt.Sprintf("session pid %d (application_name %q, from %s)", pid, app, client)
}

// runMigrations applies the pending migrations with dbmate. dbmate's
// Migrate takes no context, so it runs on a session of its own, named by a
// unique application_name, whose statements and lock waits the server
// ends when ctx's deadline passes; and should ctx end first, that session
// is terminated (its transaction rolls back) and the error says what the
// migration was doing.
func runMigrations(ctx context.Context, pool *pgxpool.Pool, u *url.URL, log *slog.Logger) error {
	app := "customerd migrate " + strings.ToLower(rand.Text()[:8])
	q := u.Query()
	q.Set("application_name", app)
	// lib/pq passes parameters it does not know to the server as settings.
	// These are a backstop, a little later than ctx's deadline, so that
	// the message below says what the migration was waiting for.
	remaining := untilDeadline(ctx, 5*time.Second)
	q.Set("statement_timeout", remaining)
	q.Set("lock_timeout", remaining)
	if !q.Has("connect_timeout") {
		q.Set("connect_timeout", "30")
	}
	u.RawQuery = q.Encode()
	m := dbmate.New(u)
	m.FS = db.PostgresMigrations
	m.MigrationsDir = []string{"postgres/migrations"}
	m.AutoDumpSchema = false // db/postgres/schema.sql is checked by a test instead
	m.Log = slog.NewLogLogger(log.With("component", "migrate").Handler(), slog.LevelInfo).Writer()

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- m.Migrate() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	// A context of its own: ctx has ended, and these must still run.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	doing := migrationActivity(sctx, pool, app)
	// database/sql runs a statement again on a new connection when its
	// connection broke before the statement was sent: end every session
	// of the migration until Migrate returns.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		if _, err := pool.Exec(sctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app); err != nil && sctx.Err() == nil {
			log.Warn("ending the migration session failed", "component", "migrate", "err", err)
		}
		select {
		case <-done:
			break wait
		case <-sctx.Done():
			doing += "; it had not stopped 10s later"
			break wait
		case <-tick.C:
		}
	}
	return fmt.Errorf("postgres: migrations stopped after %v, unfinished: %s: %w",
		time.Since(start).Round(time.Millisecond), doing, context.Cause(ctx))
}

// migrationActivity describes what the session named app is doing, from
// pg_stat_activity: the statement, what it waits for and who blocks it.
func migrationActivity(ctx context.Context, pool *pgxpool.Pool, app string) string {
	var waitEvent, state, query string
	var blockers []int32
	err := pool.QueryRow(ctx, `
		SELECT coalesce(wait_event_type || ':' || wait_event, ''), coalesce(state, ''), left(coalesce(query, ''), 200), pg_blocking_pids(pid)
		FROM pg_stat_activity WHERE application_name = $1
		ORDER BY backend_start DESC LIMIT 1`, app).Scan(&waitEvent, &state, &query, &blockers)
	if errors.Is(err, pgx.ErrNoRows) {
		return "the migration session was not connected"
	}
	if err != nil {
		return fmt.Sprintf("could not see the migration session (%v)", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the migration session was %s", cmp.Or(state, "unknown"))
	if waitEvent != "" {
		fmt.Fprintf(&b, ", waiting for %s", waitEvent)
	}
	if len(blockers) > 0 {
		fmt.Fprintf(&b, " held by pid %v", blockers)
	}
	if query != "" {
		fmt.Fprintf(&b, ", in %q", strings.Join(strings.Fields(query), " "))
	}
	return b.String()
}

// untilDeadline is the time left before ctx's deadline, plus extra, as a
// PostgreSQL duration setting: at least a millisecond (0 means no limit).
func untilDeadline(ctx context.Context, extra time.Duration) string {
	deadline, ok := ctx.Deadline()
	if !ok {
		return "0"
	}
	return fmt.Sprintf("%dms", max((time.Until(deadline)+extra).Milliseconds(), 1))
}

// connectedHost returns the host:port, as cfg names it, of the host or
// fallback whose address is addr, or addr itself when none matches.
func connectedHost(ctx context.Context, cfg *pgx.ConnConfig, addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	candidates := []*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port}}
	candidates = append(candidates, cfg.Fallbacks...)
	for _, c := range candidates {
		if int(c.Port) != tcp.Port {
			continue
		}
		ips, err := net.DefaultResolver.LookupHost(ctx, c.Host)
		if err != nil {
			continue
		}
		for _, ip := range ips {
			if parsed := net.ParseIP(ip); parsed != nil && parsed.Equal(tcp.IP) {
				return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
			}
		}
	}
	return tcp.String()
}

// dbmateURL adapts url for dbmate's driver, which connects with lib/pq:
// pgx's own parameters (pool_*) are removed, and sslmode, which lib/pq
// defaults to "require" and which cannot be "prefer" or "allow" there, is
// set to what pgx actually negotiated when the URL leaves it open.
func dbmateURL(dbURL string, usesTLS bool) (*url.URL, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, errors.New("postgres: malformed database URL")
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	switch q.Get("sslmode") {
	case "", "prefer", "allow":
		if usesTLS {
			q.Set("sslmode", "require")
		} else {
			q.Set("sslmode", "disable")
		}
	}
	u.RawQuery = q.Encode()
	return u, nil
}
