// Package pgcluster runs small PostgreSQL clusters of its own for tests: a
// primary with streaming standbys made by pg_basebackup, on free ports of
// 127.0.0.1 under a temporary directory, which a test can kill -9, promote
// and rebuild.
//
// It needs PostgreSQL's server binaries (initdb, postgres, pg_ctl,
// pg_basebackup): the directory in $CUSTOMERD_PG_BIN, else the one
// pg_config --bindir names, else the newest /usr/lib/postgresql/*/bin.
// PostgreSQL refuses to run as root: when the test runs as root, the
// servers run as the user postgres. Every server is stopped when the test
// ends, whatever its outcome; every wait is bounded.
package pgcluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvBin names the environment variable that may point at PostgreSQL's
// bin directory.
const EnvBin = "CUSTOMERD_PG_BIN"

// Database is the database every cluster serves to the tests.
const Database = "customerd"

// startTimeout bounds one server start, promotion or base backup.
const startTimeout = 60 * time.Second

// Bin returns PostgreSQL's bin directory (see the package comment), or an
// error saying where it looked.
func Bin() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres", "pg_ctl", "pg_basebackup"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv(EnvBin); dir != "" {
		if !has(dir) {
			return "", fmt.Errorf("pgcluster: %s=%s holds no initdb, postgres, pg_ctl and pg_basebackup", EnvBin, dir)
		}
		return dir, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("pgcluster: PostgreSQL's server binaries not found (set %s, put pg_config on PATH, or install Debian's postgresql package)", EnvBin)
}

// version is the major version in a /usr/lib/postgresql/N/bin path.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Options shape a cluster. The zero value is a primary alone.
type Options struct {
	// Standbys is how many streaming standbys to start.
	Standbys int
	// Sync makes the first standby synchronous (synchronous_standby_names)
	// with synchronous_commit = SyncCommit: a commit is acknowledged only
	// once that standby has it.
	Sync bool
	// SyncCommit is synchronous_commit on the primary with Sync: "on" (the
	// default: the standby flushed the commit) or "remote_apply" (the
	// standby also applied it, so it is visible there).
	SyncCommit string
}

// Cluster is a set of PostgreSQL servers replicating from one primary.
type Cluster struct {
	t    testing.TB
	bin  string
	root string
	cred *syscall.Credential // nil unless the test runs as root
	opts Options

	mu    sync.Mutex
	nodes []*Node
	n     int // nodes ever made, for names
}

// Node is one PostgreSQL server of a cluster.
type Node struct {
	Name string
	Port int
	dir  string
	c    *Cluster

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *bytes.Buffer
}

// Start starts a cluster shaped by opts and stops it when the test ends. It
// skips the test when PostgreSQL's binaries are missing, and fails it when
// a server cannot start.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bin, err := Bin()
	if err != nil && os.Getenv(EnvBin) != "" {
		t.Fatal(err) // asked for, and wrong
	} else if err != nil {
		t.Skip(err)
	}
	opts.SyncCommit = cmpOr(opts.SyncCommit, "on")
	c := &Cluster{t: t, bin: bin, opts: opts}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("pgcluster: PostgreSQL refuses to run as root and there is no user postgres to run it as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parents are private to this user.
	c.root, err = os.MkdirTemp("", "pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stopAll)
	if c.cred != nil {
		if err := os.Chown(c.root, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}

	primary := c.newNode()
	c.run("initdb", "-D", primary.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
	conf := "listen_addresses = '127.0.0.1'\n" +
		"unix_socket_directories = ''\n" +
		"shared_buffers = 16MB\n" +
		"max_connections = 60\n" +
		"wal_level = replica\n" +
		"max_wal_senders = 10\n" +
		"max_replication_slots = 10\n" +
		"hot_standby = on\n" +
		"hot_standby_feedback = on\n" +
		"wal_keep_size = 64MB\n" +
		"wal_receiver_status_interval = 1s\n" +
		"wal_retrieve_retry_interval = 100ms\n" +
		"checkpoint_timeout = 30min\n" +
		"log_min_messages = warning\n"
	if err := os.WriteFile(filepath.Join(primary.dir, "postgresql.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(primary.dir, "pg_hba.conf"),
		[]byte("host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.chown(primary.dir)
	primary.start()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c.exec(ctx, primary, "CREATE DATABASE "+Database)
	for range opts.Standbys {
		c.AddStandby(primary)
	}
	if opts.Sync && opts.Standbys > 0 {
		c.MakeSync(primary, c.nodes[1])
	}
	return c
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// newNode reserves a name, a directory and a free port for a new node.
func (c *Cluster) newNode() *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	n := &Node{Name: fmt.Sprintf("node%d", c.n), c: c}
	n.dir = filepath.Join(c.root, n.Name)
	n.Port = freePort(c.t)
	c.nodes = append(c.nodes, n)
	return n
}

// freePort returns a TCP port of 127.0.0.1 that nothing listens on now.
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// command returns a command running a PostgreSQL binary as the servers'
// user.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.root
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a PostgreSQL binary to completion, failing the test with its
// output when it fails.
func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if out, err := c.command(ctx, name, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("pgcluster: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// chown gives dir, recursively, to the servers' user.
func (c *Cluster) chown(dir string) {
	if c.cred == nil {
		return
	}
	filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err == nil {
			err = os.Lchown(path, int(c.cred.Uid), int(c.cred.Gid))
		}
		return err
	})
}

// start starts the node's server and waits until it accepts connections
// (a standby: until it accepts read-only ones).
func (n *Node) start() {
	t := n.c.t
	t.Helper()
	n.mu.Lock()
	cmd := n.c.command(context.Background(), "postgres", "-D", n.dir, "-p", strconv.Itoa(n.Port))
	n.log = new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		t.Fatalf("pgcluster: start %s: %v", n.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, n.url("postgres"))
		if err == nil {
			conn.Close(context.Background())
			return
		}
		select {
		case <-done:
			t.Fatalf("pgcluster: %s exited at start: %s", n.Name, n.Log())
		case <-ctx.Done():
			t.Fatalf("pgcluster: %s did not accept connections within %v: %v\n%s", n.Name, startTimeout, err, n.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Log returns what the node's server wrote to its standard error.
func (n *Node) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.log == nil {
		return ""
	}
	return n.log.String()
}

// Addr is the node's host:port.
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

// URL is the URL of the node's database Database.
func (n *Node) URL() string { return n.url(Database) }

func (n *Node) url(db string) string {
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Host: n.Addr(), Path: "/" + db,
		RawQuery: "sslmode=disable&connect_timeout=5"}).String()
}

// Kill kills the node's server and every process of it at once with
// SIGKILL, as a machine that loses power would, and waits until they are
// gone.
func (n *Node) Kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the server's process group
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		n.c.t.Errorf("pgcluster: %s did not exit 10s after SIGKILL", n.Name)
	}
	// Backends in the group may outlive the postmaster by a moment.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-cmd.Process.Pid, 0) == nil && time.Now().Before(deadline) {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		time.Sleep(10 * time.Millisecond)
	}
}

// Running reports whether the node's server runs.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

// stop shuts the server down fast (SIGINT), then kills it if it has not
// exited after a few seconds.
func (n *Node) stop() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// stopAll stops every server and removes the cluster's directory.
func (c *Cluster) stopAll() {
	c.mu.Lock()
	nodes := slices.Clone(c.nodes)
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
	if c.t.Failed() {
		for _, n := range nodes {
			if log := n.Log(); log != "" {
				c.t.Logf("pgcluster: %s's log:\n%s", n.Name, log)
			}
		}
	}
	os.RemoveAll(c.root)
}

// Nodes returns the cluster's nodes, in the order they were made.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

// Primary returns the node that runs and is not in recovery, or nil.
func (c *Cluster) Primary() *Node {
	for _, n := range c.Nodes() {
		if n.Running() && !n.InRecovery() {
			return n
		}
	}
	return nil
}

// InRecovery reports whether the node is a standby (true also when it
// cannot be asked).
func (n *Node) InRecovery() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	in := true
	withConn(ctx, n, func(conn *pgx.Conn) error { return conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&in) })
	return in
}

// MultiHostURL returns one URL naming nodes, in this order, or every node
// of the cluster when none is given, for clients that must find the
// primary themselves: with target_session_attrs=read-write.
func (c *Cluster) MultiHostURL(nodes ...*Node) string {
	if len(nodes) == 0 {
		nodes = c.Nodes()
	}
	var hosts []string
	for _, n := range nodes {
		hosts = append(hosts, n.Addr())
	}
	return "postgres://postgres@" + strings.Join(hosts, ",") + "/" + Database +
		"?sslmode=disable&connect_timeout=2&target_session_attrs=read-write"
}

// AddStandby makes a new node a streaming standby of from (pg_basebackup
// -R), starts it and returns it.
func (c *Cluster) AddStandby(from *Node) *Node {
	c.t.Helper()
	n := c.newNode()
	c.basebackup(from, n)
	n.start()
	return n
}

// Rebuild turns n, whose server must not run (a killed old primary), into
// a streaming standby of from: its data directory is replaced by a fresh
// base backup, as a failover manager reinitializes a node that cannot
// rewind.
func (c *Cluster) Rebuild(n, from *Node) {
	c.t.Helper()
	if n.Running() {
		c.t.Fatalf("pgcluster: rebuild %s: its server runs", n.Name)
	}
	if err := os.RemoveAll(n.dir); err != nil {
		c.t.Fatal(err)
	}
	c.basebackup(from, n)
	n.start()
}

func (c *Cluster) basebackup(from, n *Node) {
	c.t.Helper()
	c.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(from.Port), "-U", "postgres", "-D", n.dir,
		"-R", "-X", "stream", "-c", "fast", "--no-sync",
		"-d", "application_name="+n.Name)
	conf := fmt.Sprintf("\nport = %d\n", n.Port)
	f, err := os.OpenFile(filepath.Join(n.dir, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	_, err = f.WriteString(conf)
	f.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	c.chown(n.dir)
}

// MakeSync makes standby the synchronous standby of primary, with
// Options.SyncCommit, and waits until primary reports it as such.
func (c *Cluster) MakeSync(primary, standby *Node) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c.exec(ctx, primary, fmt.Sprintf("ALTER SYSTEM SET synchronous_standby_names = '%s'", standby.Name))
	c.exec(ctx, primary, "ALTER SYSTEM SET synchronous_commit = '"+c.opts.SyncCommit+"'")
	c.exec(ctx, primary, "SELECT pg_reload_conf()")
	for {
		var state string
		err := withConn(ctx, primary, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, "SELECT coalesce(max(sync_state), '') FROM pg_stat_replication WHERE application_name = $1", standby.Name).Scan(&state)
		})
		if err == nil && state == "sync" {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("pgcluster: %s did not become the synchronous standby of %s within %v (state %q, %v)", standby.Name, primary.Name, startTimeout, state, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Promote promotes the standby n (pg_ctl promote), waits until it accepts
// writes, and clears its synchronous_standby_names, as a failover manager
// does when no synchronous standby is left (Patroni's synchronous_mode
// without strict): until a new standby is made synchronous, commits on
// it are acknowledged without one.
func (c *Cluster) Promote(n *Node) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if out, err := c.command(ctx, "pg_ctl", "promote", "-w", "-t", "60", "-D", n.dir).CombinedOutput(); err != nil {
		c.t.Fatalf("pgcluster: promote %s: %v\n%s", n.Name, err, out)
	}
	c.exec(ctx, n, "ALTER SYSTEM RESET synchronous_standby_names")
	c.exec(ctx, n, "SELECT pg_reload_conf()")
}

// exec runs sql on n's postgres database, failing the test on error.
func (c *Cluster) exec(ctx context.Context, n *Node, sql string) {
	c.t.Helper()
	err := withConn(ctx, n, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sql)
		return err
	})
	if err != nil {
		c.t.Fatalf("pgcluster: %s: %s: %v", n.Name, sql, err)
	}
}

// withConn runs f on a connection of its own to n's postgres database.
func withConn(ctx context.Context, n *Node, f func(conn *pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, n.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return f(conn)
}
