// Package tlsauto gives Hearth its own HTTPS certificate: it gets one for
// the clinic's domain from an ACME certificate authority (Let's Encrypt by
// default), renews it well before it ends, and serves it, with
// github.com/caddyserver/certmagic doing the ACME work. The CA's HTTP-01
// challenge is answered on the plain-HTTP listener (HTTPHandler, which
// redirects everything else to https://) and its TLS-ALPN-01 challenge on
// the HTTPS listener itself (TLSConfig).
//
// Certificates, their keys and the ACME account live under the data folder
// with owner-only modes on a single node, or, for a clinic group, sealed in
// the shared store (Files), so that the nodes share one certificate and
// order it once. Restarts reuse what is stored: a new order is placed only
// when there is no certificate or it is due for renewal, and failures are
// retried with certmagic's backoff, so the CA's rate limits are respected.
//
// What the owner sees (Status) says what is wrong in plain words. Until a
// certificate exists, HTTPS is served with a self-signed one that says so.
//
// This package must never hold PHI: it handles names, keys and
// certificates, and logs nothing else. It knows nothing of the clinic or of
// HTTP routes beyond the challenge path.
package tlsauto

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"

	"hearth/app/config"
)

// LetsEncrypt is the default CA's ACME directory.
const LetsEncrypt = certmagic.LetsEncryptProductionCA

// WarnBefore is how long before an expiry that renewal cannot fix the
// owner is emailed.
const WarnBefore = 14 * 24 * time.Hour

// Options configure a Manager.
type Options struct {
	// Domain is the one name to get a certificate for (config.CheckDomain).
	Domain string
	// CA is the ACME directory URL; "" for Let's Encrypt.
	CA string
	// CARoot is a PEM file of roots to trust for the CA's own HTTPS (a
	// private or test CA); "" trusts the system's roots.
	CARoot string
	// Email is the ACME account's contact; "" for none.
	Email string
	// Dir is where a single node keeps its files (owner-only); used when
	// Files is nil.
	Dir string
	// Files, for a clinic group, keeps the files sealed in the shared store.
	Files Files
	// HTTPPort and TLSPort are the ports Hearth's own listeners answer
	// challenges on (--http-addr and --addr); certmagic then never opens
	// listeners of its own.
	HTTPPort, TLSPort int
	// NoHTTP01 and NoTLSALPN01 turn a challenge type off (HTTP-01 is off
	// anyway without an HTTP listener, HTTPPort 0).
	NoHTTP01, NoTLSALPN01 bool
	// RenewWindow is the share of a certificate's lifetime, counted back
	// from its end, in which it is renewed; 0 for certmagic's (a third).
	RenewWindow float64
	// CheckEvery is how often stored certificates are looked at for
	// renewal; 0 for certmagic's (ten minutes).
	CheckEvery time.Duration
	// Warn is called (at most hourly) while the certificate ends within
	// WarnBefore and the last renewal attempt failed; the wiring emails the
	// owner once per certificate.
	Warn func(ctx context.Context, domain, serial string, expires time.Time, why string)
	Log  *slog.Logger
	Now  func() time.Time
}

// Status is the certificate's state as the owner sees it.
type Status struct {
	Domain string `json:"domain"`
	// State: "ok", "obtaining" (no certificate yet, working on it),
	// "failing" (no certificate, or renewal failing), "expiring" (ends
	// within WarnBefore and renewal failing).
	State       string     `json:"state"`
	Issuer      string     `json:"issuer,omitempty"`
	Names       []string   `json:"names,omitempty"`
	Serial      string     `json:"serial,omitempty"`
	NotAfter    *time.Time `json:"not_after,omitempty"`
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	// Code and Error are the last attempt's failure: a stable code and
	// plain words saying what to do.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// HealthState is the state alone, for /healthz.
func (s Status) HealthState() string { return s.State }

// Manager gets, renews and serves the domain's certificate.
type Manager struct {
	o        Options
	log      *slog.Logger
	cache    *certmagic.Cache
	cfg      *certmagic.Config
	issuer   *certmagic.ACMEIssuer
	fallback *tls.Certificate

	mu          sync.Mutex
	lastAttempt time.Time
	lastSuccess time.Time
	lastErr     error
	lastWarned  time.Time
}

// New prepares a Manager; Start begins the work.
func New(o Options) (*Manager, error) {
	if err := config.CheckDomain(o.Domain); err != nil || o.Domain == "" {
		if err == nil {
			err = fmt.Errorf("%w: no domain given", config.ErrBadDomain)
		}
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Manager{o: o, log: o.Log}
	var storage certmagic.Storage
	if o.Files != nil {
		storage = newStoreStorage(o.Files)
	} else {
		if err := privateDir(o.Dir); err != nil {
			return nil, err
		}
		storage = &certmagic.FileStorage{Path: o.Dir}
	}
	var roots *x509.CertPool
	if o.CARoot != "" {
		pem, err := os.ReadFile(o.CARoot)
		if err != nil {
			return nil, fmt.Errorf("tlsauto: --acme-ca-root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsauto: --acme-ca-root %s holds no PEM certificate", o.CARoot)
		}
	}
	zl := newZapLogger(o.Log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.cfg, nil },
		RenewCheckInterval: o.CheckEvery,
		Logger:             zl,
	})
	m.cfg = certmagic.New(m.cache, certmagic.Config{
		Storage:            storage,
		RenewalWindowRatio: o.RenewWindow,
		OnEvent:            m.onEvent,
		Logger:             zl,
	})
	ca := o.CA
	if ca == "" {
		ca = LetsEncrypt
	}
	m.issuer = certmagic.NewACMEIssuer(m.cfg, certmagic.ACMEIssuer{
		CA:                      ca,
		Email:                   o.Email,
		Agreed:                  true,
		TrustedRoots:            roots,
		DisableHTTPChallenge:    o.NoHTTP01 || o.HTTPPort == 0,
		DisableTLSALPNChallenge: o.NoTLSALPN01,
		AltHTTPPort:             o.HTTPPort,
		AltTLSALPNPort:          o.TLSPort,
		Logger:                  zl,
	})
	m.cfg.Issuers = []certmagic.Issuer{m.issuer}
	fb, err := selfSigned(o.Domain)
	if err != nil {
		m.cache.Stop()
		return nil, err
	}
	m.fallback = fb
	return m, nil
}

// privateDir makes dir (and its parent) owner-only.
func privateDir(dir string) error {
	if dir == "" {
		return errors.New("tlsauto: no folder for the certificates")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tlsauto: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("tlsauto: %w", err)
	}
	return nil
}

// Start begins getting or loading the certificate and keeps it renewed
// until ctx ends or Close. It returns at once: a failure is retried with
// backoff and shows in Status.
func (m *Manager) Start(ctx context.Context) {
	go m.run(ctx)
}

func (m *Manager) run(ctx context.Context) {
	wait := 15 * time.Second
	for {
		err := m.cfg.ManageAsync(ctx, []string{m.o.Domain})
		if err == nil {
			break
		}
		// The stored certificate could not be read (a locked vault, a
		// database away): nothing is ordered, since one may exist.
		m.failed(err)
		if !sleep(ctx, wait) {
			return
		}
		wait = min(2*wait, 10*time.Minute)
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		m.checkExpiry(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Close stops renewals.
func (m *Manager) Close() { m.cache.Stop() }

// Domain is the managed name.
func (m *Manager) Domain() string { return m.o.Domain }

func (m *Manager) onEvent(_ context.Context, event string, data map[string]any) error {
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	switch event {
	case "cert_obtaining":
		m.lastAttempt = now
	case "cert_obtained":
		m.lastSuccess, m.lastErr = now, nil
		renewal, _ := data["renewal"].(bool)
		m.log.Info("HTTPS certificate obtained", "domain", m.o.Domain, "renewal", renewal)
	case "cert_failed":
		err, _ := data["error"].(error)
		if err == nil {
			err = errors.New("the certificate authority gave no reason")
		}
		m.lastErr = err
		code, words := Explain(err, m.o.Domain, m.o.HTTPPort, m.o.TLSPort)
		m.log.Error("HTTPS CERTIFICATE: "+words, "domain", m.o.Domain, "code", code, "err", err)
	}
	return nil
}

func (m *Manager) failed(err error) {
	m.mu.Lock()
	m.lastAttempt, m.lastErr = m.o.Now(), err
	m.mu.Unlock()
	code, words := Explain(err, m.o.Domain, m.o.HTTPPort, m.o.TLSPort)
	m.log.Error("HTTPS CERTIFICATE: "+words, "domain", m.o.Domain, "code", code, "err", err)
}

// current is the newest certificate held for the domain.
func (m *Manager) current() (*x509.Certificate, bool) {
	var leaf *x509.Certificate
	for _, c := range m.cache.AllMatchingCertificates(m.o.Domain) {
		l := c.Leaf
		if l == nil && len(c.Certificate.Certificate) > 0 {
			var err error
			if l, err = x509.ParseCertificate(c.Certificate.Certificate[0]); err != nil {
				continue
			}
		}
		if l != nil && (leaf == nil || l.NotAfter.After(leaf.NotAfter)) {
			leaf = l
		}
	}
	return leaf, leaf != nil
}

// Ready reports whether a certificate from the CA is being served.
func (m *Manager) Ready() bool {
	_, ok := m.current()
	return ok
}

// Status is the certificate's state now.
func (m *Manager) Status() Status {
	s := Status{Domain: m.o.Domain, State: "ok"}
	m.mu.Lock()
	lastAttempt, lastSuccess, lastErr := m.lastAttempt, m.lastSuccess, m.lastErr
	m.mu.Unlock()
	if !lastAttempt.IsZero() {
		s.LastAttempt = &lastAttempt
	}
	if !lastSuccess.IsZero() {
		s.LastSuccess = &lastSuccess
	}
	if lastErr != nil {
		s.Code, s.Error = Explain(lastErr, m.o.Domain, m.o.HTTPPort, m.o.TLSPort)
	}
	leaf, ok := m.current()
	now := m.o.Now()
	switch {
	case !ok && lastErr == nil:
		s.State = "obtaining"
	case !ok:
		s.State = "failing"
	case lastErr != nil && leaf.NotAfter.Sub(now) < WarnBefore:
		s.State = "expiring"
	case lastErr != nil:
		s.State = "failing"
	}
	if ok {
		na := leaf.NotAfter
		s.NotAfter = &na
		// "Let's Encrypt (R11)": the organisation the owner knows, with
		// the intermediate's name a support person asks for.
		s.Issuer = leaf.Issuer.CommonName
		if len(leaf.Issuer.Organization) > 0 {
			s.Issuer = leaf.Issuer.Organization[0]
			if cn := leaf.Issuer.CommonName; cn != "" && cn != s.Issuer {
				s.Issuer += " (" + cn + ")"
			}
		}
		s.Names = slices.Clone(leaf.DNSNames)
		s.Serial = hex.EncodeToString(leaf.SerialNumber.Bytes())
	}
	return s
}

// checkExpiry calls Warn when the certificate is close to its end and
// renewal keeps failing.
func (m *Manager) checkExpiry(ctx context.Context) {
	st := m.Status()
	if st.State != "expiring" || m.o.Warn == nil {
		return
	}
	m.mu.Lock()
	due := m.o.Now().Sub(m.lastWarned) >= time.Hour
	if due {
		m.lastWarned = m.o.Now()
	}
	m.mu.Unlock()
	if due {
		m.o.Warn(ctx, m.o.Domain, st.Serial, *st.NotAfter, st.Error)
	}
}

// TLSConfig is the HTTPS listener's configuration: TLS 1.2 and later,
// the managed certificate (or, until there is one, the self-signed "not set
// up yet" certificate), and the TLS-ALPN-01 challenge.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1", acmez.ACMETLS1Protocol},
		GetCertificate: m.getCertificate,
	}
}

func (m *Manager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := m.cfg.GetCertificate(hello)
	if err == nil {
		return cert, nil
	}
	if slices.Contains(hello.SupportedProtos, acmez.ACMETLS1Protocol) {
		return nil, err // a CA's challenge gets the truth
	}
	return m.fallback, nil
}

// HTTPHandler answers the CA's HTTP-01 challenges and redirects every
// other request to https://DOMAIN (with the HTTPS port when it is not 443),
// with 308 so that a method and body are kept. The redirect names the
// domain, never the request's Host, so it cannot be steered elsewhere.
func (m *Manager) HTTPHandler() http.Handler {
	host := m.o.Domain
	if m.o.TLSPort != 0 && m.o.TLSPort != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(m.o.TLSPort))
	}
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
	return m.issuer.HTTPChallengeHandler(redirect)
}

// selfSigned makes the certificate served until the CA's arrives: it says
// in its name that HTTPS is not set up yet.
func selfSigned(domain string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlsauto: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, fmt.Errorf("tlsauto: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial,
		Subject:   pkix.Name{CommonName: "Hearth: HTTPS is not set up yet", Organization: []string{"Hearth (self-signed, not set up yet)"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		DNSNames: []string{domain}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("tlsauto: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tlsauto: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
