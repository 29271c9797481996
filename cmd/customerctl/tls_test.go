package main

import (
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/grpchealth"

	"customerd/internal/rpc"
	"customerd/internal/sqlite"
)

// TestCAFlag calls a real HTTPS server (HTTP/2 over TLS) whose self-signed
// certificate no system store trusts: with -ca naming that certificate the
// calls succeed, unary and streaming, and without it they fail on the
// certificate.
func TestCAFlag(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "tls.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(rpc.NewHandler(st, grpchealth.NewStaticChecker(rpc.ServiceName), slog.New(slog.DiscardHandler), rpc.Options{Feed: st}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(func() { srv.Close(); st.Close() })

	dir := t.TempDir()
	ca := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "key.txt")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)

	out, err := ctl(t, srv.URL, "create", "-ca", ca, "-name", "Ada Lovelace", "-email", "ada@example.com")
	if err != nil || !strings.Contains(out, "ada@example.com") {
		t.Fatalf("create -ca: %v\n%s", err, out)
	}
	if out, err := ctl(t, srv.URL, "export", "-ca", ca); err != nil || !strings.Contains(out, "ada@example.com") {
		t.Fatalf("export -ca: %v\n%s", err, out)
	}
	var stdout, stderr strings.Builder
	env := map[string]string{"CUSTOMERCTL_SERVER": srv.URL, "CUSTOMERCTL_CA": ca}
	if err := run(t.Context(), []string{"get", "-id", "1"}, func(k string) string { return env[k] }, &stdout, &stderr); err != nil {
		t.Fatalf("get with CUSTOMERCTL_CA: %v\n%s", err, stderr.String())
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "-id", "1"}, "certificate"},
		{[]string{"get", "-id", "1", "-ca", notPEM}, "-ca " + notPEM + ": no PEM certificate in it"},
		{[]string{"get", "-id", "1", "-ca", filepath.Join(dir, "missing.pem")}, "-ca: open "},
	} {
		if out, err := ctl(t, srv.URL, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("customerctl %q: %v, want an error containing %q\n%s", tc.args, err, tc.want, out)
		}
	}
}
