package pgstore

import "time"

// Listening reports whether s's LISTEN connection is up.
func Listening(s *Store) bool { return s.listening.Load() }

// Notifications returns how many change notifications s has received.
func Notifications(s *Store) int64 { return s.notifications.Load() }

// SetPoll sets how long WaitForChange waits without a notification.
func SetPoll(s *Store, d time.Duration) { s.poll = d }
