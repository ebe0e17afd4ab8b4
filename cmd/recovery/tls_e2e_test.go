package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/internal/devstack"
	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
)

// mtlsFiles writes a CA, a server certificate for localhost and 127.0.0.1,
// and a client certificate, each signed by the CA, as PEM files in dir.
func mtlsFiles(t *testing.T, dir string) *devstack.TLSFiles {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "recovery test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(k)
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	f := &devstack.TLSFiles{CA: write("ca.pem", "CERTIFICATE", caDER), ServerName: "localhost"}
	f.ServerCert, f.ServerKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	f.ClientCert, f.ClientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return f
}

// serve and worker reach a Temporal that requires mutual TLS with the
// standard TEMPORAL_TLS_* settings, and the whole story runs; a client
// without a certificate is refused.
func TestServeAndWorkerOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	files := mtlsFiles(t, dir)
	ts, err := devstack.StartTemporal(context.Background(), devstack.TemporalConfig{Postgres: pgtest.Cluster(t),
		LogFile: filepath.Join(pgtest.Dir(t), "temporal-tls.log"), DatabaseSuffix: "_tls", TLS: files})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Stop() }) //nolint:errcheck

	// Without a client certificate: refused.
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(files.CA)
	pool.AppendCertsFromPEM(caPEM)
	for name, conf := range map[string]*tls.Config{
		"no TLS":                    nil,
		"TLS without a certificate": {RootCAs: pool, ServerName: "localhost"},
	} {
		c, err := client.Dial(client.Options{HostPort: ts.Address(), Namespace: "default", Logger: quietTemporalLogger(quietLogger()),
			ConnectionOptions: client.ConnectionOptions{TLS: conf}})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			cancel()
			c.Close()
		}
		if err == nil {
			t.Fatalf("%s: the server let a client without a certificate in", name)
		}
	}

	prod := newProduction(t, ts.Address(),
		"TEMPORAL_TLS_CLIENT_CERT_PATH="+files.ClientCert, "TEMPORAL_TLS_CLIENT_KEY_PATH="+files.ClientKey,
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH="+files.CA, "TEMPORAL_TLS_SERVER_NAME=localhost")
	prod.start(t)
	out := runCLI(t, prod.env, "events", "demo")
	if !strings.Contains(out, `"kind": "misrouted"`) {
		t.Fatalf("the demo over mutual TLS:\n%s", out)
	}
	order := strings.TrimSuffix(strings.Fields(strings.SplitN(out, "Pushed order ", 2)[1])[0], ":")
	deadline := time.Now().Add(time.Minute)
	for {
		_, body := as(t, e2eKey, prod.base, "GET", "/v1/incidents?order_id="+order, nil)
		var res struct{ Incidents []incident }
		json.Unmarshal([]byte(body), &res) //nolint:errcheck
		if len(res.Incidents) == 1 && len(res.Incidents[0].Contacts) == 1 && res.Incidents[0].Contacts[0].Status == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no apology sent over mutual TLS: %s", body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if n := len(prod.sg.Requests()); n != 1 {
		t.Fatalf("SendGrid got %d requests, want the apology", n)
	}
}
