package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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

// TestHTTPS: TLS 1.2+ only, only forward-secret AEAD suites (checklist
// 46), HSTS set, and a renewed certificate is served without a restart
// while the staff member's and the patient's sessions go on (checklist 51).
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
	scanTLS(t, in.addr)
	if cn, err := servedCN(t, in.addr, 0); err != nil || cn != "first" {
		t.Fatalf("served %q, %v", cn, err)
	}

	// A staff member and a patient are signed in before the rotation.
	owner := in.owner()
	var pat struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14", "phone": "555-201-3344", "lang": "en"}, &pat)
	var inv struct {
		Code string `json:"code"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv)
	patient := inboxPatientSignIn(t, in, "Rosa", inv.Code, "1961-03-14")

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
	// Both sessions go on over new connections, which carry the new
	// certificate: nothing of a session hangs on the certificate.
	owner.hc.CloseIdleConnections()
	patient.hc.CloseIdleConnections()
	var items struct {
		Items []json.RawMessage `json:"items"`
	}
	if code := owner.json("GET", "/api/v1/items", nil, &items); code != http.StatusOK {
		t.Errorf("the staff session after the rotation: %d", code)
	}
	if code, body := patient.get("/me"); code != http.StatusOK || !strings.Contains(body, "Rosa") {
		t.Errorf("the patient's session after the rotation: %d", code)
	}
	if strings.Contains(in.log.String(), "patients must only ever reach Hearth over HTTPS") {
		t.Error("the plain-HTTP warning was logged under TLS")
	}
}

// scanTLS is the TLS scan of checklist 46 as a Go client does it against
// a listener: TLS 1.0 and 1.1 are refused; over TLS 1.2 every suite Go
// knows is tried alone, and only forward-secret AEAD suites (ECDHE with
// AES-GCM or ChaCha20-Poly1305) are accepted; TLS 1.3 is offered.
// docs/OPERATIONS.md has the testssl.sh procedure for a clinic's own scan.
func scanTLS(t *testing.T, addr string) {
	t.Helper()
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		if _, err := servedCN(t, addr, v); err == nil {
			t.Errorf("%s was accepted", tls.VersionName(v))
		}
	}
	var suites []*tls.CipherSuite
	suites = append(suites, tls.CipherSuites()...)
	suites = append(suites, tls.InsecureCipherSuites()...)
	accepted := 0
	for _, cs := range suites {
		if !slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{cs.ID}})
		if err != nil {
			continue
		}
		if err := conn.Close(); err != nil {
			t.Fatal(err)
		}
		accepted++
		aead := strings.Contains(cs.Name, "_GCM_") || strings.Contains(cs.Name, "CHACHA20_POLY1305")
		if !strings.HasPrefix(cs.Name, "TLS_ECDHE_") || !aead || cs.Insecure {
			t.Errorf("TLS 1.2 suite %s was accepted", cs.Name)
		}
	}
	if accepted == 0 {
		t.Error("no TLS 1.2 suite was accepted at all")
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatalf("TLS 1.3: %v", err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
}
