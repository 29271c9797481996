package rpc

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"connectrpc.com/connect"

	customerv1 "customerd/gen/customer/v1"
	"customerd/internal/customer"
)

// watchBatch is how many changes one read of the feed takes.
const watchBatch = 500

// watchLinger is how long a watcher waits after sending a run of events
// before it looks for more: under a stream of commits, each flush (a
// write to the connection, per watcher) then carries the changes of
// several commits instead of one, for at most this much added delay. A
// change after a quiet spell is sent at once.
const watchLinger = 10 * time.Millisecond

var changeTypes = map[customer.ChangeType]customerv1.ChangeType{
	customer.Created: customerv1.ChangeType_CHANGE_TYPE_CREATED,
	customer.Updated: customerv1.ChangeType_CHANGE_TYPE_UPDATED,
	customer.Deleted: customerv1.ChangeType_CHANGE_TYPE_DELETED,
	customer.Erased:  customerv1.ChangeType_CHANGE_TYPE_ERASED,
}

// resumeVersion is the first byte of every resume token.
const resumeVersion = 1

func encodeResume(seq int64) string {
	return base64.RawURLEncoding.EncodeToString(binary.AppendUvarint([]byte{resumeVersion}, uint64(seq)))
}

func decodeResume(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != resumeVersion {
		return 0, false
	}
	seq, n := binary.Uvarint(b[1:])
	if n <= 0 || 1+n != len(b) || seq > 1<<62 {
		return 0, false
	}
	return int64(seq), true
}

func (s *service) WatchCustomers(ctx context.Context, req *customerv1.WatchCustomersRequest, stream *connect.ServerStream[customerv1.ChangeEvent]) error {
	return s.watch(ctx, req.GetResumeToken(), &streamSink{stream: stream, flusher: flusherFrom(ctx)})
}

// watchSink is where a watch sends its events: the WatchCustomers stream
// or a server-sent events response. Every method's error means the client
// left.
type watchSink interface {
	// open answers the request: from here on the client waits for events.
	open() error
	// send sends a run of events, in order, and flushes them.
	send(events []event) error
	// idle is called about once a second while there are no events.
	idle() error
}

// watch serves one watcher of the change feed: it checks the resume token
// tok ("" for "from now on"), opens sink and sends it every change after
// the token, in commit order, until the client leaves (nil) or the server
// shuts down (UNAVAILABLE). The rules of the feed (which tokens are valid,
// what was pruned) are here, for every way of watching. Every error it
// returns is a *connect.Error.
func (s *service) watch(ctx context.Context, tok string, sink watchSink) error {
	if s.feed == nil {
		return connect.NewError(connect.CodeUnimplemented, errors.New("this server has no change feed"))
	}
	oldest, newest, err := s.feed.ChangeBounds(ctx)
	if err != nil {
		return toConnect(s.log, err)
	}
	after := newest // no token: only what happens from now on
	if tok != "" {
		seq, ok := decodeResume(tok)
		switch {
		case !ok:
			return toConnect(s.log, customer.InvalidField("resume_token", "is not a token from this server"))
		case newest == 0 && seq > 0, oldest > 0 && seq < oldest-1:
			return connect.NewError(connect.CodeOutOfRange,
				errors.New("the changes after this resume_token were pruned; list the customers again and watch from now"))
		case seq > newest:
			return toConnect(s.log, customer.InvalidField("resume_token", "is ahead of this server's changes"))
		}
		after = seq
	}
	// Answer now, without an event, so that the client's call returns at
	// once instead of waiting for the first change.
	if err := sink.open(); err != nil {
		return nil // the client left
	}
	leave := s.fanout.join(after)
	defer leave()
	linger := time.NewTimer(0)
	defer linger.Stop()
	for {
		if s.draining != nil && s.draining() {
			return connect.NewError(connect.CodeUnavailable, errors.New("the server is shutting down; resume with the last resume_token"))
		}
		events, err := s.fanout.next(ctx, after, watchBatch)
		if err != nil {
			if ctx.Err() != nil {
				return nil // the client left
			}
			return toConnect(s.log, err)
		}
		if len(events) == 0 {
			if sink.idle() != nil {
				return nil // the client left
			}
			continue
		}
		if err := sink.send(events); err != nil {
			return nil // the client left
		}
		after = events[len(events)-1].seq
		linger.Reset(watchLinger)
		select {
		case <-linger.C:
		case <-ctx.Done():
			return nil // the client left
		}
	}
}

// streamSink sends a watch's events on a WatchCustomers stream.
type streamSink struct {
	stream  *connect.ServerStream[customerv1.ChangeEvent]
	flusher *batchedFlusher // nil if the request has none
}

// open sends the response headers.
func (k *streamSink) open() error { return k.stream.Send(nil) }

func (k *streamSink) send(events []event) error {
	if k.flusher != nil {
		k.flusher.hold() // one flush for the whole run of events
		defer k.flusher.release()
	}
	for _, e := range events {
		if err := k.stream.Send(e.msg); err != nil {
			return err
		}
	}
	return nil
}

func (k *streamSink) idle() error { return nil }
