// Package logbuf takes log lines off the request path: a Writer keeps
// them in memory and writes them out together, every interval or when its
// buffer fills, and Handler makes warnings and errors go out at once.
//
// One write of many lines costs a server far less than one write per line:
// with a line per call, that write was a twentieth of the CPU a cached
// GetCustomer took. A process killed with SIGKILL loses at most the last
// interval's info lines; Close writes out the rest.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// MaxBuffered is how many bytes a Writer holds before a Write waits for
// them to be written: memory stays bounded however fast lines come.
const MaxBuffered = 64 << 10

// Writer buffers what is written to it and writes it to its destination
// every interval, when MaxBuffered bytes are waiting, on Flush and on
// Close. It is safe for concurrent use; each Write reaches the destination
// whole and in order.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	buf    []byte
	err    error // the destination's first error, returned from then on
	closed bool  // after Close: every Write goes out at once

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns a Writer to out that flushes every interval until Close.
func New(out io.Writer, interval time.Duration) *Writer {
	w := &Writer{out: out, stop: make(chan struct{}), done: make(chan struct{})}
	go w.flushEvery(interval)
	return w
}

func (w *Writer) flushEvery(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.Flush()
		}
	}
}

// Write buffers p; it writes out what is buffered first when p would take
// the buffer past MaxBuffered, and p directly when p alone is larger. It
// fails only with an earlier error of the destination.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.closed || len(w.buf)+len(p) > MaxBuffered {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		if w.closed || len(p) > MaxBuffered {
			if _, err := w.out.Write(p); err != nil {
				w.err = err
				return 0, err
			}
			return len(p), nil
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	_, w.err = w.out.Write(w.buf)
	w.buf = w.buf[:0]
	return w.err
}

// Close stops the periodic flushes and writes out what is buffered; later
// writes go out at once. It does not close the destination.
func (w *Writer) Close() error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return w.flushLocked()
}

// Handler returns a handler that logs through h, which writes to w, and
// flushes w after every record at level Warn or above, so that warnings
// and errors are never held back.
func Handler(h slog.Handler, w *Writer) slog.Handler { return urgent{h, w} }

type urgent struct {
	slog.Handler
	w *Writer
}

func (u urgent) Handle(ctx context.Context, r slog.Record) error {
	err := u.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := u.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (u urgent) WithAttrs(attrs []slog.Attr) slog.Handler {
	return urgent{u.Handler.WithAttrs(attrs), u.w}
}

func (u urgent) WithGroup(name string) slog.Handler {
	return urgent{u.Handler.WithGroup(name), u.w}
}

// Flush writes out at once what log's handler holds, if Handler made it:
// for a line that someone waits for, such as the address a server listens
// on.
func Flush(log *slog.Logger) {
	if u, ok := log.Handler().(urgent); ok {
		u.w.Flush()
	}
}
