package rpc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	connectvalidate "connectrpc.com/validate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// validation returns the interceptors that enforce the buf.validate rules
// of the proto on every request: connectrpc.com/validate checks the message
// and answers INVALID_ARGUMENT with a buf.validate.Violations detail; the
// outer one adds the same violations as a google.rpc.BadRequest detail, for
// clients that only know Google's error model, and a readable message.
func validation() []connect.Interceptor {
	return []connect.Interceptor{badRequestInterceptor{}, connectvalidate.NewInterceptor()}
}

type badRequestInterceptor struct{}

func (badRequestInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		return res, withBadRequest(err)
	}
}

func (badRequestInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (badRequestInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return withBadRequest(next(ctx, conn))
	}
}

// withBadRequest rewrites a protovalidate failure: it keeps the Violations
// detail, adds a BadRequest detail and replaces the message with one that
// names the first bad field. Any other error is returned unchanged.
func withBadRequest(err error) error {
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) || len(verr.Violations) == 0 {
		return err
	}
	br := &errdetails.BadRequest{}
	for _, v := range verr.Violations {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       violationField(v.Proto),
			Description: v.Proto.GetMessage(),
		})
	}
	first := br.FieldViolations[0]
	msg := "invalid request: " + first.Field + ": " + first.Description
	if n := len(br.FieldViolations); n > 1 {
		msg += fmt.Sprintf(" (and %d more)", n-1)
	}
	cerr := connect.NewError(connect.CodeInvalidArgument, errors.New(msg))
	if d, err := connect.NewErrorDetail(verr.ToProto()); err == nil {
		cerr.AddDetail(d)
	}
	if d, err := connect.NewErrorDetail(br); err == nil {
		cerr.AddDetail(d)
	}
	return cerr
}

// violationField names the field a violation is about, as a dotted path
// from the request ("customer.email"). Rules that compare fields sit on the
// message or field that holds them, so their violation names that holder;
// their ids name the field they are about ("customer.name.required" on the
// customer field), and that name is used when it lies within the holder.
func violationField(v *validate.Violation) string {
	field := protovalidate.FieldPathString(v.GetField())
	id := v.GetRuleId()
	if i := strings.LastIndexByte(id, '.'); i > 0 && (field == "" || strings.HasPrefix(id, field+".")) {
		return id[:i]
	}
	return field
}
