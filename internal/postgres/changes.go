package postgres

import (
	"cmp"
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"customerd/internal/customer"
	"customerd/internal/pgdb"
)

// ListChanges returns up to limit changes after seq after, in commit order.
// It fails with customer.Unavailable when the database cannot be reached.
func (s *Store) ListChanges(ctx context.Context, after int64, limit int) ([]customer.Change, error) {
	if s.closing.Load() {
		return nil, customer.ErrShuttingDown
	}
	rows, err := s.reads.ListChanges(ctx, pgdb.ListChangesParams{AfterSeq: after, MaxChanges: int32(min(limit, 1<<30))})
	if err != nil {
		return nil, s.mapError(err)
	}
	return customer.ChangesFromRows(rows), nil
}

// ChangeBounds returns the oldest and newest change kept (0, 0 when there
// is none). It fails with customer.Unavailable when the database cannot be
// reached.
func (s *Store) ChangeBounds(ctx context.Context) (int64, int64, error) {
	if s.closing.Load() {
		return 0, 0, customer.ErrShuttingDown
	}
	oldest, newest, err := customer.ReadChangeBounds(ctx, s.reads)
	return oldest, newest, s.mapError(err)
}

// WaitForChange returns at once if a change after after exists; otherwise
// when a commit is seen (a write of this store, or a NOTIFY from any
// replica or any other client writing through the triggers), after a second
// at most, or when ctx ends (with ctx.Err()).
func (s *Store) WaitForChange(ctx context.Context, after int64) error {
	if s.closing.Load() {
		return customer.ErrShuttingDown
	}
	return s.mapError(s.commits.AwaitNewer(ctx, after, s.reads.NewestChange, cmp.Or(s.poll, time.Second)))
}

// notifyChannel is the channel the change trigger notifies on commit.
const notifyChannel = "customer_changes"

// listen keeps a connection of its own LISTENing on notifyChannel until ctx
// ends, and wakes the watchers on every notification. When the connection
// breaks it reconnects after a pause; watchers meanwhile rely on
// WaitForChange's one-second poll, and are woken after every (re)connect in
// case a notification was lost in between.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	defer s.stopped.Done()
	for ctx.Err() == nil {
		if err := s.listenOnce(ctx, cfg); err != nil && ctx.Err() == nil {
			s.log.Warn("listening for change notifications failed; reconnecting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	s.listening.Store(true)
	defer s.listening.Store(false)
	s.commits.Notify()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.notifications.Add(1)
		s.commits.Notify()
	}
}
