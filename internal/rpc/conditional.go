package rpc

import (
	"context"
	"strings"

	"connectrpc.com/connect"

	"customerd/internal/customer"
)

// maxEtagLen is the longest etag a request may name, as the proto's rules
// have it for the etag fields.
const maxEtagLen = 64

// ifMatch returns the etag a write must match: etag, from the request
// message, or the entity tag of the call's If-Match header (RFC 9110),
// which REST clients send. "*" asks only that the customer exists, which
// every write requires anyway. A weak tag, a list of several tags, or a tag
// other than a non-empty etag is INVALID_ARGUMENT. The header is read
// whatever the protocol, so Connect and gRPC clients may send it too.
func ifMatch(ctx context.Context, etag string) (string, error) {
	call, ok := connect.CallInfoForHandlerContext(ctx)
	if !ok {
		return etag, nil
	}
	values := call.RequestHeader().Values("If-Match")
	if len(values) == 0 {
		return etag, nil
	}
	tag := strings.TrimSpace(strings.Join(values, ","))
	switch {
	case tag == "*":
		return etag, nil
	case strings.HasPrefix(tag, "W/"):
		return "", customer.InvalidField("If-Match", "a weak entity tag never matches; send the customer's etag in double quotes")
	case strings.Contains(tag, ","):
		return "", customer.InvalidField("If-Match", "must be one entity tag: the customer's etag in double quotes")
	}
	if len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"' {
		tag = tag[1 : len(tag)-1]
	}
	switch {
	case tag == "" || len(tag) > maxEtagLen || strings.ContainsAny(tag, "\" "):
		return "", customer.InvalidField("If-Match", "must be the customer's etag in double quotes")
	case etag != "" && etag != tag:
		return "", customer.InvalidField("If-Match", "names another etag than the request's etag field")
	}
	return tag, nil
}
