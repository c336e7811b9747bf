package tlsauto

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hearth/app/tlsauto/pebbletest"
)

const testDomain = "portal.maple-clinic.test"

// site is a Manager serving a real HTTP and HTTPS listener on loopback,
// as hearth serve does.
type site struct {
	m         *Manager
	httpPort  int
	tlsPort   int
	stop      func()
	logOutput *strings.Builder
	// The CA's checks this site answered, by challenge type.
	http01, tlsalpn01 atomic.Int64
}

func startSite(t *testing.T, o Options) *site {
	t.Helper()
	httpLn := listen(t, o.HTTPPort)
	tlsLn := listen(t, o.TLSPort)
	var logs strings.Builder
	o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &site{m: m, httpPort: o.HTTPPort, tlsPort: o.TLSPort, logOutput: &logs}
	h := http.NewServeMux()
	h.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"status":"ok"}`) })
	tc := m.TLSConfig()
	get := tc.GetCertificate
	tc.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if slices.Contains(hello.SupportedProtos, "acme-tls/1") {
			s.tlsalpn01.Add(1)
		}
		return get(hello)
	}
	quiet := log.New(io.Discard, "", 0)
	hs := &http.Server{Handler: h, TLSConfig: tc, ErrorLog: quiet}
	challenges := m.HTTPHandler()
	ps := &http.Server{ErrorLog: quiet, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			s.http01.Add(1)
		}
		challenges.ServeHTTP(w, r)
	})}
	go func() { _ = hs.Serve(tls.NewListener(tlsLn, hs.TLSConfig)) }()
	go func() { _ = ps.Serve(httpLn) }()
	m.Start(ctx)
	s.stop = func() {
		cancel()
		m.Close()
		if err := hs.Close(); err != nil {
			t.Error(err)
		}
		if err := ps.Close(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() {
		if s.stop != nil {
			s.stop()
		}
	})
	return s
}

func (s *site) close() { s.stop(); s.stop = nil }

func listen(t *testing.T, port int) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// servedSerial is the serial of the certificate the site serves, verified
// against roots.
func servedSerial(t *testing.T, port int, roots *x509.CertPool) (string, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), &tls.Config{ServerName: testDomain, RootCAs: roots})
	if err != nil {
		return "", err
	}
	serial := hex.EncodeToString(conn.ConnectionState().PeerCertificates[0].SerialNumber.Bytes())
	return serial, conn.Close()
}

// waitServed waits until the site serves a certificate roots verify other
// than not, and returns its serial.
func waitServed(t *testing.T, s *site, roots *x509.CertPool, not string, within time.Duration, p *pebbletest.Pebble) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		serial, err := servedSerial(t, s.tlsPort, roots)
		if err == nil && serial != not {
			return serial
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new certificate from the CA after %s (last: %v); status %+v\nhearth log:\n%s\npebble log:\n%s", within, err, s.m.Status(), s.logOutput, p.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ports(t *testing.T) (int, int) { return pebbletest.FreePort(t), pebbletest.FreePort(t) }

// checkHealthz fetches https://DOMAIN/healthz verifying the chain.
func checkHealthz(t *testing.T, tlsPort int, roots *x509.CertPool) {
	t.Helper()
	resp, err := pebbletest.Client(roots).Get("https://" + testDomain + ":" + strconv.Itoa(tlsPort) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"ok"`) {
		t.Fatalf("healthz over the CA's certificate: %d %q %v", resp.StatusCode, b, err)
	}
	if len(resp.TLS.VerifiedChains) == 0 || len(resp.TLS.VerifiedChains[0]) < 2 {
		t.Fatalf("no chain to the CA's root: %d chains", len(resp.TLS.VerifiedChains))
	}
}

// TestIssueThroughHTTP01: with only HTTP-01 offered, the certificate comes
// through the plain-HTTP listener's challenge answer; HTTPS then verifies
// against the CA's root, and the stored files are owner-only.
func TestIssueThroughHTTP01(t *testing.T) {
	hp, tp := ports(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hp, TLSPort: tp})
	dir := filepath.Join(t.TempDir(), "acme")
	s := startSite(t, Options{Domain: testDomain, CA: p.Dir, CARoot: p.RootFile, Email: "owner@maple-clinic.test",
		Dir: dir, HTTPPort: hp, TLSPort: tp, NoTLSALPN01: true})
	if st := s.m.Status(); st.State != "obtaining" && st.State != "ok" {
		t.Fatalf("status before the certificate: %+v", st)
	}
	roots := p.IssuerRoots(t)
	waitServed(t, s, roots, "", 30*time.Second, p)
	checkHealthz(t, tp, roots)
	if n, m := s.http01.Load(), s.tlsalpn01.Load(); n == 0 || m != 0 {
		t.Errorf("the CA's checks answered: http-01 %d, tls-alpn-01 %d; want only http-01", n, m)
	}
	st := s.m.Status()
	if st.State != "ok" || st.NotAfter == nil || len(st.Names) != 1 || st.Names[0] != testDomain || st.Issuer == "" || st.Error != "" {
		t.Errorf("status after issuance: %+v", st)
	}
	ownerOnly(t, dir)
}

// TestIssueThroughTLSALPN01: with only TLS-ALPN-01 offered, the HTTPS
// listener itself answers the challenge (no plain-HTTP port at all).
func TestIssueThroughTLSALPN01(t *testing.T) {
	hp, tp := ports(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hp, TLSPort: tp})
	s := startSite(t, Options{Domain: testDomain, CA: p.Dir, CARoot: p.RootFile, Dir: filepath.Join(t.TempDir(), "acme"),
		HTTPPort: hp, TLSPort: tp, NoHTTP01: true})
	roots := p.IssuerRoots(t)
	waitServed(t, s, roots, "", 30*time.Second, p)
	checkHealthz(t, tp, roots)
	if n, m := s.tlsalpn01.Load(), s.http01.Load(); n == 0 || m != 0 {
		t.Errorf("the CA's checks answered: tls-alpn-01 %d, http-01 %d; want only tls-alpn-01", n, m)
	}
}

// TestRestartReusesTheCertificate: a second start on the same folder
// serves the stored certificate and places no new order.
func TestRestartReusesTheCertificate(t *testing.T) {
	hp, tp := ports(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hp, TLSPort: tp})
	dir := filepath.Join(t.TempDir(), "acme")
	o := Options{Domain: testDomain, CA: p.Dir, CARoot: p.RootFile, Dir: dir, HTTPPort: hp, TLSPort: tp}
	s := startSite(t, o)
	roots := p.IssuerRoots(t)
	first := waitServed(t, s, roots, "", 30*time.Second, p)
	s.close()
	issued := p.Issued()
	if issued != 1 {
		t.Fatalf("pebble issued %d certificates for one start", issued)
	}
	s = startSite(t, o)
	again := waitServed(t, s, roots, "", 10*time.Second, p)
	if again != first {
		t.Errorf("after a restart: serial %s, want the stored %s", again, first)
	}
	time.Sleep(time.Second) // an order would have begun by now
	if p.Issued() != issued {
		t.Errorf("a restart placed a new order: %d issued", p.Issued())
	}
}

// TestRenewalBeforeExpiry: a certificate that enters its renewal window is
// replaced without a restart; the new one is served.
func TestRenewalBeforeExpiry(t *testing.T) {
	hp, tp := ports(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hp, TLSPort: tp, Validity: 20 * time.Second})
	s := startSite(t, Options{Domain: testDomain, CA: p.Dir, CARoot: p.RootFile, Dir: filepath.Join(t.TempDir(), "acme"),
		HTTPPort: hp, TLSPort: tp, RenewWindow: 0.75, CheckEvery: time.Second})
	roots := p.IssuerRoots(t)
	first := waitServed(t, s, roots, "", 30*time.Second, p)
	renewed := waitServed(t, s, roots, first, 30*time.Second, p)
	if renewed == first || p.Issued() < 2 {
		t.Fatalf("not renewed: %s, %d issued", renewed, p.Issued())
	}
	if st := s.m.Status(); st.Serial != renewed || st.LastSuccess == nil {
		t.Errorf("status after renewal: %+v", st)
	}
}

// TestRedirectsToHTTPS: plain HTTP answers everything but a challenge with
// 308 to https://DOMAIN, keeping the path and query; a forged Host does
// not steer it.
func TestRedirectsToHTTPS(t *testing.T) {
	m, err := New(Options{Domain: testDomain, Dir: filepath.Join(t.TempDir(), "acme"), HTTPPort: 8080, TLSPort: 8443})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := &http.Server{Handler: m.HTTPHandler()}
	ln := listen(t, 0)
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	c := pebbletest.Client(nil)
	for _, method := range []string{"GET", "POST"} {
		req, err := http.NewRequest(method, "http://"+ln.Addr().String()+"/i/abc?x=1", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "evil.example"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://"+testDomain+":8443/i/abc?x=1" {
			t.Errorf("%s: %d %q", method, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// TestNotSetUpYet: until the CA's certificate exists, HTTPS is served with
// a self-signed certificate that says so, and the status says why.
func TestNotSetUpYet(t *testing.T) {
	_, tp := ports(t)
	// A CA that is not there: the order fails, the site still answers.
	s := startSite(t, Options{Domain: testDomain, CA: "https://127.0.0.1:" + strconv.Itoa(pebbletest.FreePort(t)) + "/dir",
		Dir: filepath.Join(t.TempDir(), "acme"), TLSPort: tp})
	cn := pebbletest.ServedName(t, "127.0.0.1:"+strconv.Itoa(tp), testDomain)
	if !strings.Contains(cn, "not set up yet") {
		t.Errorf("served %q before any certificate", cn)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.m.Status().State != "failing" {
		if time.Now().After(deadline) {
			t.Fatalf("status with the CA down: %+v", s.m.Status())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := s.m.Status(); st.Code != CodeCAUnreachable || !strings.Contains(st.Error, "internet connection") {
		t.Errorf("status with the CA down: %+v", st)
	}
}

func ownerOnly(t *testing.T, dir string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode().Perm()
		if d.IsDir() && mode != 0o700 || !d.IsDir() && mode&0o077 != 0 {
			t.Errorf("%s has mode %o", p, mode)
		}
		if !d.IsDir() {
			files++
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if files < 3 {
		t.Errorf("only %d files stored under %s", files, dir)
	}
}

// TestOwnerWarnedBeforeAnExpiryRenewalCannotFix: while the certificate
// ends within WarnBefore and the last renewal attempt failed, Warn is
// called with the certificate's serial, its end and the reason in plain
// words, at most hourly; while renewal works, it is not called.
func TestOwnerWarnedBeforeAnExpiryRenewalCannotFix(t *testing.T) {
	hp, tp := ports(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hp, TLSPort: tp})
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	type warning struct {
		serial, why string
		expires     time.Time
	}
	warned := make(chan warning, 4)
	s := startSite(t, Options{Domain: testDomain, CA: p.Dir, CARoot: p.RootFile, Dir: filepath.Join(t.TempDir(), "acme"),
		HTTPPort: hp, TLSPort: tp, Now: func() time.Time { return *now.Load() },
		Warn: func(_ context.Context, domain, serial string, expires time.Time, why string) {
			warned <- warning{serial, why, expires}
		}})
	roots := p.IssuerRoots(t)
	serial := waitServed(t, s, roots, "", 30*time.Second, p)
	ctx := context.Background()
	st := s.m.Status()
	// Ten days before the end, renewal working: no warning.
	later := st.NotAfter.Add(-10 * 24 * time.Hour)
	now.Store(&later)
	s.m.checkExpiry(ctx)
	if len(warned) != 0 || s.m.Status().State != "ok" {
		t.Fatalf("warned while renewal works: %+v", s.m.Status())
	}
	// Renewal fails: the CA cannot reach port 80.
	s.m.failed(acmeConnectionProblem())
	if st := s.m.Status(); st.State != "expiring" || st.Code != CodePortClosed {
		t.Fatalf("status: %+v", st)
	}
	s.m.checkExpiry(ctx)
	s.m.checkExpiry(ctx) // within the hour: not again
	if len(warned) != 1 {
		t.Fatalf("%d warnings", len(warned))
	}
	w := <-warned
	if w.serial != serial || !w.expires.Equal(*st.NotAfter) || !strings.Contains(w.why, "port 80 is not reachable from the internet: check the router's port forwarding") {
		t.Errorf("warning: %+v", w)
	}
	// Twenty days before the end, failing: not yet.
	earlier := st.NotAfter.Add(-20 * 24 * time.Hour)
	now.Store(&earlier)
	if st := s.m.Status(); st.State != "failing" {
		t.Errorf("twenty days before the end: %+v", st)
	}
}
