package rpc

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWholeResponseLimits drives wholeResponses over real HTTP/1.1 with
// handlers that write in pieces, past the limit, flush, or write nothing:
// every body arrives whole, with a Content-Length only when it was held.
func TestWholeResponseLimits(t *testing.T) {
	piece := bytes.Repeat([]byte("x"), 1000)
	for _, tc := range []struct {
		name       string
		pieces     int
		flushAfter int // 0: never
		status     int
		wantLength bool
	}{
		{"small in pieces", 20, 0, 200, true},
		{"past the limit", maxWholeResponse/1000 + 5, 0, 200, false},
		{"flushed", 20, 3, 200, false},
		{"status only", 0, 0, 404, true}, // net/http gives an empty answer Content-Length: 0
	} {
		srv := httptest.NewServer(wholeResponses(maxWholeResponse, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			for i := range tc.pieces {
				w.Write(piece)
				if i+1 == tc.flushAfter {
					http.NewResponseController(w).Flush()
				}
			}
		})))
		client := &http.Client{Timeout: 30 * time.Second}
		res, err := client.Post(srv.URL+servicePrefix+"GetCustomer", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		srv.Close()
		if err != nil || res.StatusCode != tc.status || len(body) != tc.pieces*len(piece) {
			t.Fatalf("%s: status %d, %d bytes, %v", tc.name, res.StatusCode, len(body), err)
		}
		hasLength := res.Header.Get("Content-Length") == strconv.Itoa(len(body)) && len(res.TransferEncoding) == 0
		if hasLength != tc.wantLength {
			t.Fatalf("%s: Content-Length %q, Transfer-Encoding %v", tc.name, res.Header.Get("Content-Length"), res.TransferEncoding)
		}
	}
}
