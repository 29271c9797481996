// Package enginetest runs one set of tests against every storage engine:
// each test asks for a fresh database of each engine and checks the same
// behaviour through the same interface.
package enginetest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"customerd/internal/engine"
	"customerd/internal/pgtest"
)

// Engine is one storage engine under test.
type Engine struct {
	Name string
	// DSN returns the address of an empty database for one test: a new
	// file in a temp dir, or a PostgreSQL database of the process's pool
	// (pgtest.Reused: no rows, and the schema of the last store opened on
	// it). It skips the test, with the reason, when the engine cannot run
	// here.
	DSN func(t testing.TB) string
}

// All lists the engines, SQLite first. PostgreSQL tests skip, saying why,
// when no server answers (see pgtest). The environment variable
// CUSTOMERD_TEST_ENGINES (a comma-separated list of names) keeps only
// those named.
func All() []Engine {
	all := []Engine{
		{Name: "SQLite", DSN: func(t testing.TB) string { return filepath.Join(t.TempDir(), "customers.db") }},
		{Name: "PostgreSQL", DSN: func(t testing.TB) string { return pgtest.Reused(t) }},
	}
	if only := os.Getenv("CUSTOMERD_TEST_ENGINES"); only != "" {
		names := strings.Split(strings.ToLower(only), ",")
		all = slices.DeleteFunc(all, func(e Engine) bool { return !slices.Contains(names, strings.ToLower(e.Name)) })
	}
	return all
}

// Run runs test once per engine, each as a subtest named after the engine.
// It fails the test when CUSTOMERD_TEST_ENGINES names no engine, so that a
// misspelt name cannot pass every test by running none.
func Run(t *testing.T, test func(t *testing.T, e Engine)) {
	t.Helper()
	engines := All()
	if len(engines) == 0 {
		t.Fatalf("CUSTOMERD_TEST_ENGINES=%q names no engine (SQLite, PostgreSQL)", os.Getenv("CUSTOMERD_TEST_ENGINES"))
	}
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) { test(t, e) })
	}
}

// Open opens a new, empty database of e with opts, and closes it when the
// test ends. It fails the test if the database cannot be opened.
func (e Engine) Open(t testing.TB, opts engine.Options) engine.Engine {
	t.Helper()
	return e.Reopen(t, e.DSN(t), opts)
}

// OpenTimeout bounds opening a database in a test, migrating it included:
// long enough for a loaded machine, and short of go test's own timeout, so
// that a stuck migration fails its test with a message.
const OpenTimeout = 2 * time.Minute

// Reopen opens the database at dsn (made by e.DSN) with opts, and closes
// it when the test ends. It fails the test when the database cannot be
// opened within OpenTimeout.
func (e Engine) Reopen(t testing.TB, dsn string, opts engine.Options) engine.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), OpenTimeout)
	defer cancel()
	start := time.Now()
	s, err := engine.Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("open %s (after %v): %v", e.Name, time.Since(start).Round(time.Millisecond), err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
