package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"customerd/internal/customer"
)

// scope names the spans this package makes.
const scope = "customerd/internal/tracing"

// Store returns store with a client span for each read (GetCustomer,
// ListCustomers, CountCustomers) of a call that is traced, the child of the
// call's span, with the database system ("sqlite", "postgresql") and the
// operation. Writes are traced by package batch, which knows the
// transaction each one rides in.
func Store(store customer.Store, system string) customer.Store {
	return tracedStore{Store: store, system: attribute.String("db.system.name", system)}
}

type tracedStore struct {
	customer.Store
	system attribute.KeyValue
}

// start starts the span of the read op when the call is traced; end ends
// it with err.
func (s tracedStore) start(ctx context.Context, op string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(scope).Start(ctx, op+" customers", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(s.system, attribute.String("db.operation.name", op), attribute.String("db.collection.name", "customers")))
}

func end(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil && customer.ErrorCode(err) != customer.NotFound {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func (s tracedStore) GetCustomer(ctx context.Context, id int64) (customer.Customer, error) {
	ctx, span := s.start(ctx, "GetCustomer")
	c, err := s.Store.GetCustomer(ctx, id)
	end(span, err)
	return c, err
}

func (s tracedStore) ListCustomers(ctx context.Context, p customer.ListParams) ([]customer.Customer, error) {
	ctx, span := s.start(ctx, "ListCustomers")
	if span != nil {
		span.SetAttributes(attribute.Int("customerd.list.limit", p.Limit), attribute.Bool("customerd.list.search", p.Query != ""))
	}
	rows, err := s.Store.ListCustomers(ctx, p)
	if span != nil {
		span.SetAttributes(attribute.Int("db.response.returned_rows", len(rows)))
	}
	end(span, err)
	return rows, err
}

func (s tracedStore) CountCustomers(ctx context.Context, p customer.ListParams) (int, error) {
	ctx, span := s.start(ctx, "CountCustomers")
	n, err := s.Store.CountCustomers(ctx, p)
	end(span, err)
	return n, err
}
