package batch_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"customerd/internal/batch"
)

// benchWriter is an actor on a database file without fsync, so that the
// actor's own cost shows.
func benchWriter(b *testing.B) *batch.Actor[*sql.Tx] {
	dsn := "file:" + filepath.Join(b.TempDir(), "b.db") + "?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_txlock=immediate"
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	w := batch.New(sqlEngine{conn}, batch.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	b.Cleanup(func() { w.Close(); conn.Close() })
	return w
}

func noWrite(context.Context, *sql.Tx) error { return nil }

// BenchmarkDo is the cost of a write through the actor from 8 callers per
// core, untraced: what every write pays when tracing is off.
func BenchmarkDo(b *testing.B) {
	w := benchWriter(b)
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Do(context.Background(), noWrite); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDoTraced is BenchmarkDo with every caller traced (an SDK
// provider that records spans and exports none).
func BenchmarkDoTraced(b *testing.B) {
	w := benchWriter(b)
	provider := sdktrace.NewTracerProvider()
	tracer := provider.Tracer("bench")
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, span := tracer.Start(context.Background(), "call")
			if err := w.Do(ctx, noWrite); err != nil {
				b.Fatal(err)
			}
			span.End()
		}
	})
}
