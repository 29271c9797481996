package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"customerd/gen/customer/v1/customerv1connect"
)

// restPrefix starts the path of every REST route: the google.api.http
// options of the proto, such as GET /v1/customers/{id}.
const restPrefix = "/v1/"

// withREST serves the REST routes of the CustomerService in front of next,
// which serves everything else as it did before: a request whose path
// starts with restPrefix is read whole (within the limits of l, like any
// other call's) and handed to a vanguard transcoder, which turns it into
// a Connect call (protobuf-encoded) of next and turns the answer back into
// REST: JSON in the protobuf JSON mapping, errors as google.rpc.Status
// with the matching HTTP status. So a REST call passes through the same
// middleware, interceptors and handlers as a Connect call, and other paths
// cost one prefix comparison more.
func withREST(l bodyLimits, f refuser, next http.Handler) http.Handler {
	// reached tells a restWriter that the transcoder has handed its
	// request to next: anything it answered before that was about the
	// client's request.
	reached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rw, ok := r.Context().Value(restWriterKey{}).(*restWriter); ok {
			rw.reached = true
		}
		next.ServeHTTP(w, r)
	})
	svc := vanguard.NewService(customerv1connect.CustomerServiceName, reached,
		vanguard.WithTargetProtocols(vanguard.ProtocolConnect),
		vanguard.WithTargetCodecs(vanguard.CodecProto),
		vanguard.WithNoTargetCompression(),
		vanguard.WithMaxMessageBufferBytes(uint32(l.maxBytes)),
	)
	rest := restRefuser{f}
	transcoder, err := vanguard.NewTranscoder([]*vanguard.Service{svc},
		vanguard.WithCodec(newRESTCodec),
		vanguard.WithUnknownHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rest.refuse(w, r, connect.CodeNotFound, "no such REST resource; GET /openapi.yaml lists them")
		})))
	if err != nil {
		// The proto's google.api.http options are fixed at build time.
		panic(fmt.Sprintf("rpc: REST routes of the proto: %v", err))
	}
	limit := int64(l.maxBytes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The change feed's event stream is REST-shaped but served by
		// serveEvents, behind the same guards as the RPCs.
		if !strings.HasPrefix(r.URL.Path, restPrefix) || r.URL.Path == WatchEventsPath {
			next.ServeHTTP(w, r)
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			body, ok := readWholeBody(w, r, limit, l, rest.refuse)
			if !ok {
				return
			}
			defer body.Close()
			r.Body = body
			r.ContentLength = int64(len(body.data))
		}
		rw := &restWriter{ResponseWriter: w}
		transcoder.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), restWriterKey{}, rw)))
		rw.finish(rest, r)
	})
}

type restWriterKey struct{}

// restWriter passes the transcoder's answer on, except those it gives
// before the request reached the service: they are about the client's
// request (an unknown query parameter, a path value of the wrong type, a
// method or content type the route does not take), but vanguard answers
// some with 500 and others in plain text. Those are held back and answered
// again by finish as a google.rpc.Status with a 4xx status.
type restWriter struct {
	http.ResponseWriter
	reached bool
	held    int          // the status held back, or 0
	body    bytes.Buffer // the body held back
}

func (w *restWriter) WriteHeader(code int) {
	if !w.reached && (code >= 500 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json")) && code >= 400 {
		w.held = code
		return
	}
	if w.Header().Get("Content-Type") == "application/" { // vanguard's, for errors before the call
		w.Header().Set("Content-Type", "application/json")
	}
	// Connect's: it names the compressions of Connect request bodies.
	w.Header().Del("Accept-Encoding")
	w.ResponseWriter.WriteHeader(code)
}

func (w *restWriter) Write(b []byte) (int, error) {
	if w.held != 0 {
		if w.body.Len() < 4<<10 {
			w.body.Write(b)
		}
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes the response, unless it is held back.
func (w *restWriter) Flush() {
	if w.held == 0 {
		http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap gives http.ResponseController the writer beneath.
func (w *restWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish answers a response that was held back: with its own status when
// that is a client error (405, 415), else 400; with the message vanguard
// gave, which names the parameter at fault.
func (w *restWriter) finish(rest restRefuser, r *http.Request) {
	if w.held == 0 {
		return
	}
	msg := strings.TrimSpace(w.body.String())
	var st status.Status
	if protojson.Unmarshal(w.body.Bytes(), &st) == nil {
		msg = st.GetMessage()
	}
	code := connect.CodeInvalidArgument
	switch w.held {
	case http.StatusMethodNotAllowed:
		code, msg = connect.CodeUnimplemented, "this resource does not take "+r.Method+"; it takes "+w.Header().Get("Allow")
	case http.StatusUnsupportedMediaType:
		msg = "a REST request body must be JSON (Content-Type: application/json)"
	}
	w.Header().Del("X-Content-Type-Options")
	rest.answer(w.ResponseWriter, r, code, restStatus(w.held), msg)
}

// restStatus is the HTTP status of a held-back answer: its own when it is
// a client error, else 400.
func restStatus(held int) int {
	if held >= 400 && held < 500 {
		return held
	}
	return http.StatusBadRequest
}

// restCodec is vanguard's JSON codec for REST bodies, with protojson's
// defaults for output (no unpopulated fields, as in Connect's JSON) and
// INVALID_ARGUMENT for a body that does not decode: vanguard would call
// that UNKNOWN, a 500.
type restCodec struct{ *vanguard.JSONCodec }

func newRESTCodec(res vanguard.TypeResolver) vanguard.Codec {
	c := vanguard.NewJSONCodec(res)
	c.MarshalOptions.EmitUnpopulated = false
	return restCodec{c}
}

// MarshalAppend writes what Connect's JSON codec writes: the customer
// responses by the hand encoder (see fastjson.go), anything else by
// protojson without the whitespace protojson varies on purpose, so a REST
// answer's bytes are the same from build to build.
func (c restCodec) MarshalAppend(base []byte, msg proto.Message) ([]byte, error) {
	return appendStableJSON(base, msg)
}

func (c restCodec) Unmarshal(data []byte, msg proto.Message) error {
	return badJSON(c.JSONCodec.Unmarshal(data, msg))
}

func (c restCodec) UnmarshalField(data []byte, msg proto.Message, field protoreflect.FieldDescriptor) error {
	return badJSON(c.JSONCodec.UnmarshalField(data, msg, field))
}

// badJSON turns a protojson decoding error into INVALID_ARGUMENT.
func badJSON(err error) error {
	if err == nil {
		return nil
	}
	msg := strings.TrimLeft(strings.TrimPrefix(err.Error(), "proto:"), " \u00a0")
	return connect.NewError(connect.CodeInvalidArgument, errors.New("the request body is not valid JSON for this resource: "+msg))
}

// restRefuser answers REST requests that are refused before they become
// calls, as the transcoder answers failed calls: a google.rpc.Status in
// JSON with the HTTP status of its code.
type restRefuser struct{ f refuser }

func (rr restRefuser) refuse(w http.ResponseWriter, r *http.Request, code connect.Code, msg string) {
	rr.answer(w, r, code, restHTTPStatus[code], msg)
}

// answer writes a google.rpc.Status of code and msg with HTTP status
// httpStatus.
func (rr restRefuser) answer(w http.ResponseWriter, r *http.Request, code connect.Code, httpStatus int, msg string) {
	if rr.f.metrics != nil {
		rr.f.metrics.Observe(r.URL.Path, code.String(), 0) // counted as "other": the path is the client's
	}
	body, _ := appendStableJSON(nil, &status.Status{Code: int32(code), Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// restHTTPStatus is the HTTP status of each code that restRefuser
// answers, as google.rpc.Code documents it (and vanguard maps it).
var restHTTPStatus = map[connect.Code]int{
	connect.CodeCanceled:          499,
	connect.CodeDeadlineExceeded:  http.StatusGatewayTimeout,
	connect.CodeNotFound:          http.StatusNotFound,
	connect.CodeResourceExhausted: http.StatusTooManyRequests,
}
