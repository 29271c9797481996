package rpc

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"strings"

	"customerd/internal/gen/customer/v1/customerv1connect"
)

// checkFrames answers a gRPC or gRPC-Web call to the CustomerService whose
// body ends inside a message frame with INVALID_ARGUMENT, before connect-go
// sees it: connect-go, like grpc-go, calls a truncated frame INTERNAL, which
// would blame the server for the client's broken request. Only the
// service's unary procedures are checked (their bodies are small and read
// whole anyway); streams such as health watches pass untouched.
func checkFrames(maxBytes int, f refuser, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if !strings.HasPrefix(r.URL.Path, "/"+customerv1connect.CustomerServiceName+"/") ||
			!strings.HasPrefix(ct, "application/grpc") || strings.HasPrefix(ct, "application/grpc-web-text") {
			next.ServeHTTP(w, r)
			return
		}
		// One byte over the limit is enough for connect-go to refuse it.
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(maxBytes)+5+1))
		if err != nil {
			f.refuse(w, r, "3", http.StatusBadRequest, "invalid_argument", "reading the request failed")
			return
		}
		if len(body) <= maxBytes+5 && !completeFrames(body) {
			f.refuse(w, r, "3", http.StatusBadRequest, "invalid_argument", "the request ends inside a message frame")
			return
		}
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		next.ServeHTTP(w, r)
	})
}

// completeFrames reports whether b is a sequence of whole length-prefixed
// frames (a flags byte, a 4-byte length, the message).
func completeFrames(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 5 {
			return false
		}
		n := binary.BigEndian.Uint32(b[1:5])
		if uint64(len(b)-5) < uint64(n) {
			return false
		}
		b = b[5+n:]
	}
	return true
}

// writeGRPCError writes a trailers-only gRPC response with status code.
func writeGRPCError(w http.ResponseWriter, contentType, code, msg string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Grpc-Status", code)
	w.Header().Set("Grpc-Message", msg)
	w.WriteHeader(http.StatusOK)
}
