// Package audit holds what both engines share of the audit trail: the
// encoding in which events travel to the database (a JSON array, so that a
// batch of events is one statement) and the Recorder that batches the
// events of reads.
package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"customerd/internal/customer"
)

// Append appends ev to buf as the engines' append queries read it: a JSON
// array [time, principal, procedure, code, request_id, [customer ids]],
// the time in customer.TimeLayout.
func Append(buf []byte, ev customer.AuditEvent) []byte {
	buf = append(buf, `["`...)
	buf = ev.Time.UTC().AppendFormat(buf, customer.TimeLayout)
	buf = append(buf, '"', ',')
	for _, s := range [...]string{ev.Principal, ev.Procedure, ev.Code, ev.RequestID} {
		buf = appendString(buf, s)
		buf = append(buf, ',')
	}
	buf = append(buf, '[')
	for i, id := range ev.CustomerIDs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, id, 10)
	}
	return append(buf, ']', ']')
}

// Encode returns events as one JSON array for the append queries.
func Encode(events ...customer.AuditEvent) []byte {
	buf := []byte{'['}
	for i, ev := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = Append(buf, ev)
	}
	return append(buf, ']')
}

// appendString appends s as a JSON string.
func appendString(buf []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // replaces invalid bytes with U+FFFD
	}
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, `\u00`...)
			buf = append(buf, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// ParseIDs reads a JSON array of customer ids, as SQLite stores them; it
// returns nil for anything else.
func ParseIDs(s string) []int64 {
	var ids []int64
	if json.Unmarshal([]byte(s), &ids) != nil {
		return nil
	}
	return ids
}

// Store stores a JSON array of encoded events (see Append) in one
// transaction.
type Store func(ctx context.Context, events []byte) error

// Defaults of a Recorder.
const (
	FlushInterval = 100 * time.Millisecond // how long an event waits at most
	FlushEvents   = 512                    // how many events make a flush at once
	MaxPending    = 200_000                // events kept while the database refuses them
)

// Recorder batches audit events: Record adds one to a buffer, which is
// stored every FlushInterval, or at once when FlushEvents are waiting, in
// one transaction. Close stores what is left, so that every event recorded
// before a clean shutdown is kept. When the database refuses a batch the
// events stay for the next flush, up to MaxPending; beyond that new events
// are dropped and counted, and the drop is logged.
type Recorder struct {
	store Store
	log   *slog.Logger

	mu      sync.Mutex
	buf     []byte // "[" and the events, comma-separated
	n       int    // events in buf
	spare   []byte // the other buffer, while a flush stores one
	dropped int64
	closed  bool

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// NewRecorder starts a recorder that stores its batches with store.
func NewRecorder(store Store, log *slog.Logger) *Recorder {
	r := &Recorder{store: store, log: log, buf: []byte{'['}, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

// Record queues ev. It never blocks on the database.
func (r *Recorder) Record(ev customer.AuditEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.n >= MaxPending {
		r.dropped++
		return
	}
	if r.n > 0 {
		r.buf = append(r.buf, ',')
	}
	r.buf = Append(r.buf, ev)
	r.n++
	if r.n == FlushEvents {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *Recorder) loop() {
	defer close(r.done)
	tick := time.NewTicker(FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		case <-r.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := r.Flush(ctx); err != nil {
			r.log.Warn("storing audit events failed; will retry", "err", err)
		}
		cancel()
	}
}

// Flush stores the events waiting now.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	if r.n == 0 {
		r.mu.Unlock()
		return nil
	}
	batch, n, dropped := append(r.buf, ']'), r.n, r.dropped
	r.buf, r.n, r.dropped = append(r.spare[:0], '['), 0, 0
	r.mu.Unlock()
	if dropped > 0 {
		r.log.Error("audit events were dropped: the database refused them for too long", "dropped", dropped)
	}
	err := r.store(ctx, batch)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		// Put the events back in front of those recorded since.
		body := batch[1 : len(batch)-1]
		rest := r.buf[1:]
		merged := make([]byte, 0, len(body)+len(rest)+2)
		merged = append(append(merged, '['), body...)
		if r.n > 0 {
			merged = append(append(merged, ','), rest...)
		}
		r.buf, r.n = merged, r.n+n
		return err
	}
	r.spare = batch
	return nil
}

// Close stops the recorder and stores the events left, within ctx.
// Events recorded after Close are dropped.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	return r.Flush(ctx)
}
