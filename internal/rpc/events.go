package rpc

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// WatchEventsPath serves the change feed as server-sent events
// (text/event-stream), for clients without a Connect library: curl -N, a
// browser's EventSource.
const WatchEventsPath = "/v1/customers:watch"

// eventsHeartbeat is how long an event stream may stay silent before the
// server sends a comment line, so that proxies do not close it as idle.
const eventsHeartbeat = 15 * time.Second

// procedureOf returns the CustomerService procedure that r calls: its path,
// or WatchCustomers for WatchEventsPath, which serves the same call. The
// middleware decides by it who may call and which limits apply.
func procedureOf(r *http.Request) string {
	if r.URL.Path == WatchEventsPath {
		return customerv1connect.CustomerServiceWatchCustomersProcedure
	}
	return r.URL.Path
}

// serveEvents serves WatchEventsPath: the WatchCustomers call as
// server-sent events. The resume token comes from the Last-Event-ID header
// (which EventSource sends when it reconnects) or else the resume_token
// query parameter; each event's id is its resume token and its data the
// ChangeEvent as protobuf JSON. A call that fails before the first event
// gets the Connect error (JSON, with the HTTP status of its code); one that
// ends later (the server shutting down) gets an "error" event with the
// same JSON, then the end of the response.
func (s *service) serveEvents(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("Last-Event-ID")
	if tok == "" {
		tok = r.URL.Query().Get("resume_token")
	}
	// The same rules as the RPC's request: its buf.validate rules first.
	err := withBadRequest(protovalidate.Validate(&customerv1.WatchCustomersRequest{ResumeToken: tok}))
	sink := &eventSink{w: w, rc: http.NewResponseController(w)}
	if err == nil {
		err = s.watch(r.Context(), tok, sink)
	}
	switch {
	case err == nil:
	case !sink.opened:
		_ = errorWriter.Write(w, r, err)
	default:
		sink.fail(err)
	}
}

// eventSink writes a watch's events as server-sent events.
type eventSink struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	opened bool
	last   time.Time // of the last write
	buf    []byte
}

// open sends the response headers.
func (k *eventSink) open() error {
	h := k.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	k.w.WriteHeader(http.StatusOK)
	k.opened = true
	k.last = time.Now()
	return k.rc.Flush()
}

// send writes events, each as "id: TOKEN" and "data: JSON", and flushes
// them once.
func (k *eventSink) send(events []event) error {
	buf := k.buf[:0]
	for _, e := range events {
		buf = append(buf, "id: "...)
		buf = append(buf, e.msg.GetResumeToken()...)
		buf = append(buf, "\ndata: "...)
		var err error
		// The RPC's JSON, in the same bytes from build to build.
		if buf, err = appendStableJSON(buf, e.msg); err != nil {
			return err
		}
		buf = append(buf, "\n\n"...)
	}
	k.buf = buf
	return k.write(buf)
}

// idle sends a comment line when the stream has been silent for
// eventsHeartbeat.
func (k *eventSink) idle() error {
	if time.Since(k.last) < eventsHeartbeat {
		return nil
	}
	return k.write([]byte(": keep-alive\n\n"))
}

// fail ends the stream with an "error" event carrying the code and message
// of err, in the JSON of a Connect error.
func (k *eventSink) fail(err error) {
	data, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{connect.CodeOf(err).String(), connectMessage(err)})
	_ = k.write(append(append([]byte("event: error\ndata: "), data...), "\n\n"...))
}

func (k *eventSink) write(b []byte) error {
	k.last = time.Now()
	if _, err := k.w.Write(b); err != nil {
		return err
	}
	return k.rc.Flush()
}

// connectMessage returns the message of err without the code connect-go
// puts before it.
func connectMessage(err error) string {
	if cerr, ok := errors.AsType[*connect.Error](err); ok {
		return cerr.Message()
	}
	return err.Error()
}
