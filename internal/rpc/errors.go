package rpc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"customerd/internal/customer"
	"customerd/internal/metrics"
)

// connectCodes maps each customer error code to the Connect code a client
// sees. It is the only place where the two meet.
var connectCodes = map[customer.Code]connect.Code{
	customer.Invalid:           connect.CodeInvalidArgument,
	customer.NotFound:          connect.CodeNotFound,
	customer.AlreadyExists:     connect.CodeAlreadyExists,
	customer.Aborted:           connect.CodeAborted,
	customer.Unavailable:       connect.CodeUnavailable,
	customer.ResourceExhausted: connect.CodeResourceExhausted,
	customer.Internal:          connect.CodeInternal,
}

// toConnect turns an error from the domain or the store into a
// *connect.Error. Only the messages of *customer.Error values reach the
// client; any other error is logged and replaced by a bare "internal error",
// because connect-go would otherwise send its text.
func toConnect(log *slog.Logger, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("request deadline exceeded"))
	}
	e, ok := errors.AsType[*customer.Error](err)
	if !ok {
		log.Error("unexpected error", "err", err)
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	cerr := connect.NewError(connectCodes[e.Code], errors.New(e.Message))
	if len(e.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range e.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Description,
			})
		}
		if d, err := connect.NewErrorDetail(br); err == nil {
			cerr.AddDetail(d)
		}
	}
	return cerr
}

// refuser answers the calls that the middleware refuses by itself: without
// a valid key, over a limit, during shutdown or with broken frames. It
// counts them in metrics, as the Connect interceptors count the calls that
// reach the service. Its zero value answers without counting.
type refuser struct{ metrics *metrics.RPC }

// errorWriter writes refuser's answers in each request's protocol. As in
// the service's handlers, connect-go picks the HTTP status (Connect unary),
// the end-of-stream message (Connect streaming) or grpc-status (gRPC,
// gRPC-Web). A request of no RPC protocol gets the Connect JSON body.
var errorWriter = connect.NewErrorWriter(codecs()...)

// overloaded answers RESOURCE_EXHAUSTED, with a retry after a second.
func (f refuser) overloaded(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "1")
	f.refuse(w, r, connect.CodeResourceExhausted, overloadedMessage)
}

// overloadedMessage tells a client that the server refused its call for
// lack of room.
const overloadedMessage = "the server is overloaded; retry later, with backoff"

// refuse answers code and msg without reading the request.
func (f refuser) refuse(w http.ResponseWriter, r *http.Request, code connect.Code, msg string) {
	if f.metrics != nil {
		f.metrics.Observe(procedureOf(r), code.String(), 0) // answered before any work
	}
	_ = errorWriter.Write(w, r, connect.NewError(code, errors.New(msg)))
}
