package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"customerd/gen/customer/v1/customerv1connect"
	"customerd/internal/auth"
	"customerd/internal/loopback"
)

// servicePrefix starts the path of every CustomerService procedure.
const servicePrefix = "/" + customerv1connect.CustomerServiceName + "/"

// procedureScopes are the scopes the RPCs need beyond read, the scope of
// every other CustomerService call.
var procedureScopes = map[string]auth.Scope{
	customerv1connect.CustomerServiceCreateCustomerProcedure:     auth.Write,
	customerv1connect.CustomerServiceUpdateCustomerProcedure:     auth.Write,
	customerv1connect.CustomerServiceDeleteCustomerProcedure:     auth.Write,
	customerv1connect.CustomerServiceListAuditEventsProcedure:    auth.Admin,
	customerv1connect.CustomerServiceExportCustomerDataProcedure: auth.Admin,
	customerv1connect.CustomerServiceEraseCustomerProcedure:      auth.Admin,
}

// scopeFor returns the scope a call of procedure needs.
func scopeFor(procedure string) auth.Scope {
	if s, ok := procedureScopes[procedure]; ok {
		return s
	}
	return auth.Read
}

// guard decides who may call. It runs before any other work is done for a
// request, so that strangers cannot use up the in-flight slots either.
//
// With keys, every CustomerService call and GET /metrics needs a bearer API
// key: UNAUTHENTICATED without a valid one, PERMISSION_DENIED for a key
// whose scope does not allow the RPC (see procedureScopes). Failures are logged with the path and the peer, never with
// the key. Health checks, reflection and /healthz stay open.
//
// Without keys the server listens on loopback only; guard then also refuses
// requests whose Host is not a loopback name, so that a web page cannot
// reach the API by pointing its own domain name at 127.0.0.1 (DNS
// rebinding).
func guard(keys *auth.Keys, log *slog.Logger, f refuser, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if keys == nil {
			if !loopback.IsHost(r.Host) {
				log.Warn("refused a request for a non-loopback host", "host", Clip(r.Host), "path", Clip(r.URL.Path), "peer", r.RemoteAddr)
				f.refuse(w, r, connect.CodePermissionDenied, "this server only answers requests addressed to localhost")
				return
			}
			next.ServeHTTP(w, withCaller(r, caller{id: localCaller, principal: localCaller}))
			return
		}
		service := strings.HasPrefix(procedureOf(r), servicePrefix)
		if !service && r.URL.Path != "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		key, err := keys.Check(r.Header.Get("Authorization"))
		if err != nil {
			log.Warn("authentication failed", "path", Clip(r.URL.Path), "peer", r.RemoteAddr, "reason", err)
			f.refuse(w, r, connect.CodeUnauthenticated, err.Error())
			return
		}
		if need := scopeFor(r.URL.Path); service && !key.Scope.Allows(need) {
			log.Warn("permission denied", "path", Clip(r.URL.Path), "peer", r.RemoteAddr, "key", key.ID, "scope", key.Scope)
			f.refuse(w, r, connect.CodePermissionDenied, "this API key's scope is "+key.Scope.String()+"; this call needs "+need.String())
			return
		}
		next.ServeHTTP(w, withCaller(r, caller{id: key.ID, principal: key.Name}))
	})
}

// localCaller is the caller of every call to a server without keys.
const localCaller = "local"

type callerKey struct{}

// caller is who makes a call: id (an API key's ID, or localCaller) for
// per-caller limits, principal (the key's name, or its id when it has
// none, or localCaller) for the audit trail.
type caller struct{ id, principal string }

// withCaller returns r with its caller on its context.
func withCaller(r *http.Request, c caller) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, &c))
}

// callerOf returns the caller id guard found for r, or localCaller.
func callerOf(r *http.Request) string {
	if c, ok := r.Context().Value(callerKey{}).(*caller); ok {
		return c.id
	}
	return localCaller
}

// principalOf returns the principal of the call whose context is ctx, or
// localCaller.
func principalOf(ctx context.Context) string {
	if c, ok := ctx.Value(callerKey{}).(*caller); ok {
		return c.principal
	}
	return localCaller
}

// clipLen is how much of a client-chosen string (a path, a Host) a log
// line quotes.
const clipLen = 96

// Clip shortens a string a client chose (a path, a Host) for a log line.
// It returns s, or its first clipLen bytes and how long it was: clients
// choose them up to the header limit, and must not fill the log with them.
func Clip(s string) string {
	if len(s) <= clipLen {
		return s
	}
	return strings.ToValidUTF8(s[:clipLen], "") + fmt.Sprintf("…(%d bytes)", len(s))
}
