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
	// The VACUUM went through a temporary file; the writer's statement
	// journals are in memory again (writerTemp).
	var store int
	if err := s.writes.conn.QueryRowContext(context.Background(), "PRAGMA temp_store").Scan(&store); err != nil || store != 2 {
		t.Fatalf("the writer's temp_store after the VACUUM: %d, %v; want 2 (memory)", store, err)
	}
	createForTest(t, s, "Grace")
}
