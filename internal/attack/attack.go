// Package attack holds the hostile clients customerd is tested against.
// Each runs one kind of attack on a server at a URL until its context ends
// or it has sent what it was asked to, and counts what the server answered.
// The tests of internal/rpc run each one briefly against a server in
// process; "customerload -ops attacks" runs them all, longer, against the
// real binary and measures its memory and a probe client meanwhile.
//
// Only ever point them at a server of your own on the loopback interface.
package attack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// Target is the server under attack.
type Target struct {
	// URL is the server's base URL, such as http://127.0.0.1:8080.
	URL string
	// Key is an API key attacks that need one present ("" for a server
	// without keys).
	Key string
}

// host returns the target's host:port.
func (t Target) host() string {
	u, err := url.Parse(t.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// dial opens a TCP connection to the target.
func (t Target) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", t.host())
}

// Metrics scrapes the target's /metrics with its key, within 10 s.
func (t Target) Metrics() (string, error) {
	req, err := http.NewRequest(http.MethodGet, t.URL+"/metrics", nil)
	if err != nil {
		return "", err
	}
	if t.Key != "" {
		req.Header.Set("Authorization", "Bearer "+t.Key)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("/metrics: %s", resp.Status)
	}
	return string(b), err
}

// Metric returns the value of the unlabelled series name on the target's
// /metrics.
func (t Target) Metric(name string) (float64, error) {
	text, err := t.Metrics()
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no %s in /metrics", name)
}

// Answers counts what a server answered, by code. A code is a Connect or
// gRPC code name ("ok", "resource_exhausted", ...), "http NNN" for an HTTP
// status without one, or a failure on the client's side ("reset", "timeout").
type Answers struct {
	mu     sync.Mutex
	counts map[string]int
}

// Add counts one answer.
func (a *Answers) Add(code string) { a.add(code, 1) }

// add counts n answers code.
func (a *Answers) add(code string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts == nil {
		a.counts = map[string]int{}
	}
	a.counts[code] += n
}

// Merge adds the answers of o.
func (a *Answers) Merge(o *Answers) {
	o.mu.Lock()
	counts := maps.Clone(o.counts)
	o.mu.Unlock()
	for code, n := range counts {
		a.add(code, n)
	}
}

// Count returns how many answers were code.
func (a *Answers) Count(code string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts[code]
}

// Total returns how many answers there were.
func (a *Answers) Total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.counts {
		n += c
	}
	return n
}

// String lists the answers by code, most frequent first.
func (a *Answers) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(a.counts), func(x, y string) int { return a.counts[y] - a.counts[x] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, a.counts[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// codeOf reads the Connect or gRPC code of a response whose body has been
// read into body.
func codeOf(resp *http.Response, body []byte) string {
	st := resp.Header.Get("Grpc-Status")
	if st == "" {
		st = resp.Trailer.Get("Grpc-Status")
	}
	if st != "" {
		return grpcCodeName(st)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/connect+") && len(body) > 5 && body[0]&2 != 0 {
		// A Connect stream answered with its end message alone: any error is there.
		var end struct{ Error struct{ Code string } }
		if json.Unmarshal(body[5:], &end) == nil && end.Error.Code != "" {
			return end.Error.Code
		}
	}
	if resp.StatusCode == http.StatusOK {
		return "ok"
	}
	var connectErr struct{ Code string }
	if json.Unmarshal(body, &connectErr) == nil && connectErr.Code != "" {
		return connectErr.Code
	}
	return fmt.Sprintf("http %d", resp.StatusCode)
}

// grpcCodeName names a gRPC status code ("8") as Connect does.
func grpcCodeName(status string) string {
	n, err := strconv.ParseUint(status, 10, 32)
	switch {
	case err != nil:
		return "grpc " + status
	case n == 0:
		return "ok"
	}
	return connect.Code(n).String()
}

// errorName classifies a transport error.
func errorName(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "ok"
	case strings.Contains(err.Error(), "reset"), strings.Contains(err.Error(), "broken pipe"):
		return "reset"
	case strings.Contains(err.Error(), "EOF"):
		return "closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "error"
}

// junk returns n random letters.
func junk(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// drain reads and closes a response body, up to a bound.
func drain(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return b
}

// waitOrDone sleeps for d, or less when ctx ends; it reports whether ctx
// is still going.
func waitOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
