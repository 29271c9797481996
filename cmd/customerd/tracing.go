package main

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	"customerd/internal/customer"
	"customerd/internal/engine"
	"customerd/internal/tracing"
)

// tracingFlushTimeout bounds how long a stopping server spends sending its
// last spans.
const tracingFlushTimeout = 5 * time.Second

// serverTracing is the server's tracing, or nil when the environment does
// not ask for it: then nothing is installed.
type serverTracing struct{ t *tracing.Tracing }

// startTracing starts tracing when the OTEL_* environment asks for it
// (tracing.Requested).
func startTracing(ctx context.Context, getenv func(string) string, log *slog.Logger) (*serverTracing, error) {
	if !tracing.Requested(getenv) {
		return nil, nil
	}
	t, err := tracing.Start(ctx, log)
	if err != nil {
		return nil, err
	}
	log.Info("tracing on", "exporter", cmp.Or(getenv("OTEL_TRACES_EXPORTER"), "otlp"),
		"protocol", cmp.Or(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf"),
		"endpoint", cmp.Or(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "(default)"))
	return &serverTracing{t: t}, nil
}

// interceptor returns the interceptor that traces calls, or nil.
func (s *serverTracing) interceptor() connect.Interceptor {
	if s == nil {
		return nil
	}
	return s.t.Interceptor
}

// store returns st with its reads traced, or st as it is.
func (s *serverTracing) store(st customer.Store, dsn string) customer.Store {
	if s == nil {
		return st
	}
	system := "sqlite"
	if engine.IsPostgres(dsn) {
		system = "postgresql"
	}
	return tracing.Store(st, system)
}

// shutdown sends the spans not yet exported, within tracingFlushTimeout.
func (s *serverTracing) shutdown(ctx context.Context, log *slog.Logger) {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingFlushTimeout)
	defer cancel()
	if err := s.t.Shutdown(ctx); err != nil {
		log.Warn("tracing: the last spans were not all sent", "err", err)
	}
}
