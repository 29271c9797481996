package rpc

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// maxWholeResponse is the largest unary response wholeResponses holds
// back to give it a Content-Length (a page of 50 customers is 12 KB); a
// larger one is written as it comes. With every in-flight call holding
// one, the held bytes stay within DefaultMaxInFlight × 64 KiB = 32 MiB.
const maxWholeResponse = 64 << 10

// wholeResponses gives the Connect unary responses of HTTP/1.1 clients a
// Content-Length. connect-go writes a unary response in one piece but sets
// no length, so net/http sends any body over its 2 KB buffer in chunks: a
// page of 50 customers (12 KB) took a write to the connection more, and
// chunk framing both ends had to do. The response is held until the
// handler returns (or flushes, or passes maxBytes) and written with its
// length. Other protocols (gRPC and gRPC-Web frame their own messages,
// HTTP/2 needs no chunks), streams and every other route pass untouched.
func wholeResponses(maxBytes int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 || r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, servicePrefix) ||
			!isConnectUnary(r.Header.Get("Content-Type")) {
			next.ServeHTTP(w, r)
			return
		}
		hw := &wholeResponse{ResponseWriter: w, max: maxBytes, body: wholeBuffers.Get().(*[]byte)}
		next.ServeHTTP(hw, r)
		hw.finish()
	})
}

// isConnectUnary reports whether a request's Content-Type is the Connect
// protocol's for a unary call: application/json or application/proto.
func isConnectUnary(contentType string) bool {
	if contentType == "application/json" || contentType == "application/proto" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == "application/proto")
}

// wholeBuffers recycles the bodies held by wholeResponse.
var wholeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// wholeResponse holds a response's status and body until finish, which
// writes them with the body's length; once the body would pass max, or
// the handler flushes, it writes what it holds and lets the rest through.
type wholeResponse struct {
	http.ResponseWriter
	max    int
	status int
	body   *[]byte // nil once passed through
}

// WriteHeader holds the status; an informational one goes out at once.
func (w *wholeResponse) WriteHeader(code int) {
	switch {
	case w.body == nil || code < 200:
		w.ResponseWriter.WriteHeader(code)
	case w.status == 0:
		w.status = code
	}
}

// Write holds p, or writes it once the response passes through.
func (w *wholeResponse) Write(p []byte) (int, error) {
	if w.body != nil && len(*w.body)+len(p) > w.max {
		if err := w.pass(); err != nil {
			return 0, err
		}
	}
	if w.body == nil {
		return w.ResponseWriter.Write(p)
	}
	*w.body = append(*w.body, p...)
	return len(p), nil
}

// Flush writes what is held and flushes: a handler that flushes wants its
// bytes on their way.
func (w *wholeResponse) Flush() {
	if w.pass() == nil {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap gives http.ResponseController the writer beneath.
func (w *wholeResponse) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// pass writes the held status and body and lets everything after through.
func (w *wholeResponse) pass() error {
	if w.body == nil {
		return nil
	}
	body := w.body
	w.body = nil
	if w.status != 0 {
		w.ResponseWriter.WriteHeader(w.status)
	}
	var err error
	if len(*body) > 0 {
		_, err = w.ResponseWriter.Write(*body)
	}
	if cap(*body) <= maxWholeResponse {
		*body = (*body)[:0]
		wholeBuffers.Put(body)
	}
	return err
}

// finish writes the held response with its Content-Length.
func (w *wholeResponse) finish() {
	if w.body == nil {
		return
	}
	if n := len(*w.body); n > 0 && w.Header().Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(n))
	}
	_ = w.pass()
}
