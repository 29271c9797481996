package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listening reports whether s's LISTEN connection is up.
func Listening(s *Store) bool { return s.listening.Load() }

// Notifications returns how many change notifications s has received.
func Notifications(s *Store) int64 { return s.notifications.Load() }

// SetPoll sets how long WaitForChange waits without a notification.
func SetPoll(s *Store, d time.Duration) { s.poll = d }

// SetScanHook makes every later scan of s run hook on its connection
// before its query; nil removes it.
func SetScanHook(s *Store, hook func(ctx context.Context, conn *pgx.Conn) error) { s.scanHook = hook }

// ScanSlots returns how many scans s runs at once.
func ScanSlots(s *Store) int { return s.scans.Len() }
