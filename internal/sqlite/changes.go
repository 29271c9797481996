package sqlite

import (
	"context"
	"time"

	"customerd/internal/customer"
	"customerd/internal/sqlitedb"
)

var _ customer.ChangeFeed = (*Store)(nil)

// ListChanges returns up to limit changes after seq after, in commit order.
func (s *Store) ListChanges(ctx context.Context, after int64, limit int) ([]customer.Change, error) {
	rows, err := s.reads.ListChanges(ctx, sqlitedb.ListChangesParams{AfterSeq: after, MaxChanges: int64(limit)})
	if err != nil {
		return nil, s.mapError(err)
	}
	return customer.ChangesFromRows(rows), nil
}

// ChangeBounds returns the oldest and newest change kept (0, 0 when there
// is none).
func (s *Store) ChangeBounds(ctx context.Context) (int64, int64, error) {
	oldest, newest, err := customer.ReadChangeBounds(ctx, s.reads)
	return oldest, newest, s.mapError(err)
}

// WaitForChange returns when the batch actor commits a change to
// customers, after a second at most (changes made by other processes, such
// as the sqlite3 shell, are seen that way), or when ctx ends. It returns at once if a change after
// after already exists.
func (s *Store) WaitForChange(ctx context.Context, after int64) error {
	return s.mapError(s.commits.AwaitNewer(ctx, after, s.reads.NewestChange, time.Second))
}
