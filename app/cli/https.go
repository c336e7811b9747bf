package cli

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hearth/app/clinic"
	"hearth/app/config"
	"hearth/app/tlsauto"
	"hearth/app/web"
)

// Hearth's own HTTPS (--domain, HEARTH_DOMAIN or the domain setting): the
// wiring between the clinic, the web server's listeners and app/tlsauto.

// httpsDomain is the name to get a certificate for: the flag, or else the
// owner's setting (first-run setup, Settings), which is read at start.
// --tls-cert wins over the setting: the owner's own certificate is used.
func httpsDomain(ctx context.Context, c *config.Config, cl *clinic.Clinic, log *slog.Logger) (string, error) {
	if c.Domain != "" || c.TLS() {
		return c.Domain, nil
	}
	s, err := cl.Settings(ctx)
	if err != nil {
		if errors.Is(err, clinic.ErrLocked) {
			log.Warn("Hearth is locked: the domain setting could not be read, so HTTPS by itself waits for the next start after unlocking (or give --domain)")
			return "", nil
		}
		return "", err
	}
	if s.Domain == "" {
		return "", nil
	}
	if err := config.CheckDomain(s.Domain); err != nil {
		return "", fmt.Errorf("the domain setting: %w", err)
	}
	if !c.AddrSet {
		c.Addr = config.DefaultTLSAddr
	}
	return s.Domain, nil
}

// newAutoTLS prepares the certificate manager for domain: files under the
// data folder on a single node, sealed in the shared store for a clinic
// group; the owner is emailed through the outbox when the certificate
// nears an end that renewal cannot fix. It opens the plain-HTTP listener
// first: when --http-addr cannot be had (port 80 without the capability,
// or taken), Hearth goes on with TLS-ALPN-01 alone and says so, rather than
// not starting. The listener returned (nil then) is for serveACMEHTTP.
func newAutoTLS(c config.Config, domain string, cl *clinic.Clinic, shared bool, log *slog.Logger) (*tlsauto.Manager, net.Listener, error) {
	tlsPort, err := portOf(c.Addr, "--addr")
	if err != nil {
		return nil, nil, err
	}
	httpPort := 0
	var plain net.Listener
	if c.HTTPAddr != "" {
		if httpPort, err = portOf(c.HTTPAddr, "--http-addr"); err != nil {
			return nil, nil, err
		}
		if plain, err = net.Listen("tcp", c.HTTPAddr); err != nil {
			log.Error("HTTPS CERTIFICATE: cannot listen on "+c.HTTPAddr+" for the certificate authority's HTTP check and the redirect to HTTPS; "+
				"only the check on port 443 is used (install.sh --domain allows ports 80 and 443; docs/OPERATIONS.md, HTTPS by itself)", "err", err)
			plain, httpPort = nil, 0
		}
	}
	o := tlsauto.Options{
		Domain: domain, CA: c.ACMECA, CARoot: c.ACMECARoot, Email: c.ACMEEmail, Dir: c.ACMEDir(),
		HTTPPort: httpPort, TLSPort: tlsPort, Log: log, Now: cl.Now,
		Warn: func(ctx context.Context, domain, serial string, expires time.Time, why string) {
			sent, err := cl.MailOwnersCertExpiry(ctx, domain, serial, expires, why)
			switch {
			case err != nil:
				log.Error("HTTPS CERTIFICATE: the owner could not be emailed about the coming expiry", "err", err)
			case sent:
				log.Warn("HTTPS CERTIFICATE: the owner was emailed: the certificate ends soon and renewing it keeps failing", "domain", domain, "expires", expires)
			}
		},
	}
	if shared {
		o.Files = clinicFiles{cl}
	}
	m, err := tlsauto.New(o)
	if err != nil {
		if plain != nil {
			err = errors.Join(err, plain.Close())
		}
		return nil, nil, err
	}
	return m, plain, nil
}

func portOf(addr, flag string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not HOST:PORT", flag, addr)
	}
	n, err := net.LookupPort("tcp", p)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s %q: give a port number (the certificate authority's checks need a fixed port)", flag, addr)
	}
	return n, nil
}

// serveACMEHTTP serves the plain-HTTP listener: the CA's HTTP-01
// challenges, and a redirect to https:// (308) for everything else. It
// answers no page itself, so nothing of a patient's ever crosses it in the
// clear.
func serveACMEHTTP(c config.Config, tcp net.Listener, auto *tlsauto.Manager, log *slog.Logger) *http.Server {
	ln := web.LimitConnsPerIP(tcp, web.MaxConnsPerIP, web.CapExempt(c.TrustedProxies))
	hs := web.NewHTTPServer(auto.HTTPHandler(), web.DefaultTimeouts, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("the plain-HTTP listener stopped: certificate checks over HTTP and the redirect to HTTPS fail until the server restarts", "err", err)
		}
	}()
	return hs
}

// notReadyGate keeps patient pages closed while HTTPS runs on the
// self-signed "not set up yet" certificate: a patient who clicked through
// the browser's warning could be talking to anyone, so they get a short
// page in their language saying to try later or call, and nothing else.
// Staff pages, the staff API, setup, static files and /healthz go on, so
// the owner can see in Settings what is wrong.
func notReadyGate(auto *tlsauto.Manager, cl *clinic.Clinic, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		staff := p == "/healthz" || p == "/favicon.ico" || strings.HasPrefix(p, "/staff") || strings.HasPrefix(p, "/api/") ||
			strings.HasPrefix(p, "/setup/") || strings.HasPrefix(p, "/s/")
		if staff || auto.Ready() {
			next.ServeHTTP(w, r)
			return
		}
		title, body := "HTTPS is not set up yet", "This page is not available yet. Please try again later, or call the clinic."
		lang := "en"
		if words := cl.Words(); words != nil {
			l := words.FromAcceptLanguage(r.Header.Get("Accept-Language"))
			tr := words.Tr(l, nil, cl.Now())
			title, body, lang = tr.T("tls.notready.title"), tr.T("tls.notready.body"), tr.Lang()
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Retry-After", "600")
		w.WriteHeader(http.StatusServiceUnavailable)
		// A write error means the client left; there is no one to tell.
		_, _ = fmt.Fprintf(w, "<!doctype html><html lang=\"%s\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"+
			"<title>%s</title><h1>%s</h1><p>%s</p></html>\n", template.HTMLEscapeString(lang), template.HTMLEscapeString(title),
			template.HTMLEscapeString(title), template.HTMLEscapeString(body))
	})
}

// httpsBase is the address hearth serve announces with a domain.
func httpsBase(domain string, tlsAddr string) string {
	if p, err := portOf(tlsAddr, "--addr"); err == nil && p != 443 {
		return "https://" + net.JoinHostPort(domain, strconv.Itoa(p))
	}
	return "https://" + domain
}

// clinicFiles keeps a clinic group's ACME state sealed in the shared
// store (clinic/certfiles.go) for tlsauto.
type clinicFiles struct{ c *clinic.Clinic }

var _ tlsauto.Files = clinicFiles{}

func (f clinicFiles) Get(ctx context.Context, key string) (tlsauto.File, error) {
	cf, err := f.c.CertFile(ctx, key)
	if clinic.IsNotFound(err) {
		return tlsauto.File{}, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	if errors.Is(err, clinic.ErrLocked) {
		return tlsauto.File{}, errors.New("hearth is locked: the certificate stored in the database cannot be read until it is unlocked")
	}
	if err != nil {
		return tlsauto.File{}, err
	}
	return tlsauto.File{Key: cf.Key, Value: cf.Value, Modified: cf.Modified}, nil
}

func (f clinicFiles) Put(ctx context.Context, key string, value []byte) error {
	return f.c.PutCertFile(ctx, key, value)
}

func (f clinicFiles) List(ctx context.Context, prefix string) ([]tlsauto.File, error) {
	files, err := f.c.CertFiles(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]tlsauto.File, len(files))
	for i, cf := range files {
		out[i] = tlsauto.File{Key: cf.Key, Value: cf.Value, Modified: cf.Modified}
	}
	return out, nil
}

func (f clinicFiles) Delete(ctx context.Context, key string) error {
	return f.c.DeleteCertFiles(ctx, key)
}

func (f clinicFiles) TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	return f.c.TryCertLock(ctx, name, holder, ttl)
}

func (f clinicFiles) Unlock(ctx context.Context, name, holder string) error {
	return f.c.CertUnlock(ctx, name, holder)
}
