package rpc

import (
	"net/http"
	"strings"

	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"

	"customerd/internal/consistency"
)

// withCORS lets web pages from origins call h from a browser, over Connect
// (POST and GET), gRPC-Web and REST (also PATCH and DELETE). The header
// lists come from connectrpc.com/cors, plus what this API adds: conditional
// GETs send If-None-Match and read ETag, conditional writes send If-Match,
// and an EventSource that reconnects to the event stream sends
// Last-Event-ID; writes and reads carry Customerd-Consistency (read your
// writes with reads on a standby). With no origins, h is returned as is and
// browsers keep their same-origin policy.
func withCORS(origins []string, h http.Handler) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: append(connectcors.AllowedMethods(), http.MethodPatch, http.MethodDelete), // and REST's
		AllowedHeaders: append(connectcors.AllowedHeaders(), "If-None-Match", "If-Match", "Authorization", "Last-Event-ID", consistency.Header),
		ExposedHeaders: append(connectcors.ExposedHeaders(), "ETag", consistency.Header),
		MaxAge:         7200, // seconds a browser may cache a preflight answer
	}).Handler(h)
}

// etagHeader is the HTTP form of a customer's etag: a strong entity tag.
func etagHeader(etag string) string { return `"` + etag + `"` }

// matchesIfNoneMatch reports whether If-None-Match header values (lists of
// entity tags, or *) match the entity tag tag, with the weak comparison
// RFC 9110 prescribes for If-None-Match.
func matchesIfNoneMatch(header []string, tag string) bool {
	for _, h := range header {
		for t := range strings.SplitSeq(h, ",") {
			if t = strings.TrimSpace(t); t == "*" || t == tag || t == "W/"+tag {
				return true
			}
		}
	}
	return false
}
