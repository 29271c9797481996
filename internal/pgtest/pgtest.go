// Package pgtest gives tests a throwaway PostgreSQL database.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
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

// URL creates an empty database with a random name on the test server
// (EnvServer, or DefaultServer), from template0, and returns its URL; the
// database is dropped, with any connections still open to it, when the
// test ends. When no server answers within a few seconds URL skips the
// test (t.Skip) instead of failing it; any other error fails the test.
func URL(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvServer)
	if server == "" {
		server = DefaultServer
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: %s must be a postgres:// URL", EnvServer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Skipf("PostgreSQL not reachable at %s (%v); start it or set %s", u.Host, err, EnvServer)
	}
	defer admin.Close(context.Background())

	name := "customerd_test_" + strings.ToLower(rand.Text()[:12])
	// template0 is always pristine (template1 may have been changed), and
	// copying it is quick.
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'`, name)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
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
