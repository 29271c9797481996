package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/customer"
	"customerd/internal/postgres"
)

// replicasOf is how many customerd processes each PostgreSQL mode runs on
// one database.
var replicasOf = map[string]int{"postgres": 1, "postgres3": 3}

// pgServer is the PostgreSQL server the postgres modes use: each
// measurement gets its own database, cloned from a seeded template and
// dropped afterwards.
type pgServer struct {
	admin    string // URL of a database to connect to for CREATE DATABASE
	template string // name of the seeded template database
}

// withDatabase returns the URL of admin with its database replaced by name.
func withDatabase(admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return "", fmt.Errorf("-postgres must be on this machine (127.0.0.1), not %s", h)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func (p *pgServer) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, p.admin)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL (-postgres): %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// seedPostgres creates the template database, migrated by the store itself,
// with n customers created through the store (64 at a time, batched), so
// that every column the store maintains is filled as in production.
func seedPostgres(ctx context.Context, admin string, n int) (*pgServer, error) {
	p := &pgServer{admin: admin, template: fmt.Sprintf("customerload_%d_template", os.Getpid())}
	dbURL, err := withDatabase(admin, p.template)
	if err != nil {
		return nil, err
	}
	if err := p.exec(ctx, "CREATE DATABASE "+p.template+" TEMPLATE template0"); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			p.drop(context.WithoutCancel(ctx), p.template)
		}
	}()
	s, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		return nil, err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				c := seededCustomer(i)
				if _, err := s.CreateCustomer(ctx, customer.New{Name: c.Name, Email: c.Email, Phone: c.Phone, Address: c.Address}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := s.Close(); err != nil {
		return nil, err
	}
	if err := <-errs; err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

// clone makes a database from the template and returns its URL.
func (p *pgServer) clone(ctx context.Context, name string) (string, error) {
	if err := p.exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, p.template)); err != nil {
		return "", err
	}
	dbURL, err := withDatabase(p.admin, name)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "ANALYZE")
	return dbURL, err
}

// drop removes a database made by clone or seedPostgres.
func (p *pgServer) drop(ctx context.Context, name string) error {
	return p.exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
}

// roundRobin sends each request to the next of hosts, so that one client
// spreads its calls over every replica.
type roundRobin struct {
	hosts []string
	next  atomic.Uint64
	base  http.RoundTripper
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Host = r.hosts[r.next.Add(1)%uint64(len(r.hosts))]
	req.Host = req.URL.Host
	return r.base.RoundTrip(req)
}

// hostOf returns the host:port of a server URL.
func hostOf(serverURL string) string {
	return strings.TrimPrefix(serverURL, "http://")
}

// onStandby returns the URL of database name on the hot standby at
// admin, once the standby has replayed its creation (a minute at most).
func onStandby(ctx context.Context, admin, name string) (string, error) {
	dbURL, err := withDatabase(admin, name)
	if err != nil {
		return "", fmt.Errorf("-postgres-read: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		conn, err := pgx.Connect(wctx, dbURL)
		if err == nil {
			conn.Close(ctx)
			return dbURL, nil
		}
		select {
		case <-wctx.Done():
			return "", fmt.Errorf("-postgres-read: database %s did not appear on the standby within a minute: %w", name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
