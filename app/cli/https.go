package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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
// nears an end that renewal cannot fix.
func newAutoTLS(c config.Config, domain string, cl *clinic.Clinic, shared bool, log *slog.Logger) (*tlsauto.Manager, error) {
	tlsPort, err := portOf(c.Addr, "--addr")
	if err != nil {
		return nil, err
	}
	httpPort := 0
	if c.HTTPAddr != "" {
		if httpPort, err = portOf(c.HTTPAddr, "--http-addr"); err != nil {
			return nil, err
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
	return tlsauto.New(o)
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

// serveACMEHTTP listens on --http-addr for the CA's HTTP-01 challenges
// and redirects everything else to https:// (308). It answers no page
// itself, so nothing of a patient's ever crosses it in the clear.
func serveACMEHTTP(c config.Config, auto *tlsauto.Manager, log *slog.Logger) (*http.Server, error) {
	if c.HTTPAddr == "" {
		return nil, nil
	}
	tcp, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s for the certificate authority's checks and the redirect to HTTPS: %w", c.HTTPAddr, err)
	}
	ln := web.LimitConnsPerIP(tcp, web.MaxConnsPerIP, web.CapExempt(c.TrustedProxies))
	hs := web.NewHTTPServer(auto.HTTPHandler(), web.DefaultTimeouts, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("the plain-HTTP listener stopped: certificate checks over HTTP and the redirect to HTTPS fail until the server restarts", "err", err)
		}
	}()
	return hs, nil
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
