package rpc

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	"customerd/internal/metrics"
)

// observe records every call in m and logs one line for it: procedure,
// code, duration, protocol and peer. Nothing from the messages is logged, so
// no customer data reaches the log.
func observe(m *metrics.RPC, log *slog.Logger) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			start := time.Now()
			res, err := next(ctx, req)
			d := time.Since(start)
			code := "ok"
			switch {
			case connect.IsNotModifiedError(err):
				code = "not_modified" // a 304 to a conditional GET: a success
			case err != nil:
				code = connect.CodeOf(err).String()
			}
			procedure := req.Spec().Procedure
			m.Observe(procedure, code, d)
			log.LogAttrs(ctx, slog.LevelInfo, "rpc",
				slog.String("procedure", procedure), slog.String("code", code),
				slog.Duration("duration", d), slog.String("protocol", req.Peer().Protocol),
				slog.String("peer", req.Peer().Addr))
			return res, err
		}
	}
}
