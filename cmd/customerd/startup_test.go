package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDebugServerAnswersOnlyLoopbackHosts sends requests with several Host
// headers to the pprof server of a running server: only loopback names are
// answered, others get 403 (a DNS-rebinding page sends its own domain).
func TestDebugServerAnswersOnlyLoopbackHosts(t *testing.T) {
	_, _, out := launch(t, []string{"-addr", "127.0.0.1:0", "-db", ":memory:", "-debug-addr", "127.0.0.1:0"}, nil)
	m := regexp.MustCompile(`profiles on http://([0-9.:]+)/debug/pprof/`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no debug address in the log:\n%s", out)
	}
	addr := m[1]
	_, port, _ := net.SplitHostPort(addr)
	client := &http.Client{Timeout: 10 * time.Second}
	for host, want := range map[string]int{
		addr: http.StatusOK, "localhost:" + port: http.StatusOK, "localhost": http.StatusOK,
		"profiles.localhost:" + port: http.StatusOK, "[::1]:" + port: http.StatusOK,
		"evil.example:" + port: http.StatusForbidden, "evil.example": http.StatusForbidden,
		"10.1.2.3:" + port: http.StatusForbidden, "localhost.evil.example": http.StatusForbidden,
	} {
		req, err := http.NewRequest("GET", "http://"+addr+"/debug/pprof/goroutine?debug=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("Host %s: %v", host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, resp.StatusCode, want)
		}
		if want == http.StatusForbidden {
			if !strings.Contains(string(body), "only answers requests addressed to localhost") || strings.Contains(string(body), "goroutine") {
				t.Errorf("Host %s: body %q, want the refusal and no stacks", host, body)
			}
		} else if !strings.Contains(string(body), "goroutine") {
			t.Errorf("Host %s: body %.100q, want goroutine stacks", host, body)
		}
	}
}

// TestCommandLineCheckedBeforeTheDatabase gives run a bad TLS file, a busy
// port or an address it must refuse, each with a database path that does
// not exist yet: run must fail with a message naming the problem, and
// neither create the database nor log that it listens.
func TestCommandLineCheckedBeforeTheDatabase(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	certFile, keyFile, _ := selfSigned(t)
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"MissingTLSCert", []string{"-tls-cert", filepath.Join(dir, "missing.pem"), "-tls-key", keyFile}, "missing.pem: no such file or directory"},
		{"MissingTLSKey", []string{"-tls-cert", certFile, "-tls-key", filepath.Join(dir, "missing-key.pem")}, "missing-key.pem: no such file or directory"},
		{"InvalidTLSCert", []string{"-tls-cert", junk, "-tls-key", keyFile}, "failed to find any PEM data in certificate input"},
		{"BusyPort", []string{"-addr", busy.Addr().String()}, "-addr " + busy.Addr().String() + ": the port is already in use"},
		{"BusyDebugPort", []string{"-debug-addr", busy.Addr().String()}, "-debug-addr " + busy.Addr().String() + ": the port is already in use"},
		{"PublicDebugAddress", []string{"-debug-addr", "0.0.0.0:0"}, "-debug-addr 0.0.0.0:0 is not a loopback address"},
		{"PublicAddressWithoutKeys", []string{"-addr", "0.0.0.0:0"}, "(-addr 0.0.0.0:0) without -auth-keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbPath := filepath.Join(dir, tc.name+".db")
			args := append([]string{"-addr", "127.0.0.1:0", "-db", dbPath}, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var log strings.Builder
			err := run(ctx, args, func(string) string { return "" }, io.Discard, &log)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run %q: %v, want an error containing %q", tc.args, err, tc.want)
			}
			t.Logf("error: %v", err)
			if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the database was created (stat: %v)", err)
			}
			if strings.Contains(log.String(), "listening") || strings.Contains(log.String(), "migrate") {
				t.Errorf("the log says it listened or migrated:\n%s", log.String())
			}
		})
	}
}
