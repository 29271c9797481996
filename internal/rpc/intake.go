package rpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
)

// Bounds on reading request bodies.
const (
	// DefaultBodyTimeout is the default of Options.BodyTimeout: a client
	// that trickles its request is cut off after this, holding no in-flight
	// slot meanwhile.
	DefaultBodyTimeout = 5 * time.Second
	// freeBodyBytes is how much of its body every call may buffer without
	// drawing on the shared budget: enough for any ordinary request.
	freeBodyBytes = 16 << 10
	// DefaultBodyBudget is the default of Options.BodyBudget.
	DefaultBodyBudget = 32 << 20
)

// Errors of readBody.
var (
	errTooLarge  = errors.New("request too large")
	errNoBudget  = errors.New("body budget used up")
	errSlowBody  = errors.New("request body too slow")
	errBrokenOff = errors.New("client broke off the request")
)

// budget is a number of bytes that calls reserve and give back.
type budget struct {
	max  int64
	used atomic.Int64
}

// take reserves n bytes, or reports false when that would pass the max.
func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

// give gives n reserved bytes back.
func (b *budget) give(n int64) { b.used.Add(-n) }

// readBodies reads the whole request of every call that takes a single
// message before passing it on: each CustomerService and health RPC. It
// reads within a bounded size (the largest message and its envelope), a
// bounded time and a shared budget of buffered bytes, and checks the
// frames. So the calls behind it, and the in-flight slots they take, only
// ever see requests that have fully arrived, and no client can make the
// server hold more than the budget in unread or half-sent bodies however
// many it sends at once.
//
// Refused: a body over the size with RESOURCE_EXHAUSTED, at once when its
// Content-Length says so; a body that finds the budget used up with
// RESOURCE_EXHAUSTED (retryable); a body that does not arrive in time with
// DEADLINE_EXCEEDED, its connection closed; broken frames with
// INVALID_ARGUMENT. Server reflection, a bidirectional stream, is passed
// through untouched.
func readBodies(l bodyLimits, f refuser, next http.Handler) http.Handler {
	limit := int64(l.maxBytes) + 5 // one message and its envelope
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !isUnaryRequest(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		body, ok := readWholeBody(w, r, limit, l, f.refuse)
		if !ok {
			return
		}
		if problem := frameProblem(r.Header, body.data); problem != "" {
			body.Close()
			f.refuse(w, r, connect.CodeInvalidArgument, problem)
			return
		}
		defer body.Close()
		r.Body = body
		r.ContentLength = int64(len(body.data))
		next.ServeHTTP(w, r)
	})
}

// refuseFunc answers a request that is refused with code and msg.
type refuseFunc func(w http.ResponseWriter, r *http.Request, code connect.Code, msg string)

// readWholeBody reads r's body within limit bytes and l's timeout and
// budget. When that fails it answers the request with refuse, in the
// request's protocol, and reports false.
func readWholeBody(w http.ResponseWriter, r *http.Request, limit int64, l bodyLimits, refuse refuseFunc) (*bufferedBody, bool) {
	body, err := readBody(w, r, limit, l.timeout, l.shared)
	switch {
	case errors.Is(err, errTooLarge):
		refuse(w, r, connect.CodeResourceExhausted, fmt.Sprintf("the request is larger than the server's limit of %d bytes", limit))
	case errors.Is(err, errNoBudget):
		w.Header().Set("Retry-After", "1")
		refuse(w, r, connect.CodeResourceExhausted, overloadedMessage)
	case errors.Is(err, errSlowBody):
		w.Header().Set("Connection", "close")
		refuse(w, r, connect.CodeDeadlineExceeded, fmt.Sprintf("the request body did not arrive within %s", l.timeout))
	case err != nil:
		w.Header().Set("Connection", "close")
		refuse(w, r, connect.CodeCanceled, "the client broke off the request")
	default:
		return body, true
	}
	return nil, false
}

// isUnaryRequest reports whether the RPC at path takes a single request
// message (the CustomerService and the health service), as opposed to a
// stream of them (reflection).
func isUnaryRequest(path string) bool {
	return strings.HasPrefix(path, servicePrefix) || strings.HasPrefix(path, "/grpc.health.v1.Health/")
}

// bodyLimits bound the reading of request bodies.
type bodyLimits struct {
	maxBytes int           // the largest message
	shared   *budget       // bytes all bodies being read may hold beyond freeBodyBytes each
	timeout  time.Duration // how long one body may take to arrive
}

// readBody reads r's body within limit bytes, timeout and the budget
// b. The deadline is one that dies with the call: on HTTP/1.1 the
// connection's read deadline, cleared once the body is read; on HTTP/2 a
// timer of the call's own that closes the body, stopped when reading ends
// (a stream's own read deadline would keep a timer, and the stream with
// it, alive after the client reset the stream).
func readBody(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration, b *budget) (*bufferedBody, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	var timedOut atomic.Bool
	if r.ProtoMajor == 1 {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(timeout)) == nil {
			defer rc.SetReadDeadline(time.Time{})
		}
	} else {
		t := time.AfterFunc(timeout, func() {
			timedOut.Store(true)
			r.Body.Close() // wakes a blocked Read
		})
		defer t.Stop()
	}
	body := &bufferedBody{budget: b}
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1 // +1 to see the end without growing
	}
	if !body.grow(min(size, limit+1)) {
		return nil, errNoBudget
	}
	for {
		n, err := r.Body.Read(body.data[len(body.data):cap(body.data)])
		body.data = body.data[:len(body.data)+n]
		if int64(len(body.data)) > limit {
			body.Close()
			return nil, errTooLarge
		}
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			body.Close()
			if timedOut.Load() || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, errSlowBody
			}
			return nil, fmt.Errorf("%w: %v", errBrokenOff, err)
		}
		if len(body.data) == cap(body.data) && !body.grow(min(2*int64(cap(body.data)), limit+1)) {
			body.Close()
			return nil, errNoBudget
		}
	}
}

// bufferedBody is a request body read ahead into memory. Beyond
// freeBodyBytes its buffer is reserved from a budget, given back as soon
// as the body has been read to its end or closed, whichever comes first
// (a watch call lives on long after reading its request).
type bufferedBody struct {
	data     []byte
	off      int
	budget   *budget
	reserved int64
	once     sync.Once
}

// grow makes room for size bytes in all, reserving what passes
// freeBodyBytes; it reports false when the budget cannot give it.
func (b *bufferedBody) grow(size int64) bool {
	if need := max(size-freeBodyBytes, 0) - b.reserved; need > 0 {
		if !b.budget.take(need) {
			return false
		}
		b.reserved += need
	}
	grown := make([]byte, len(b.data), size)
	copy(grown, b.data)
	b.data = grown
	return true
}

// Read reads the buffered body; at its end it lets go of the buffer.
func (b *bufferedBody) Read(p []byte) (int, error) {
	if b.off >= len(b.data) {
		b.Close()
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

// Close lets go of the buffer and gives its reservation back.
func (b *bufferedBody) Close() error {
	b.once.Do(func() {
		b.data, b.off = nil, 0
		b.budget.give(b.reserved)
	})
	return nil
}

// frameProblem says what is wrong with the message frames of a request
// body, in the client's terms, or returns "". It checks gRPC, gRPC-Web and
// Connect streaming frames (a flags byte, a 4-byte length, the message).
// connect-go, like grpc-go, calls a truncated frame or a compressed flag
// without a compression INTERNAL, which would blame the server for a
// broken request. Connect unary bodies are bare messages: nothing to check.
func frameProblem(h http.Header, b []byte) string {
	ct := h.Get("Content-Type")
	var encodingHeader string
	switch {
	case strings.HasPrefix(ct, "application/grpc-web-text"):
		return "" // not served: connect-go refuses the content type
	case strings.HasPrefix(ct, "application/grpc"):
		encodingHeader = "Grpc-Encoding"
	case strings.HasPrefix(ct, "application/connect+"):
		encodingHeader = "Connect-Content-Encoding"
	default:
		return ""
	}
	compressed := h.Get(encodingHeader) != "" && h.Get(encodingHeader) != "identity"
	for len(b) > 0 {
		if len(b) < 5 {
			return "the request ends inside a message frame's 5-byte prefix"
		}
		flags, n := b[0], binary.BigEndian.Uint32(b[1:5])
		switch {
		case flags&^1 != 0:
			return fmt.Sprintf("a request message frame has flags %#02x; only 0x01 (compressed) is allowed", flags)
		case flags&1 != 0 && !compressed:
			return "a request message is marked compressed, but the " + strings.ToLower(encodingHeader) + " header names no compression"
		case uint64(len(b)-5) < uint64(n):
			return fmt.Sprintf("the request ends inside a message frame: %d bytes promised, %d sent", n, len(b)-5)
		}
		b = b[5+n:]
	}
	return ""
}
