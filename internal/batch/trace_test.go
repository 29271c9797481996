package batch_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"customerd/internal/waitfor"
)

func linked(s sdktrace.ReadOnlySpan, to trace.SpanContext) bool {
	for _, l := range s.Links() {
		if l.SpanContext.Equal(to) {
			return true
		}
	}
	return false
}

// TestTracedBatch: writes of traced callers that share a transaction each
// get a "write" span under their caller's, and the transaction one "batch"
// span of its own; the two link to each other. A write that fails says so
// in its span. A caller that is not traced makes no span.
func TestTracedBatch(t *testing.T) {
	w, _ := newWriter(t)
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer provider.Shutdown(context.Background())
	tracer := provider.Tracer("test")

	// Hold the actor in a first write while the others queue up, so that
	// they share the next batch.
	release, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		w.Do(context.Background(), func(context.Context, *sql.Tx) error { close(holding); <-release; return nil })
	})
	waitfor.Recv(t, holding, "the first write to run")
	boom := errors.New("boom")
	callers := make([]trace.Span, 3)
	errs := make([]error, 3)
	for i := range callers {
		ctx, span := tracer.Start(context.Background(), fmt.Sprint("call", i))
		callers[i] = span
		wg.Go(func() {
			fn := insert(i)
			if i == 2 {
				fn = func(context.Context, *sql.Tx) error { return boom }
			}
			errs[i] = w.Do(ctx, fn)
			span.End()
		})
	}
	waitfor.Cond(t, "the three writes to queue", func() bool { return w.QueueLen() == 3 })
	close(release)
	waitfor.Group(t, &wg, "the writes to finish")
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], boom) {
		t.Fatalf("writes: %v", errs)
	}

	var writes, batches []sdktrace.ReadOnlySpan
	for _, s := range recorder.Ended() {
		switch s.Name() {
		case "write":
			writes = append(writes, s)
		case "batch":
			batches = append(batches, s)
		}
	}
	if len(writes) != 3 || len(batches) != 1 {
		t.Fatalf("%d write and %d batch spans, want 3 and 1 (the untraced write makes none)", len(writes), len(batches))
	}
	b := batches[0]
	if b.Parent().IsValid() || len(b.Links()) != 3 {
		t.Fatalf("batch span: parent %v, %d links; want a root with 3 links", b.Parent(), len(b.Links()))
	}
	for _, s := range writes {
		caller := -1
		for i, c := range callers {
			if s.Parent().SpanID() == c.SpanContext().SpanID() {
				caller = i
			}
		}
		if caller < 0 || !linked(s, b.SpanContext()) || !linked(b, s.SpanContext()) {
			t.Fatalf("write span %v: want a child of a caller, linked both ways to the batch", s.SpanContext())
		}
		if failed := s.Status().Code == codes.Error; failed != (caller == 2) {
			t.Errorf("write of caller %d: status %v", caller, s.Status())
		}
	}
}
