package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"

	customerv1 "customerd/gen/customer/v1"
	"customerd/gen/customer/v1/customerv1connect"
)

// addKey runs "customerd keys add" and returns the key it printed.
func addKey(t *testing.T, file, scope string) string {
	t.Helper()
	var stdout strings.Builder
	if err := run(context.Background(), []string{"keys", "add", "-file", file, "-scope", scope},
		func(string) string { return "" }, &stdout, io.Discard); err != nil {
		t.Fatalf("keys add: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "cdk_") {
		t.Fatalf("keys add printed %q; want the key alone on one line", stdout.String())
	}
	return lines[0]
}

// withKey returns a client option that sends key as a bearer token.
func withKey(key string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+key)
			return next(ctx, req)
		}
	}))
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	readKey, writeKey := addKey(t, file, "read"), addKey(t, file, "write")
	if b, _ := os.ReadFile(file); strings.Contains(string(b), readKey) || strings.Contains(string(b), writeKey) {
		t.Fatal("the key file holds a key in plain text")
	}

	url, stop, out := launch(t, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "c.db"), "-auth-keys", file}, nil)
	waitHealthy(t, url) // /healthz needs no key

	newClient := func(opts ...connect.ClientOption) customerv1connect.CustomerServiceClient {
		return customerv1connect.NewCustomerServiceClient(http.DefaultClient, url, opts...)
	}
	create := &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "Ada", Email: "ada@example.com"}}
	for name, client := range map[string]customerv1connect.CustomerServiceClient{
		"NoKey":    newClient(),
		"WrongKey": newClient(withKey("cdk_" + strings.Repeat("x", 43))),
	} {
		_, err := client.CreateCustomer(ctx, create)
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("%s: create got %v, want unauthenticated", name, err)
		}
		_, err = client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: 1})
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("%s: get got %v, want unauthenticated", name, err)
		}
	}
	reader, writer := newClient(withKey(readKey)), newClient(withKey(writeKey), connect.WithGRPCWeb())
	if _, err := reader.CreateCustomer(ctx, create); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("read key, create: %v, want permission_denied", err)
	}
	res, err := writer.CreateCustomer(ctx, create)
	if err != nil {
		t.Fatalf("write key, create: %v", err)
	}
	if _, err := reader.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: res.Customer.Id}); err != nil {
		t.Fatalf("read key, get: %v", err)
	}
	if _, err := reader.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Id: res.Customer.Id}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("read key, delete: %v, want permission_denied", err)
	}
	// Health checks stay open for load balancers.
	h2 := &http.Client{Transport: &http.Transport{Protocols: func() *http.Protocols {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		return p
	}()}}
	if hc, err := grpchealth.NewClient(h2, url, connect.WithGRPC()).Check(ctx, &grpchealth.CheckRequest{}); err != nil || hc.Status != grpchealth.StatusServing {
		t.Fatalf("health check without a key: %v, %v", hc, err)
	}
	// /metrics needs a key, and counts the refusals made before any handler.
	if resp, err := http.Get(url + "/metrics"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without a key: %v %v", resp.Status, err)
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+readKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metricsText), `code="unauthenticated",procedure="/customer.v1.CustomerService/CreateCustomer"} 2`) {
		t.Errorf("/metrics does not count the refused creates:\n%s", metricsText)
	}
	if err := stop(); err != nil { // every log line is out once it has stopped (package logbuf)
		t.Fatal(err)
	}
	logs := out.String()
	if !strings.Contains(logs, "authentication failed") {
		t.Error("failed authentication was not logged")
	}
	for _, secret := range []string{readKey, writeKey, readKey[4:20], writeKey[4:20]} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log contains a key:\n%s", logs)
		}
	}
	if strings.Contains(logs, "ada@example.com") {
		t.Fatal("the log contains a customer's email")
	}
}

func TestRefusesOpenNetworkWithoutKeys(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "0.0.0.0:0", "-db", ":memory:"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "auth-keys") {
		t.Fatalf("listening on every interface without keys: %v, want a refusal", err)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns the
// files and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "customerd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	ctx := context.Background()
	certFile, keyFile, pool := selfSigned(t)
	url, _, _ := launch(t, []string{"-addr", "127.0.0.1:0", "-db", ":memory:", "-tls-cert", certFile, "-tls-key", keyFile}, nil)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("TLS server announced %s", url)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: tr}
	for name, opts := range map[string][]connect.ClientOption{"Connect": nil, "GRPC": {connect.WithGRPC()}} {
		c := customerv1connect.NewCustomerServiceClient(client, url, opts...)
		if _, err := c.ListCustomers(ctx, &customerv1.ListCustomersRequest{}); err != nil {
			t.Fatalf("%s over TLS: %v", name, err)
		}
	}
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("TLS served %s, want HTTP/2", resp.Proto)
	}
}
