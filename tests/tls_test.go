package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert makes a self-signed certificate for 127.0.0.1 with the given
// common name and writes the PEM files.
func writeCert(t *testing.T, dir, cn string) (string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: nil, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Write to temp names and rename, as certificate tools do.
	writeTestFile(t, cf+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeTestFile(t, kf+".tmp", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	for _, f := range []string{kf, cf} {
		if err := os.Rename(f+".tmp", f); err != nil {
			t.Fatal(err)
		}
	}
	return cf, kf
}

func servedCN(t *testing.T, addr string, maxVersion uint16) (string, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion})
	if err != nil {
		return "", err
	}
	cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	return cn, conn.Close()
}

// TestHTTPS: TLS 1.2+ only, HSTS set, and a renewed certificate is served
// without a restart.
func TestHTTPS(t *testing.T) {
	in := newClinic(t)
	dir := t.TempDir()
	cf, kf := writeCert(t, dir, "first")
	in.extra = []string{"--tls-cert", cf, "--tls-key", kf}
	in.scheme = "https"
	in.hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	in.addr = strings.Replace(freeAddr(t), "127.0.0.1", "localhost", 1)
	in.start()
	resp, err := in.hc.Get(in.base() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age=31536000") {
		t.Errorf("no HSTS under TLS: %q", resp.Header.Get("Strict-Transport-Security"))
	}
	if _, err := servedCN(t, in.addr, tls.VersionTLS11); err == nil {
		t.Error("TLS 1.1 was accepted")
	}
	if cn, err := servedCN(t, in.addr, 0); err != nil || cn != "first" {
		t.Fatalf("served %q, %v", cn, err)
	}
	time.Sleep(1100 * time.Millisecond) // a different modification time
	writeCert(t, dir, "renewed")
	deadline := time.Now().Add(5 * time.Second)
	for {
		cn, _ := servedCN(t, in.addr, 0)
		if cn == "renewed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving %q after the certificate files changed", cn)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Contains(in.log.String(), "patients must only ever reach Hearth over HTTPS") {
		t.Error("the plain-HTTP warning was logged under TLS")
	}
}
