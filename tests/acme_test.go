package tests

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hearth/app/tlsauto/pebbletest"
)

const acmeDomain = "portal.maple-clinic.test"

// acmeInstance is a clinic served with --domain against Pebble, on
// loopback ports Pebble checks. Its HTTP client verifies the certificate
// against Pebble's root for the domain's name.
func acmeInstance(t *testing.T, in *instance, p *pebbletest.Pebble, roots *x509.CertPool, tlsPort, httpPort int) {
	in.addr = "127.0.0.1:" + strconv.Itoa(tlsPort)
	in.scheme = "https"
	in.extra = append(in.extra, "--domain", acmeDomain, "--acme-ca", p.Dir, "--acme-ca-root", p.RootFile,
		"--acme-email", "owner@maple.test", "--http-addr", "127.0.0.1:"+strconv.Itoa(httpPort))
	in.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: acmeDomain}}}
}

// serial is the serial of the certificate served at addr for the domain,
// verified against roots.
func serial(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: acmeDomain, RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	s := hex.EncodeToString(conn.ConnectionState().PeerCertificates[0].SerialNumber.Bytes())
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestHTTPSByItself: hearth serve --domain gets its certificate from the
// CA (Pebble) by itself; https://DOMAIN/healthz answers with a chain the
// CA's root verifies (the intermediate sent along), with HSTS; plain HTTP
// redirects to https:// with 308; the owner sees the certificate's state;
// the files are owner-only under the data folder; and a restart serves the
// stored certificate without a new order.
func TestHTTPSByItself(t *testing.T) {
	tp, hp := pebbletest.FreePort(t), pebbletest.FreePort(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hp, TLSPort: tp})
	roots := p.IssuerRoots(t)
	in := newClinic(t)
	acmeInstance(t, in, p, roots, tp, hp)
	in.start() // waits for /healthz over a certificate Pebble's root verifies

	resp, err := pebbletest.Client(roots).Get("https://" + acmeDomain + ":" + strconv.Itoa(tp) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"certificate":"ok"`) {
		t.Fatalf("https://DOMAIN/healthz: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age=31536000") {
		t.Errorf("no HSTS: %q", resp.Header.Get("Strict-Transport-Security"))
	}
	if n := len(resp.TLS.PeerCertificates); n < 2 {
		t.Errorf("the server sent %d certificates: the intermediate is missing", n)
	}
	if len(resp.TLS.VerifiedChains) == 0 || len(resp.TLS.VerifiedChains[0]) != 3 {
		t.Errorf("the chain does not run leaf, intermediate, Pebble's root: %d chains", len(resp.TLS.VerifiedChains))
	}
	scanTLS(t, in.addr)

	// Plain HTTP: everything but a challenge goes to https:// with 308.
	for _, path := range []string{"/", "/staff", "/i/abc?lang=es"} {
		req, err := http.NewRequest("POST", "http://127.0.0.1:"+strconv.Itoa(hp)+path, strings.NewReader("x=1"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := pebbletest.Client(nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		want := "https://" + acmeDomain + ":" + strconv.Itoa(tp) + path
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
			t.Errorf("http %s: %d %q, want 308 %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}

	// The owner sees the certificate.
	owner := in.owner()
	var st struct {
		Certificate struct {
			Domain   string    `json:"domain"`
			State    string    `json:"state"`
			Issuer   string    `json:"issuer"`
			Names    []string  `json:"names"`
			NotAfter time.Time `json:"not_after"`
			Serial   string    `json:"serial"`
		} `json:"certificate"`
	}
	if code := owner.json("GET", "/api/v1/backup/status", nil, &st); code != http.StatusOK {
		t.Fatalf("owner status: %d", code)
	}
	c := st.Certificate
	if c.State != "ok" || c.Domain != acmeDomain || len(c.Names) != 1 || c.Names[0] != acmeDomain || !strings.Contains(c.Issuer, "Pebble") || c.NotAfter.Before(time.Now()) {
		t.Errorf("the certificate as the owner sees it: %+v", c)
	}

	// Owner-only files under DATA/acme.
	acme := filepath.Join(in.data, "acme")
	files := 0
	err = filepath.WalkDir(acme, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if m := info.Mode().Perm(); d.IsDir() && m != 0o700 || !d.IsDir() && m&0o077 != 0 {
			t.Errorf("%s: mode %o", path, m)
		}
		if !d.IsDir() && strings.HasSuffix(path, ".key") {
			files++
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("no private key stored under %s: %v", acme, err)
	}
	if fi, err := os.Stat(in.data); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("the data folder: %v %v", fi.Mode(), err)
	}

	// A restart reuses the stored certificate: no new order.
	first := serial(t, in.addr, roots)
	if n := p.Issued(); n != 1 {
		t.Fatalf("pebble issued %d certificates", n)
	}
	in.stop()
	in.start()
	if again := serial(t, in.addr, roots); again != first || c.Serial != first {
		t.Errorf("after a restart: %s, before %s (owner saw %s)", again, first, c.Serial)
	}
	time.Sleep(500 * time.Millisecond)
	if n := p.Issued(); n != 1 {
		t.Errorf("a restart ordered again: %d issued", n)
	}
}

// TestBadDomainIsRefusedAtStart: an IP address, a name with a port or a
// wildcard stops hearth serve at once, saying why.
func TestBadDomainIsRefusedAtStart(t *testing.T) {
	for bad, why := range map[string]string{"203.0.113.9": "IP address", "portal.example.org:443": "port", "*.example.org": "wildcard"} {
		out, err := hearth(t, "", "serve", "--data", t.TempDir(), "--domain", bad)
		if err == nil || !strings.Contains(out, why) {
			t.Errorf("--domain %q: %v\n%s", bad, err, out)
		}
	}
}

// TestTwoNodesShareOneCertificate: two nodes of a clinic group on one
// PostgreSQL database start together with --domain. One of them orders the
// certificate (the store's lock keeps the other waiting), the CA's check
// reaches node A whichever node ordered (the challenge is in the store),
// and both serve the one certificate: one order in all. The certificate
// and its key are stored sealed, never in either node's data folder.
func TestTwoNodesShareOneCertificate(t *testing.T) {
	a, b, _ := groupClinic(t)
	tpA, hpA, tpB, hpB := pebbletest.FreePort(t), pebbletest.FreePort(t), pebbletest.FreePort(t), pebbletest.FreePort(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hpA, TLSPort: tpA})
	roots := p.IssuerRoots(t)
	acmeInstance(t, a, p, roots, tpA, hpA)
	acmeInstance(t, b, p, roots, tpB, hpB)
	errs := make(chan error, 2)
	go func() { errs <- a.tryStart() }()
	go func() { errs <- b.tryStart() }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	sa, sb := serial(t, a.addr, roots), serial(t, b.addr, roots)
	if sa != sb {
		t.Errorf("node A serves %s, node B %s", sa, sb)
	}
	time.Sleep(500 * time.Millisecond)
	if n := p.Issued(); n != 1 {
		t.Errorf("the group ordered %d certificates", n)
	}
	for _, in := range []*instance{a, b} {
		if _, err := os.Stat(filepath.Join(in.data, "acme")); !os.IsNotExist(err) {
			t.Errorf("node %s keeps certificate files in its data folder: %v", filepath.Base(in.data), err)
		}
	}
	// A node started later loads the stored one too.
	b.stop()
	b.start()
	if s := serial(t, b.addr, roots); s != sa || p.Issued() != 1 {
		t.Errorf("node B after a restart: %s (%d issued)", s, p.Issued())
	}
}

// TestHTTPSSettingsBrowser: in the owner's console (Chromium, over the
// HTTPS Hearth got by itself), Settings shows the certificate: working,
// its name, its issuer, until when; a domain the CA would refuse is said
// beside the field; a good one is saved.
func TestHTTPSSettingsBrowser(t *testing.T) {
	tp, hp := pebbletest.FreePort(t), pebbletest.FreePort(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hp, TLSPort: tp})
	roots := p.IssuerRoots(t)
	in := newClinic(t)
	acmeInstance(t, in, p, roots, tp, hp)
	in.start()
	// Chromium reaches the test name at 127.0.0.1 and accepts Pebble's
	// throwaway root (the Go client above verified the chain).
	b := newBrowserWith(t, in, 90*time.Second,
		chromedp.Flag("host-resolver-rules", "MAP "+acmeDomain+" 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors", true))
	b.base = "https://" + acmeDomain + ":" + strconv.Itoa(tp)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("settings", chromedp.Navigate(b.base+"/staff/#/settings/https"), chromedp.WaitVisible(chromedp.ID("https-domain")))
	b.until("the certificate's state", `(document.getElementById('cert-state') || {}).textContent?.includes('Working')`)
	b.check("its name, issuer and end", `(() => { const t = document.getElementById('cert-state').textContent;
		return t.includes('`+acmeDomain+`') && t.includes('Pebble') && !!document.querySelector('#cert-state time') })()`)
	b.do("a wildcard", clearField("https-domain"), chromedp.SendKeys(chromedp.ID("https-domain"), "*.maple-clinic.test"),
		chromedp.Click(chromedp.ID("https-submit")))
	b.until("said beside the field", `(document.getElementById('https-domain-err') || {}).textContent?.includes('no *')`)
	b.do("a good name", clearField("https-domain"), chromedp.SendKeys(chromedp.ID("https-domain"), "portal2.maple-clinic.test"),
		chromedp.Click(chromedp.ID("https-submit")))
	b.until("saved", `(document.getElementById('https-msg') || {}).textContent?.includes('next start')`)
	owner := in.owner()
	var s struct {
		Domain string `json:"domain"`
	}
	if code := owner.json("GET", "/api/v1/settings", nil, &s); code != 200 || s.Domain != "portal2.maple-clinic.test" {
		t.Errorf("the domain setting: %d %q", code, s.Domain)
	}
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Fatalf("script errors: %q", errs)
	}
}

// TestHTTPSNotSetUpYet: with the certificate authority out of reach and
// port 80 taken, hearth serve --domain still starts: HTTPS runs on the
// self-signed "not set up yet" certificate, patient pages answer only a
// short page in the patient's language (a patient who clicked through the
// browser's warning gets nothing else), staff pages and /healthz work, and
// the owner sees why in plain words.
func TestHTTPSNotSetUpYet(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := taken.Close(); err != nil {
			t.Error(err)
		}
	}()
	in := newClinic(t)
	in.addr = "127.0.0.1:" + strconv.Itoa(pebbletest.FreePort(t))
	in.scheme = "https"
	in.extra = []string{"--domain", acmeDomain, "--acme-ca", "https://127.0.0.1:" + strconv.Itoa(pebbletest.FreePort(t)) + "/dir",
		"--http-addr", taken.Addr().String()}
	in.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	in.start()
	cn := pebbletest.ServedName(t, in.addr, acmeDomain)
	if !strings.Contains(cn, "not set up yet") {
		t.Errorf("served %q", cn)
	}
	for lang, want := range map[string]string{"en": "Not available yet", "es": "Todavía no disponible"} {
		req, err := http.NewRequest("GET", in.base()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", lang)
		resp, err := in.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, want) || strings.Contains(body, "Maple Street") {
			t.Errorf("a patient page (%s) before the certificate: %d %s", lang, resp.StatusCode, body)
		}
	}
	resp, err := in.hc.Get(in.base() + "/staff/")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Errorf("the staff console before the certificate: %d %.300s", resp.StatusCode, body)
	}
	if !strings.Contains(in.log.String(), "cannot listen on "+taken.Addr().String()) {
		t.Errorf("the taken port 80 was not logged")
	}
	owner := in.owner()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Certificate struct {
				State string `json:"state"`
				Code  string `json:"code"`
				Error string `json:"error"`
			} `json:"certificate"`
		}
		if code := owner.json("GET", "/api/v1/backup/status", nil, &st); code != http.StatusOK {
			t.Fatalf("owner status: %d", code)
		}
		c := st.Certificate
		if c.State == "failing" && c.Code == "ca_unreachable" && strings.Contains(c.Error, "internet connection") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the owner's view with the CA out of reach: %+v", c)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDomainSettingTakesEffectAtStart: the domain the owner saves in
// Settings (or at setup) is the one Hearth gets its certificate for at the
// next start, without --domain.
func TestDomainSettingTakesEffectAtStart(t *testing.T) {
	tp, hp := pebbletest.FreePort(t), pebbletest.FreePort(t)
	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: hp, TLSPort: tp})
	roots := p.IssuerRoots(t)
	in := newClinic(t)
	in.start()
	owner := in.owner()
	var s struct {
		Domain string `json:"domain"`
	}
	if code := owner.json("PUT", "/api/v1/settings", map[string]string{"domain": "Portal.Maple-Clinic.test"}, &s); code != http.StatusOK || s.Domain != acmeDomain {
		t.Fatalf("saving the domain: %d %q", code, s.Domain)
	}
	if code, _, err := owner.do("PUT", "/api/v1/settings", map[string]string{"domain": "203.0.113.9"}); err != nil || code != http.StatusBadRequest {
		t.Fatalf("an IP address as the domain: %d %v", code, err)
	}
	in.stop()
	// The same flags but --domain: the setting names the certificate.
	acmeInstance(t, in, p, roots, tp, hp)
	in.extra = slices.DeleteFunc(in.extra, func(a string) bool { return a == "--domain" || a == acmeDomain })
	in.start()
	if serial(t, in.addr, roots) == "" || p.Issued() != 1 {
		t.Fatalf("no certificate for the domain setting (%d issued)", p.Issued())
	}
}
