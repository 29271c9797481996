package batch

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// scope names the spans of this package.
const scope = "customerd/internal/batch"

// doTraced is Do for a traced caller: it runs fn within a span "write", the
// child of parent, which the batch links to (and which links back to the
// batch's span), and which ends when Do returns, with Do's error.
func (a *Actor[T]) doTraced(ctx context.Context, parent trace.Span, fn Func[T]) error {
	ctx, span := parent.TracerProvider().Tracer(scope).Start(ctx, "write", trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	req := request[T]{ctx: ctx, fn: fn, enqueued: time.Now(), reply: make(chan error, 1), span: span}
	err := a.send(ctx, req)
	if err == nil {
		err = <-req.reply
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// startBatchSpan starts the span of the transaction that runs batch, when
// one of its writes is traced, and returns nil otherwise. The batch is the
// work of many callers: its span is a root of its own with a link to each
// traced write's span, and each of those gets a link to it.
func startBatchSpan[T any](batch []request[T], live int) trace.Span {
	var links []trace.Link
	var tracer trace.Tracer
	for _, r := range batch {
		if r.span != nil {
			links = append(links, trace.Link{SpanContext: r.span.SpanContext()})
			if tracer == nil {
				tracer = r.span.TracerProvider().Tracer(scope)
			}
		}
	}
	if tracer == nil {
		return nil
	}
	_, span := tracer.Start(context.Background(), "batch", trace.WithNewRoot(), trace.WithLinks(links...),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.Int("customerd.batch.size", len(batch)), attribute.Int("customerd.batch.live", live),
			attribute.Int("customerd.batch.traced", len(links))))
	link := trace.Link{SpanContext: span.SpanContext()}
	for _, r := range batch {
		if r.span != nil {
			r.span.AddLink(link)
		}
	}
	return span
}

// endBatchSpan ends the span of batch with what the run took and how many
// of its writes failed.
func endBatchSpan[T any](span trace.Span, batch []request[T], results []error, run attempt) {
	failed := 0
	for _, err := range results {
		if err != nil {
			failed++
		}
	}
	span.SetAttributes(attribute.Int("customerd.batch.failed", failed), attribute.Int("customerd.batch.reruns", run.reruns),
		attribute.Float64("customerd.batch.commit_ms", float64(run.commit)/float64(time.Millisecond)))
	if failed == len(batch) {
		span.SetStatus(codes.Error, "every write of the batch failed")
	}
	span.End()
}
