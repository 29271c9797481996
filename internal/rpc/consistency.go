package rpc

import (
	"context"

	"connectrpc.com/connect"

	"customerd/internal/consistency"
)

// readYourWrites carries consistency tokens (see package consistency) of
// unary CustomerService calls: a token in the request's Customerd-Consistency
// header is the WAL position the call's reads must see, and a write's
// response carries the position of its commit in the same header when the
// store gives one (a PostgreSQL store reading from a standby). A malformed
// token is refused with INVALID_ARGUMENT.
func readYourWrites() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if v := req.Header().Get(consistency.Header); v != "" {
				lsn, err := consistency.Parse(v)
				if err != nil {
					return nil, connect.NewError(connect.CodeInvalidArgument, err)
				}
				ctx = consistency.WithAtLeast(ctx, lsn)
			}
			ctx, rec := consistency.WithRecorder(ctx)
			res, err := next(ctx, req)
			if err == nil && rec.Token() != 0 {
				res.Header().Set(consistency.Header, rec.Token().String())
			}
			return res, err
		}
	}
}
