package rpc

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"

	"customerd/internal/auth"
	"customerd/internal/gen/customer/v1/customerv1connect"
)

// writeProcedures are the RPCs that need a key with the write scope.
var writeProcedures = map[string]bool{
	customerv1connect.CustomerServiceCreateCustomerProcedure: true,
	customerv1connect.CustomerServiceUpdateCustomerProcedure: true,
	customerv1connect.CustomerServiceDeleteCustomerProcedure: true,
}

// authenticate requires a bearer API key from keys on every call:
// UNAUTHENTICATED without a valid one, PERMISSION_DENIED for a read key on a
// write RPC. Failures are logged with the procedure and the peer, never with
// the key.
func authenticate(keys *auth.Keys, log *slog.Logger) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			procedure := req.Spec().Procedure
			scope, err := keys.Check(req.Header().Get("Authorization"))
			if err != nil {
				log.Warn("authentication failed", "procedure", procedure, "peer", req.Peer().Addr, "reason", err)
				return nil, connect.NewError(connect.CodeUnauthenticated, err)
			}
			if writeProcedures[procedure] && scope != auth.Write {
				log.Warn("permission denied", "procedure", procedure, "peer", req.Peer().Addr, "scope", scope)
				return nil, connect.NewError(connect.CodePermissionDenied, errors.New("this API key may only read"))
			}
			return next(ctx, req)
		}
	}
}
