// Package tracing exports the server's traces through OpenTelemetry when
// the standard OTEL_* environment asks for it: a span per RPC
// (connectrpc.com/otelconnect), a child span per database read (Store) and
// the spans of group-committed writes (made by package batch). Without
// those variables nothing of it is installed.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Requested reports whether the environment asks for traces: an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER names an
// exporter other than none, and OTEL_SDK_DISABLED is not true.
func Requested(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	switch exporter := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exporter {
	case "none":
		return false
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default:
		return true
	}
}

// Tracing is the server's tracer provider, set up by Start.
type Tracing struct {
	provider *sdktrace.TracerProvider
	// Interceptor makes one span per call, with the rpc.* attributes and
	// the call's code, as the child of the caller's W3C traceparent when
	// it sends one.
	Interceptor connect.Interceptor
}

// Start sets up tracing as the OTEL_* environment says (see
// go.opentelemetry.io/contrib/exporters/autoexport: OTEL_TRACES_EXPORTER
// otlp or console; OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or grpc; the
// endpoint, headers, sampler, batching and resource variables). It also
// makes its provider and the W3C trace-context propagator otel's global
// ones, and sends the exporter's errors to log. Call Shutdown to flush.
func Start(ctx context.Context, log *slog.Logger) (*Tracing, error) {
	exporter, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	// Later sources win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// may rename the service.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "customerd")),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID(), resource.WithFromEnv())
	if err != nil {
		exporter.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (parent-based, always on
	// by default), the batching from OTEL_BSP_*.
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	propagator := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagator)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "err", err) }))
	interceptor, err := otelconnect.NewInterceptor(
		otelconnect.WithTracerProvider(provider), otelconnect.WithPropagator(propagator),
		// A caller's traceparent makes the call's span its child; by
		// default otelconnect would only link to it.
		otelconnect.WithTrustRemote(),
		otelconnect.WithoutMetrics(), // GET /metrics has the RPC metrics
	)
	if err != nil {
		provider.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return &Tracing{provider: provider, Interceptor: interceptor}, nil
}

// Shutdown exports the spans not yet sent and stops exporting; ctx bounds
// how long it may take.
func (t *Tracing) Shutdown(ctx context.Context) error {
	return t.provider.Shutdown(ctx)
}
