package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"customerd/internal/sqlite"
	"customerd/internal/sqlitedb"
)

// Word lists of the seeded customers; searches draw from them too, so that
// they find something, and from missing, so that some find nothing.
var (
	firstNames = []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken", "Radia", "Tim"}
	lastNames  = []string{"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Thompson", "Perlman", "Berners-Lee"}
	cities     = []string{"London", "Paris", "Berlin", "Madrid", "Rome", "Vienna", "Prague", "Oslo", "Lisbon", "Dublin", "Zurich"}
	searches   = []string{"ada", "london", "turing paris", "grace hop", "company7", "perlman oslo", "zzzz"}
)

// seededCustomer returns the fields of seeded customer i.
func seededCustomer(i int) sqlitedb.CreateCustomerParams {
	f, l := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
	phone := fmt.Sprintf("+44 20 %04d %04d", i%10000, (i*7)%10000)
	addr := fmt.Sprintf("%d High Street, %s", i%300, cities[(i/97)%len(cities)])
	return sqlitedb.CreateCustomerParams{
		Name:    f + " " + l,
		Email:   fmt.Sprintf("%s.%s.%d@company%d.example", strings.ToLower(f), strings.ToLower(l), i, i%1000),
		Phone:   &phone,
		Address: &addr,
	}
}

// seed creates a database with n customers, through the store (so that it
// is migrated exactly as the server would) and the generated queries, in
// transactions of 10,000 rows, and returns its path.
func seed(ctx context.Context, dir string, n int) (string, error) {
	path := filepath.Join(dir, "template.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for done := 0; done < n; {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		q := sqlitedb.New(tx)
		for end := min(n, done+10_000); done < end; done++ {
			if _, err := q.CreateCustomer(ctx, seededCustomer(done)); err != nil {
				tx.Rollback()
				return "", err
			}
		}
		if err := sqlite.UpdateSearchIndex(ctx, q); err != nil {
			tx.Rollback()
			return "", err
		}
		if err := tx.Commit(); err != nil {
			return "", err
		}
	}
	// Leave a compact file with fresh statistics and no WAL behind.
	for _, pragma := range []string{"PRAGMA optimize", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := db.ExecContext(ctx, pragma); err != nil {
			return "", err
		}
	}
	return path, nil
}

// copyFile copies the seeded template, so every server starts from the same
// database.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// buildServer builds the customerd binary of this checkout into dir.
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "customerd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/customerd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/customerd: %v\n%s", err, out)
	}
	return bin, nil
}
