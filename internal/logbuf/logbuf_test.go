package logbuf

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"customerd/internal/waitfor"
)

// syncBuffer is a bytes.Buffer safe for the flusher and the test at once,
// counting the writes it gets.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Lines written together go out in one write, in order, within the
// interval, and Close writes out the rest.
func TestLinesGoOutTogether(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour) // no periodic flush during the test
	var want strings.Builder
	for i := range 100 {
		line := strings.Repeat("x", i) + "\n"
		want.WriteString(line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if out.Writes() != 0 {
		t.Fatalf("%d writes before a flush", out.Writes())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Writes() != 1 || out.String() != want.String() {
		t.Fatalf("%d writes of %d bytes, want 1 of %d", out.Writes(), len(out.String()), want.Len())
	}
	w.Write([]byte("after\n"))
	if !strings.HasSuffix(out.String(), "after\n") {
		t.Fatal("a write after Close was held back")
	}
}

func TestPeriodicFlush(t *testing.T) {
	var out syncBuffer
	w := New(&out, 10*time.Millisecond)
	defer w.Close()
	w.Write([]byte("one\n"))
	waitfor.Cond(t, "the periodic flush", func() bool { return out.String() == "one\n" })
}

// The buffer never holds more than MaxBuffered bytes.
func TestBufferIsBounded(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour)
	defer w.Close()
	line := []byte(strings.Repeat("y", 1000) + "\n")
	for range 1000 {
		w.Write(line)
		w.mu.Lock()
		n := len(w.buf)
		w.mu.Unlock()
		if n > MaxBuffered {
			t.Fatalf("%d bytes buffered, more than %d", n, MaxBuffered)
		}
	}
	big := bytes.Repeat([]byte("z"), 2*MaxBuffered)
	w.Write(big)
	if !strings.HasSuffix(out.String(), string(big)) {
		t.Fatal("a write larger than the buffer did not go out at once")
	}
}

// Warnings and errors are written out at once; info lines wait.
func TestHandlerFlushesWarnings(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour)
	defer w.Close()
	log := slog.New(Handler(slog.NewTextHandler(w, nil), w)).With("component", "test")
	log.Info("quiet")
	if out.String() != "" {
		t.Fatalf("an info line went out at once: %q", out.String())
	}
	logbuf := slog.New(Handler(slog.NewTextHandler(w, nil), w))
	logbuf.Info("waited for")
	Flush(logbuf)
	if !strings.Contains(out.String(), "msg=quiet") || !strings.Contains(out.String(), "waited for") {
		t.Fatalf("after Flush: %q", out.String())
	}
	log.Warn("loud")
	if s := out.String(); !strings.Contains(s, "msg=quiet") || !strings.Contains(s, "msg=loud component=test") {
		t.Fatalf("after a warning: %q", s)
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDestinationErrorIsReported(t *testing.T) {
	w := New(failing{}, time.Hour)
	w.Write([]byte("a\n"))
	if err := w.Flush(); err == nil {
		t.Fatal("Flush hid the destination's error")
	}
	if _, err := w.Write([]byte("b\n")); err == nil {
		t.Fatal("Write after a failed flush did not fail")
	}
	w.Close()
}
