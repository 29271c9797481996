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
// no customer data reaches the log. The line goes to the logger's handler
// directly, without the caller's program counter that Logger.LogAttrs
// takes (a stack walk on every call, for a source the line never shows).
func observe(m *metrics.RPC, log *slog.Logger) connect.UnaryInterceptorFunc {
	handler := log.Handler()
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
			if handler.Enabled(ctx, slog.LevelInfo) {
				line := slog.NewRecord(start.Add(d), slog.LevelInfo, "rpc", 0)
				line.AddAttrs(slog.String("procedure", procedure), slog.String("code", code),
					slog.Duration("duration", d), slog.String("protocol", req.Peer().Protocol),
					slog.String("peer", req.Peer().Addr))
				_ = handler.Handle(ctx, line) // as Logger does: a handler's error goes nowhere
			}
			return res, err
		}
	}
}
