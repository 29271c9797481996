// Package erasurelog keeps the ids of erased customers in a file outside
// the database, so that erasures survive the restore of a backup taken
// before them: the server erases every id of the log again when it starts.
// The file holds one line per erasure, "ID TIME", and no personal value.
package erasurelog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"customerd/internal/customer"
)

// Log is an open erasure log. Its methods are safe for concurrent use.
type Log struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// Open opens (creating it, readable by its owner only) the log at path.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("erasure log: %w", err)
	}
	return &Log{path: path, f: f}, nil
}

// Append records that customer id was erased, durably (fsync) before it
// returns.
func (l *Log) Append(id int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := fmt.Fprintf(l.f, "%d %s\n", id, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("erasure log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("erasure log: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// IDs returns the ids the log holds, each once, in the order they were
// first erased. It fails, naming the line, on a line it cannot read.
func (l *Log) IDs() ([]int64, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("erasure log: %w", err)
	}
	defer f.Close()
	var ids []int64
	seen := map[int64]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		field, _, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if field == "" {
			continue
		}
		id, err := strconv.ParseInt(field, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("erasure log: %s:%d: want \"ID TIME\"", l.path, n)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("erasure log: %w", err)
	}
	return ids, nil
}

// Principal is the principal of the erasures Reapply makes, in the audit
// trail.
const Principal = "erasure-log"

// Reapply erases again every customer of the log that st still holds
// something of (after the restore of an older backup), and returns how
// many it erased. It asks st once which ids it still holds (StillHeld), so
// that a start costs one read of the store, not one per erasure ever
// logged, when there is nothing to erase again. It erases up to
// reapplyTogether customers at a time, concurrently, so that the store's
// writer takes them in one transaction: an erasure's fixed costs (merging
// the search index, emptying the WAL) are paid once per group instead of
// once per customer.
func (l *Log) Reapply(ctx context.Context, st customer.PersonalData, log *slog.Logger) (int, error) {
	ids, err := l.IDs()
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	held, err := st.StillHeld(ctx, ids)
	if err != nil {
		return 0, errors.Join(errors.New("erasure log: finding the customers to erase again"), err)
	}
	again := make(map[int64]bool, len(held))
	for _, id := range held {
		again[id] = true
	}
	todo := make([]int64, 0, len(held))
	for _, id := range ids { // in the log's order
		if again[id] {
			todo = append(todo, id)
		}
	}
	ctx = customer.WithAudit(ctx, customer.AuditEvent{Principal: Principal, Procedure: "EraseCustomer"})
	erased := 0
	for group := range slices.Chunk(todo, reapplyTogether) {
		errs := make([]error, len(group))
		var wg sync.WaitGroup
		for i, id := range group {
			wg.Go(func() { errs[i] = st.EraseCustomer(ctx, id, "") })
		}
		wg.Wait()
		for i, id := range group {
			switch err := errs[i]; {
			case err == nil:
				erased++
				log.Warn("erased a customer again: the database held it although the erasure log says it was erased (a restored backup?)", "id", id)
			case customer.ErrorCode(err) == customer.NotFound:
			default:
				return erased, errors.Join(fmt.Errorf("erasure log: erasing customer %d again", id), err)
			}
		}
	}
	return erased, nil
}

// reapplyTogether is how many erasures Reapply runs at once: fewer than a
// write batch holds (batch.DefaultMaxBatch), so that they share one.
const reapplyTogether = 64
