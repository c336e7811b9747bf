// Package pebbletest gives tests a real ACME certificate authority: Pebble,
// Let's Encrypt's test server (Debian package pebble), with
// pebble-challtestsrv answering its DNS so that every test name resolves to
// 127.0.0.1. Pebble checks challenges on the ports the test names, so
// Hearth's own listeners answer them.
//
// Where Pebble is not installed the tests skip, unless HEARTH_REQUIRE_PEBBLE
// or CI is set (.ci/run sets both): then they fail. The package is for
// tests only.
package pebbletest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/app/testenv"
)

// Options shape one Pebble.
type Options struct {
	// HTTPPort and TLSPort are where Pebble sends its HTTP-01 and
	// TLS-ALPN-01 checks (the listeners under test).
	HTTPPort, TLSPort int
	// Validity is how long the certificates it issues last; 0 for Pebble's
	// own (five years).
	Validity time.Duration
}

// Pebble is a running test CA.
type Pebble struct {
	// Dir is the ACME directory URL (--acme-ca).
	Dir string
	// RootFile is the PEM file of the root that signs Pebble's own HTTPS
	// (--acme-ca-root).
	RootFile string
	// APIRoots trusts Pebble's own HTTPS.
	APIRoots *x509.CertPool

	mgmt string
	log  *syncBuffer
}

// FreePort is a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// ServedName is the common name of the certificate served at addr for
// the name server (without verifying it: the self-signed "not set up yet"
// one included).
func ServedName(t testing.TB, addr, server string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: server, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	return cn
}

// Start runs pebble-challtestsrv and pebble until the test ends.
func Start(t testing.TB, o Options) *Pebble {
	t.Helper()
	for _, bin := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, bin+" is not installed (Debian package pebble)", testenv.RequirePebble, testenv.CI)
		}
	}
	dir := t.TempDir()
	rootFile, certFile, keyFile := writeAPICerts(t, dir)
	dns := FreePort(t)
	// Its other listeners are off; its management port is required.
	start(t, "pebble-challtestsrv", nil, io.Discard,
		"-dns01", "127.0.0.1:"+strconv.Itoa(dns), "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", "127.0.0.1:"+strconv.Itoa(FreePort(t)), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	api, mgmt := FreePort(t), FreePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":             "127.0.0.1:" + strconv.Itoa(api),
		"managementListenAddress":   "127.0.0.1:" + strconv.Itoa(mgmt),
		"certificate":               certFile,
		"privateKey":                keyFile,
		"httpPort":                  o.HTTPPort,
		"tlsPort":                   o.TLSPort,
		"ocspResponderURL":          "",
		"certificateValidityPeriod": uint64(o.Validity / time.Second),
	}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Pebble{Dir: fmt.Sprintf("https://127.0.0.1:%d/dir", api), RootFile: rootFile, mgmt: fmt.Sprintf("https://127.0.0.1:%d", mgmt), log: &syncBuffer{}}
	p.APIRoots = x509.NewCertPool()
	p.APIRoots.AppendCertsFromPEM(readFile(t, rootFile))
	// No random sleeps before checks, no rejected nonces: fast and
	// deterministic. Challenges are still checked for real.
	start(t, "pebble", []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"}, p.log,
		"-config", cfgFile, "-dnsserver", "127.0.0.1:"+strconv.Itoa(dns))
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := p.client().Get(p.Dir)
		if err == nil {
			if cerr := resp.Body.Close(); cerr != nil {
				t.Fatal(cerr)
			}
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not answer at %s: %v\n%s", p.Dir, err, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func (p *Pebble) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.APIRoots}}}
}

// IssuerRoots trusts the certificates Pebble issues (its root is made
// afresh each time it starts).
func (p *Pebble) IssuerRoots(t testing.TB) *x509.CertPool {
	t.Helper()
	resp, err := p.client().Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble's root is not PEM: %q", b)
	}
	return pool
}

// Issued is how many certificates Pebble has issued, read from its log.
func (p *Pebble) Issued() int {
	return strings.Count(p.log.String(), "Issued certificate serial")
}

// Log is Pebble's output so far (for a failing test's message).
func (p *Pebble) Log() string { return p.log.String() }

// Client is an HTTPS client that trusts roots and dials every name at
// 127.0.0.1 (the test names resolve nowhere else).
func Client(roots *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
			},
		},
	}
}

func start(t testing.TB, name string, env []string, out io.Writer, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		// Killed at the end of the test: its exit status says nothing.
		if err := cmd.Process.Kill(); err != nil {
			t.Errorf("stopping %s: %v", name, err)
		}
		_ = cmd.Wait()
	})
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeAPICerts makes the root and the localhost certificate of Pebble's
// own HTTPS (the Debian package ships none).
func writeAPICerts(t testing.TB, dir string) (root, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hearth test: pebble API root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	root, cert, key = filepath.Join(dir, "root.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string][]byte{
		root: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root, cert, key
}

// syncBuffer is a bytes.Buffer safe for the process writing it and the
// test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
