package rpc

import (
	"log/slog"
	"net/http"
	"strings"

	"customerd/internal/auth"
	"customerd/internal/gen/customer/v1/customerv1connect"
	"customerd/internal/loopback"
)

// writeProcedures are the RPCs that need a key with the write scope.
var writeProcedures = map[string]bool{
	customerv1connect.CustomerServiceCreateCustomerProcedure: true,
	customerv1connect.CustomerServiceUpdateCustomerProcedure: true,
	customerv1connect.CustomerServiceDeleteCustomerProcedure: true,
}

// guard decides who may call, before any other work is done for a request
// (so that strangers cannot use up the in-flight slots either).
//
// With keys, every CustomerService call and GET /metrics needs a bearer API
// key: UNAUTHENTICATED without a valid one, PERMISSION_DENIED for a read key
// on a write RPC. Failures are logged with the path and the peer, never with
// the key. Health checks, reflection and /healthz stay open.
//
// Without keys the server listens on loopback only; guard then also refuses
// requests whose Host is not a loopback name, so that a web page cannot
// reach the API by pointing its own domain name at 127.0.0.1 (DNS
// rebinding).
func guard(keys *auth.Keys, log *slog.Logger, f refuser, next http.Handler) http.Handler {
	prefix := "/" + customerv1connect.CustomerServiceName + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if keys == nil {
			if !loopback.IsHost(r.Host) {
				log.Warn("refused a request for a non-loopback host", "host", r.Host, "peer", r.RemoteAddr)
				f.refuse(w, r, "7", http.StatusForbidden, "permission_denied", "this server only answers requests addressed to localhost")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		service := strings.HasPrefix(r.URL.Path, prefix)
		if !service && r.URL.Path != "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		scope, err := keys.Check(r.Header.Get("Authorization"))
		if err != nil {
			log.Warn("authentication failed", "path", r.URL.Path, "peer", r.RemoteAddr, "reason", err)
			f.refuse(w, r, "16", http.StatusUnauthorized, "unauthenticated", err.Error())
			return
		}
		if service && writeProcedures[r.URL.Path] && scope != auth.Write {
			log.Warn("permission denied", "path", r.URL.Path, "peer", r.RemoteAddr, "scope", scope)
			f.refuse(w, r, "7", http.StatusForbidden, "permission_denied", "this API key may only read")
			return
		}
		next.ServeHTTP(w, r)
	})
}
