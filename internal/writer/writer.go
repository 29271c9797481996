// Package writer is the actor that owns the SQLite write connection. Every
// write of the service is a message to it; it runs each one with the
// generated queries inside its own BEGIN IMMEDIATE transaction, one at a
// time, so writers never contend for SQLite's lock.
package writer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"customerd/internal/sqlitedb"
)

// ErrClosed is returned by Do after Close has begun.
var ErrClosed = errors.New("writer: closed")

// PanicError is returned by Do when the write function panicked. The
// transaction was rolled back and the writer went on serving.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("writer: write panicked: %v", e.Value) }

// Func is one write. It runs inside a transaction, with q bound to it; the
// transaction commits when Func returns nil and rolls back otherwise.
type Func func(ctx context.Context, q *sqlitedb.Queries) error

type request struct {
	ctx   context.Context
	fn    Func
	reply chan error // capacity 1: the actor never blocks on a reply
}

// Writer serializes writes onto one connection. Create it with New.
type Writer struct {
	db   *sql.DB
	log  *slog.Logger
	reqs chan request
	done chan struct{}

	mu     sync.RWMutex // guards closed; held for reading while sending to reqs
	closed bool
}

// New starts a writer on conn, which should allow a single open connection
// and begin transactions with BEGIN IMMEDIATE. queue is how many writes may
// wait for their turn before Do blocks. Call Close to stop it.
func New(conn *sql.DB, queue int, log *slog.Logger) *Writer {
	w := &Writer{
		db:   conn,
		log:  log,
		reqs: make(chan request, queue),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

// Do runs fn in a transaction of its own on the write connection and returns
// its error, or the error of beginning or committing the transaction. It
// returns ctx.Err() without running fn when ctx ends before fn's turn comes,
// ErrClosed after Close has begun, and *PanicError when fn panicked. Once
// the writer has accepted fn, Do waits for its outcome, so a nil error always
// means the write is committed and a non-nil one that it is not.
func (w *Writer) Do(ctx context.Context, fn Func) error {
	req := request{ctx: ctx, fn: fn, reply: make(chan error, 1)}
	if err := w.send(ctx, req); err != nil {
		return err
	}
	return <-req.reply
}

func (w *Writer) send(ctx context.Context, req request) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting writes, finishes every write already accepted, and
// returns once the actor has exited. It does not close the connection.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *Writer) run() {
	defer close(w.done)
	q := sqlitedb.New(w.db)
	for req := range w.reqs {
		if err := req.ctx.Err(); err != nil {
			req.reply <- err // the caller gave up: never run an expired write
			continue
		}
		req.reply <- w.exec(req.ctx, q, req.fn)
	}
}

func (w *Writer) exec(ctx context.Context, q *sqlitedb.Queries, fn Func) (err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writer: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			perr := &PanicError{Value: p, Stack: debug.Stack()}
			w.log.Error("write panicked", "panic", p, "stack", string(perr.Stack))
			err = perr
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := fn(ctx, q.WithTx(tx)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writer: commit: %w", err)
	}
	return nil
}
