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
	"customerd/internal/jsonstr"
)

// Append appends ev to buf as the engines' append queries read it: a JSON
// array [time, principal, procedure, code, request_id, "[customer ids]"],
// the time in customer.TimeLayout, the ids a JSON array written as a
// string, which SQLite stores as it is (unpacking and re-writing an array
// cost it more than the rest of the event).
func Append(buf []byte, ev customer.AuditEvent) []byte {
	buf = append(buf, `["`...)
	buf = ev.Time.UTC().AppendFormat(buf, customer.TimeLayout)
	buf = append(buf, '"', ',')
	for _, s := range [...]string{ev.Principal, ev.Procedure, ev.Code, ev.RequestID} {
		buf = appendString(buf, s)
		buf = append(buf, ',')
	}
	buf = append(buf, '"', '[')
	for i, id := range ev.CustomerIDs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, id, 10)
	}
	return append(buf, ']', '"', ']')
}

// Batch is events on their way to the database: JSON, the array the
// append queries read (see Append), and the customer ids of each event,
// for engines that index them themselves.
type Batch struct {
	JSON   []byte
	IDs    []int64 // every event's ids, one event after the other
	Counts []int32 // how many of IDs each event has
}

// Len returns how many events b holds.
func (b *Batch) Len() int { return len(b.Counts) }

// add appends ev to b, whose JSON is "[" and the events so far.
func (b *Batch) add(ev customer.AuditEvent) {
	if len(b.Counts) > 0 {
		b.JSON = append(b.JSON, ',')
	}
	b.JSON = Append(b.JSON, ev)
	b.IDs = append(b.IDs, ev.CustomerIDs...)
	b.Counts = append(b.Counts, int32(len(ev.CustomerIDs)))
}

// reset empties b, keeping its memory.
func (b *Batch) reset() {
	b.JSON, b.IDs, b.Counts = append(b.JSON[:0], '['), b.IDs[:0], b.Counts[:0]
}

// Encode returns a batch of events.
func Encode(events ...customer.AuditEvent) *Batch {
	b := &Batch{JSON: []byte{'['}}
	for _, ev := range events {
		b.add(ev)
	}
	b.JSON = append(b.JSON, ']')
	return b
}

// appendString appends s as a JSON string, invalid UTF-8 replaced by
// U+FFFD.
func appendString(buf []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // replaces invalid bytes with U+FFFD
	}
	buf, _ = jsonstr.Append(buf, s) // valid UTF-8 now: it cannot fail
	return buf
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

// Store stores a batch of events in one transaction.
type Store func(ctx context.Context, b *Batch) error

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

	flushing sync.Mutex // one flush at a time: it owns spare while it stores
	mu       sync.Mutex
	buf      *Batch // the events waiting
	spare    *Batch // the other batch, while a flush stores one
	dropped  int64
	closed   bool

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// NewRecorder starts a recorder that stores its batches with store.
func NewRecorder(store Store, log *slog.Logger) *Recorder {
	r := &Recorder{
		store: store, log: log, buf: &Batch{JSON: []byte{'['}}, spare: &Batch{JSON: []byte{'['}},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go r.loop()
	return r
}

// Record queues ev. It never blocks on the database.
func (r *Recorder) Record(ev customer.AuditEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.buf.Len() >= MaxPending {
		r.dropped++
		return
	}
	r.buf.add(ev)
	if r.buf.Len() == FlushEvents {
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
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	if r.buf.Len() == 0 {
		r.mu.Unlock()
		return nil
	}
	b, dropped := r.buf, r.dropped
	r.buf, r.spare, r.dropped = r.spare, nil, 0
	r.buf.reset()
	r.mu.Unlock()
	if dropped > 0 {
		r.log.Error("audit events were dropped: the database refused them for too long", "dropped", dropped)
	}
	b.JSON = append(b.JSON, ']')
	err := r.store(ctx, b)
	b.JSON = b.JSON[:len(b.JSON)-1]
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		// Keep the events, in front of those recorded since.
		later := r.buf
		if later.Len() > 0 {
			b.JSON = append(append(b.JSON, ','), later.JSON[1:]...)
			b.IDs = append(b.IDs, later.IDs...)
			b.Counts = append(b.Counts, later.Counts...)
		}
		later.reset()
		r.buf, r.spare = b, later
		return err
	}
	r.spare = b
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
