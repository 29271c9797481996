package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/grpchealth"

	"customerd/internal/auth"
	"customerd/internal/batch"
	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/erasurelog"
	"customerd/internal/logbuf"
	"customerd/internal/loopback"
	"customerd/internal/rpc"
	"customerd/internal/sqlite"
	"customerd/internal/webui"
)

// drainPeriod is how long a stopping server answers new calls with
// UNAVAILABLE before it closes its listener and idle connections.
const drainPeriod = 500 * time.Millisecond

// config is what the flags and environment select.
type config struct {
	addr           string
	dbPath         string
	dbRead         string
	shutdownGrace  time.Duration
	requestIDTTL   time.Duration
	retention      time.Duration
	corsOrigins    string
	durability     string
	maxBatch       int
	logLevel       slog.Level
	logFormat      string
	debugAddr      string
	timeout        time.Duration
	queue          int
	maxInFlight    int
	maxWatchers    int
	maxWatchersKey int
	maxRequest     int
	authKeys       string
	tlsCert        string
	tlsKey         string
	cacheSize      int
	auditRetention time.Duration // how long the audit trail keeps an event
	auditReads     bool          // record reads in the audit trail too
	erasureLog     string        // see erasureLogPath
}

// parseConfig reads the server's configuration from the flags in args and
// from the environment. Flags win.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	cfg := config{
		addr: "127.0.0.1:8080", dbPath: "customers.db", shutdownGrace: 30 * time.Second,
		requestIDTTL: customer.DefaultRequestIDTTL, retention: customer.DefaultChangeRetention, durability: "full", logFormat: "text",
		maxBatch: batch.DefaultMaxBatch, timeout: 10 * time.Second, queue: batch.DefaultQueue, maxInFlight: rpc.DefaultMaxInFlight,
		maxWatchers: rpc.DefaultMaxWatchers, maxWatchersKey: rpc.DefaultMaxWatchersPerKey, maxRequest: rpc.DefaultMaxRequestBytes,
		cacheSize: customer.DefaultCacheSize, auditRetention: customer.DefaultAuditRetention, auditReads: true,
	}
	cfg.addr = cmp.Or(getenv("CUSTOMERD_ADDR"), cfg.addr)
	cfg.dbPath = cmp.Or(getenv("CUSTOMERD_DB"), cfg.dbPath)
	cfg.dbRead = getenv("CUSTOMERD_DB_READ")
	cfg.corsOrigins = getenv("CUSTOMERD_CORS_ORIGINS")
	cfg.authKeys = getenv("CUSTOMERD_AUTH_KEYS")
	cfg.durability = cmp.Or(getenv("CUSTOMERD_DURABILITY"), cfg.durability)
	cfg.erasureLog = getenv("CUSTOMERD_ERASURE_LOG")
	if v := getenv("CUSTOMERD_REQUEST_ID_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return config{}, fmt.Errorf("CUSTOMERD_REQUEST_ID_TTL: %w", err)
		}
		cfg.requestIDTTL = d
	}
	fs := flag.NewFlagSet("customerd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", cfg.addr, "`host:port` to listen on (env CUSTOMERD_ADDR); port 0 picks a free one")
	fs.StringVar(&cfg.dbPath, "db", cfg.dbPath, "SQLite database `path` or :memory:, or a postgres:// URL (env CUSTOMERD_DB)")
	fs.StringVar(&cfg.dbRead, "db-read", cfg.dbRead, "postgres:// `URL` of a hot standby that serves GetCustomer and ListCustomers; a client reads its own writes by sending back a write's Customerd-Consistency header (env CUSTOMERD_DB_READ)")
	fs.DurationVar(&cfg.shutdownGrace, "shutdown-grace", cfg.shutdownGrace, "how long in-flight requests may take to finish on shutdown")
	fs.StringVar(&cfg.corsOrigins, "cors-origins", cfg.corsOrigins, "comma-separated `origins` whose web pages may call the API, or * for any (env CUSTOMERD_CORS_ORIGINS); none by default")
	fs.StringVar(&cfg.durability, "durability", cfg.durability, "`full`: an acknowledged write survives power loss; normal: faster, but the last commits may be lost on power loss (on PostgreSQL: synchronous_commit off, lost if the database server crashes) (env CUSTOMERD_DURABILITY)")
	fs.StringVar(&cfg.authKeys, "auth-keys", cfg.authKeys, "key `file` (made by \"customerd keys add\"): every call needs Authorization: Bearer KEY (env CUSTOMERD_AUTH_KEYS); without it the server listens on loopback only")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "TLS certificate `file` (PEM); with -tls-key, serve HTTPS (HTTP/2 and gRPC over TLS)")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "TLS private key `file` (PEM)")
	fs.DurationVar(&cfg.timeout, "request-timeout", cfg.timeout, "deadline of a call whose client sets none")
	fs.IntVar(&cfg.queue, "queue", cfg.queue, "how many writes may wait for the writer; more fail at once with resource_exhausted")
	fs.IntVar(&cfg.maxInFlight, "max-inflight", cfg.maxInFlight, "how many calls may run at once; more are refused at once with resource_exhausted")
	fs.IntVar(&cfg.maxWatchers, "max-watchers", cfg.maxWatchers, "how many WatchCustomers streams may be open at once; more are refused with resource_exhausted")
	fs.IntVar(&cfg.maxWatchersKey, "max-watchers-per-key", cfg.maxWatchersKey, "how many WatchCustomers streams one API key may have open at once")
	fs.IntVar(&cfg.maxRequest, "max-request-bytes", cfg.maxRequest, "the largest request message; larger ones fail with resource_exhausted")
	fs.IntVar(&cfg.maxBatch, "max-batch", cfg.maxBatch, "the most writes committed in one transaction; 1 turns group commit off")
	fs.IntVar(&cfg.cacheSize, "cache-size", cfg.cacheSize, "how many recently read customers SQLite keeps in memory for GetCustomer and ListCustomers (about 300 bytes each); 0 keeps none")
	fs.StringVar(&cfg.debugAddr, "debug-addr", "", "if set, serve Go's pprof profiles on this loopback `host:port`")
	fs.StringVar(&cfg.logFormat, "log-format", cfg.logFormat, "log `format`: text or json")
	fs.TextVar(&cfg.logLevel, "log-level", cfg.logLevel, "log `level`: debug, info, warn or error (debug logs every write batch)")
	fs.DurationVar(&cfg.retention, "change-retention", cfg.retention, "how long WatchCustomers can resume from a change")
	fs.DurationVar(&cfg.auditRetention, "audit-retention", cfg.auditRetention, "how long the audit trail keeps an event (9600h: 400 days)")
	fs.BoolVar(&cfg.auditReads, "audit-reads", cfg.auditReads, "record reads (GetCustomer, ListCustomers, exports) in the audit trail, not only changes")
	fs.StringVar(&cfg.erasureLog, "erasure-log", cfg.erasureLog, "`file` of erased customer ids, erased again at every start (after a restore); default: the SQLite file's path + \".erasures\", none for PostgreSQL; \"none\" for none (env CUSTOMERD_ERASURE_LOG)")
	fs.DurationVar(&cfg.requestIDTTL, "request-id-ttl", cfg.requestIDTTL, "how long CreateCustomer remembers a request_id (env CUSTOMERD_REQUEST_ID_TTL)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	switch {
	case (cfg.tlsCert == "") != (cfg.tlsKey == ""):
		return config{}, errors.New("-tls-cert and -tls-key go together")
	case cfg.timeout <= 0 || cfg.queue < 1 || cfg.maxInFlight < 1 || cfg.maxRequest < 1 || cfg.maxWatchers < 1 || cfg.maxWatchersKey < 1:
		return config{}, errors.New("-request-timeout, -queue, -max-inflight, -max-watchers, -max-watchers-per-key and -max-request-bytes must be positive")
	case cfg.logFormat != "text" && cfg.logFormat != "json":
		return config{}, errors.New("-log-format must be text or json")
	case cfg.cacheSize < 0:
		return config{}, errors.New("-cache-size must not be negative")
	case cfg.maxBatch < 1:
		return config{}, errors.New("-max-batch must be at least 1")
	case cfg.retention <= 0:
		return config{}, errors.New("-change-retention must be positive")
	case cfg.auditRetention <= 0:
		return config{}, errors.New("-audit-retention must be positive")
	case cfg.requestIDTTL <= 0:
		return config{}, errors.New("-request-id-ttl must be positive")
	case fs.NArg() > 0:
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return cfg, nil
}

// origins returns the CORS origins as a list.
func (c config) origins() []string {
	var out []string
	for o := range strings.SplitSeq(c.corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// logFlushInterval is how long an info line may wait in memory.
const logFlushInterval = 100 * time.Millisecond

// run starts the server and blocks until ctx is done, then shuts it down
// gracefully. It returns an error when the configuration is bad, the
// database cannot be opened or migrated, or the address cannot be bound.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch {
	case len(args) > 0 && args[0] == "backup":
		return runBackup(ctx, args[1:], getenv, stdout, stderr)
	case len(args) > 0 && args[0] == "check":
		return runCheck(ctx, args[1:], getenv, stdout, stderr)
	case len(args) > 1 && args[0] == "keys" && args[1] == "add":
		return runKeysAdd(args[2:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	// A line per call, written out in batches off the request path
	// (warnings and errors at once): see package logbuf.
	logOut := logbuf.New(stderr, logFlushInterval)
	defer logOut.Close()
	var handler slog.Handler = slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.logLevel})
	if cfg.logFormat == "json" {
		handler = slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: cfg.logLevel})
	}
	log := slog.New(logbuf.Handler(handler, logOut))
	var keys *auth.Keys
	if cfg.authKeys != "" {
		if keys, err = auth.Load(cfg.authKeys); err != nil {
			return err
		}
	}
	ln, debugLn, tlsConfig, err := bind(cfg, keys)
	if err != nil {
		return err
	}
	defer ln.Close()
	if debugLn != nil {
		defer debugLn.Close()
	}

	tracer, err := startTracing(ctx, getenv, log)
	if err != nil {
		return err
	}
	defer tracer.shutdown(ctx, log)

	health := grpchealth.NewStaticChecker(rpc.ServiceName)
	// Serving while a primary takes writes, the database is sound and the
	// server is not draining; each of them can take it away.
	var healthMu sync.Mutex
	var noPrimary, damaged, stopping bool
	setHealth := func(change func()) {
		healthMu.Lock()
		defer healthMu.Unlock()
		change()
		status := grpchealth.StatusServing
		if noPrimary || damaged || stopping {
			status = grpchealth.StatusNotServing
		}
		health.SetStatus("", status)
		health.SetStatus(rpc.ServiceName, status)
	}
	notServing := func() { setHealth(func() { stopping = true }) }
	st, err := engine.Open(ctx, cfg.dbPath, engine.Options{
		Logger: log, RequestIDTTL: cfg.requestIDTTL, Durability: cfg.durability, MaxBatch: cfg.maxBatch, Queue: cfg.queue,
		ChangeRetention: cfg.retention, CacheSize: cmp.Or(cfg.cacheSize, -1), ReadDSN: cfg.dbRead, AuditRetention: cfg.auditRetention,
		// A damaged database file fails writes until it is restored: load
		// balancers and orchestrators must stop sending work here. So does
		// a PostgreSQL without a reachable primary, until one is promoted.
		Damaged:  func() { setHealth(func() { damaged = true }) },
		Writable: func(ok bool) { setHealth(func() { noPrimary = !ok }) },
	})
	if err != nil {
		return err
	}
	defer st.Close()
	var erased func(int64) error
	if path := erasureLogPath(cfg); path != "" {
		erasures, err := erasurelog.Open(path)
		if err != nil {
			return err
		}
		defer erasures.Close()
		n, err := erasures.Reapply(ctx, st, log)
		if err != nil {
			return err
		}
		log.Info("erasure log", "path", path, "erased_again", n)
		erased = erasures.Append
	}

	if keys == nil {
		log.Info("no -auth-keys: serving on loopback only, without authentication")
	} else {
		log.Info("API keys required", "keys", keys.Len())
	}
	var draining atomic.Bool
	srv := newServer(tlsConfig, log, rpc.NewHandler(tracer.store(st, cfg.dbPath), health, log, rpc.Options{
		CORSOrigins: cfg.origins(), DefaultTimeout: cfg.timeout, Keys: keys, MaxInFlight: cfg.maxInFlight,
		MaxWatchers: cfg.maxWatchers, MaxWatchersPerKey: cfg.maxWatchersKey,
		MaxRequestBytes: cfg.maxRequest, Gauges: st.Gauges(), Feed: st, Audit: st, Personal: st, NoReadAudit: !cfg.auditReads, Erased: erased,
		Draining: draining.Load, Web: webui.Handler(), Tracing: tracer.interceptor(),
	}))
	if debugLn != nil {
		debug := debugServer(log)
		defer debug.Close()
		go debug.Serve(debugLn)
		log.Info("profiles on http://" + debugLn.Addr().String() + "/debug/pprof/")
	}
	return serveAndDrain(ctx, cfg, log, srv, ln, func() { notServing(); draining.Store(true) }, st.Close)
}

// erasureLogPath returns the erasure log's path: -erasure-log, or next to
// a SQLite file, where a backup restored over the file finds it; "" for
// none.
func erasureLogPath(cfg config) string {
	switch {
	case cfg.erasureLog == "none":
		return ""
	case cfg.erasureLog != "":
		return cfg.erasureLog
	case engine.IsPostgres(cfg.dbPath) || cfg.dbPath == sqlite.Memory:
		return ""
	}
	return cfg.dbPath + ".erasures"
}

// bind loads the TLS certificate and binds the ports the command line
// names. It runs before the database is opened: a typo must not first
// create or migrate a database. -addr must be on loopback without keys,
// -debug-addr always.
func bind(cfg config, keys *auth.Keys) (ln, debugLn net.Listener, tlsConfig *tls.Config, err error) {
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", cfg.tlsCert, cfg.tlsKey, err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if ln, err = listen("-addr", cfg.addr); err != nil {
		return nil, nil, nil, err
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; keys == nil && !ip.IsLoopback() {
		ln.Close()
		return nil, nil, nil, fmt.Errorf("refusing to serve on %s (-addr %s) without -auth-keys: anyone who can reach it could read and change every customer; "+
			"make keys with \"customerd keys add\" or listen on 127.0.0.1", ln.Addr(), cfg.addr)
	}
	if cfg.debugAddr != "" {
		if debugLn, err = listen("-debug-addr", cfg.debugAddr); err != nil {
			ln.Close()
			return nil, nil, nil, err
		}
		if ip := debugLn.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			ln.Close()
			debugLn.Close()
			return nil, nil, nil, fmt.Errorf("-debug-addr %s is not a loopback address: profiles reveal the server's internals; use 127.0.0.1:PORT", cfg.debugAddr)
		}
	}
	return ln, debugLn, tlsConfig, nil
}

// newServer returns the HTTP server of handler. It speaks HTTP/1.1 and
// HTTP/2, over TLS when tlsConfig is set, else without.
func newServer(tlsConfig *tls.Config, log *slog.Logger, handler http.Handler) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if tlsConfig != nil {
		protocols.SetHTTP2(true) // negotiated with ALPN
	} else {
		protocols.SetUnencryptedHTTP2(true) // gRPC clients speak HTTP/2 without TLS
	}
	srv := &http.Server{
		Handler:   handler,
		TLSConfig: tlsConfig,
		Protocols: &protocols,
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	rpc.ConfigureServer(srv)
	return srv
}

// serveAndDrain serves srv on ln until ctx is done, then shuts it down.
// drain has the server report not serving and refuse new calls, in-flight
// calls get cfg.shutdownGrace, and closeStore closes the database. It
// returns at once if serving fails.
func serveAndDrain(ctx context.Context, cfg config, log *slog.Logger, srv *http.Server, ln net.Listener, drain func(), closeStore func() error) error {
	serveErr := make(chan error, 1)
	scheme := "http"
	if srv.TLSConfig != nil {
		scheme = "https"
		go func() { serveErr <- srv.ServeTLS(ln, "", "") }() // the certificate is in srv.TLSConfig
	} else {
		go func() { serveErr <- srv.Serve(ln) }()
	}
	attrs := []any{"db", engine.Redact(cfg.dbPath), "durability", cfg.durability, "max_batch", cfg.maxBatch}
	if cfg.dbRead != "" {
		attrs = append(attrs, "db_read", engine.Redact(cfg.dbRead))
	}
	log.Info("listening on "+scheme+"://"+ln.Addr().String(), attrs...)
	logbuf.Flush(log) // whoever waits for the server to be up reads this line

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}

	log.Info("shutting down")
	// First refuse new calls with a clear UNAVAILABLE on the connections
	// clients already hold, and close those connections after each answer;
	// only then stop listening and close what is idle. Closing at once would
	// reset connections that a request is racing onto.
	drain()
	select {
	case <-time.After(min(cfg.shutdownGrace/2, drainPeriod)):
	case err := <-serveErr:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownGrace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("in-flight requests did not finish in time; closing them", "grace", cfg.shutdownGrace)
		err = srv.Close()
	}
	if cerr := closeStore(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// listen binds addr for the flag named flagName, saying which flag to
// change when the port is taken.
func listen(flagName, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s %s: the port is already in use (by another customerd?); stop it or pass another %s: %w", flagName, addr, flagName, err)
	} else if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flagName, addr, err)
	}
	return ln, nil
}

// debugServer serves net/http/pprof. It listens on loopback only and, like
// the API without keys, answers only requests addressed to a loopback name
// (see [loopback.IsHost]): otherwise a web page that points its own domain
// name at 127.0.0.1 could read goroutine stacks and profiles (DNS
// rebinding). Others get 403.
func debugServer(log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopback.IsHost(r.Host) {
			log.Warn("debug server refused a request for a non-loopback host", "host", rpc.Clip(r.Host), "peer", r.RemoteAddr)
			http.Error(w, "forbidden: the debug server only answers requests addressed to localhost or a loopback address", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// runBackup runs "customerd backup -db PATH -out FILE". It makes a
// consistent copy of the database, safe while a server runs on it.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("customerd backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", cmp.Or(getenv("CUSTOMERD_DB"), "customers.db"), "the database `path` (env CUSTOMERD_DB)")
	out := fs.String("out", "", "the backup `file` to create; it must not exist")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return errors.New("usage: customerd backup [-db PATH] -out FILE")
	}
	if err := engine.Backup(ctx, *dbPath, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", *dbPath, *out)
	return nil
}

// runCheck runs "customerd check -db PATH". It prints "ok" when the
// database is sound, and otherwise each problem found and fails.
func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("customerd check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", cmp.Or(getenv("CUSTOMERD_DB"), "customers.db"), "the database `path` (env CUSTOMERD_DB), or a backup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("usage: customerd check [-db PATH]")
	}
	problems, err := engine.Check(ctx, *dbPath)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		fmt.Fprintln(stdout, "ok")
		return nil
	}
	fmt.Fprintf(stdout, "%s is damaged:\n", *dbPath)
	for _, p := range problems {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
	return fmt.Errorf("check: %s is damaged (see above): do not serve it; restore a good backup (check the backup first with customerd check -db BACKUP)", *dbPath)
}

// runKeysAdd runs "customerd keys add -file FILE [-name NAME] -scope
// read|write|admin". It
// prints a new key, alone on its line, and appends only its hash to FILE.
func runKeysAdd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("customerd keys add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", getenv("CUSTOMERD_AUTH_KEYS"), "the key `file` to append to (env CUSTOMERD_AUTH_KEYS)")
	scopeName := fs.String("scope", "", "what the key may do: `read`, write (and read) or admin (everything, the audit trail, export and erasure among it)")
	name := fs.String("name", "", "who holds the key, as the audit trail records it (letters, digits, . _ - @); without it, the key's id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		return errors.New("usage: customerd keys add -file FILE [-name NAME] -scope read|write|admin")
	}
	scope, err := auth.ParseScope(*scopeName)
	if err != nil {
		return err
	}
	key, err := auth.AddNamedKey(*file, scope, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key)
	fmt.Fprintf(stderr, "added a %s key to %s; it is shown only this once\n", scope, *file)
	return nil
}
