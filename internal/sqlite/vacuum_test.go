package sqlite

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// The one VACUUM at the first start of a secure_delete version runs only
// for a database that has held customers: a new one has nothing to clear.
func TestVacuumOnceOnlyWhereCustomersWere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	var log bytes.Buffer
	open := func() *Store {
		s, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	if strings.Contains(log.String(), "vacuumed") {
		t.Fatalf("a new database was vacuumed:\n%s", log.String())
	}
	createForTest(t, s, "Ada")
	if _, err := s.writes.conn.ExecContext(context.Background(), "PRAGMA user_version = 0"); err != nil { // as a file from before secure_delete
		t.Fatal(err)
	}
	s.Close()
	s = open()
	defer s.Close()
	if !strings.Contains(log.String(), "vacuumed") {
		t.Fatalf("a database that held customers was not vacuumed:\n%s", log.String())
	}
}
