package tlsauto

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"syscall"

	"github.com/mholt/acmez/v3/acme"
)

// The codes Explain gives (Status.Code), each with its plain words.
const (
	CodePortClosed    = "port_closed"   // the CA could not connect to port 80 or 443
	CodeWrongMachine  = "wrong_machine" // the CA reached something else
	CodeDNS           = "dns"           // the name does not resolve
	CodeRateLimited   = "rate_limited"  // the CA asks us to wait
	CodeCAUnreachable = "ca_unreachable"
	CodeCADown        = "ca_down"
	CodeClock         = "clock"
	CodeDiskFull      = "disk_full"
	CodeLocked        = "locked"
	CodeRefused       = "refused" // the CA refuses to issue for this name
	CodeOther         = "other"
)

// Explain says what went wrong with getting or renewing the certificate,
// in words for the clinic's owner, with a stable code. The CA's checks go
// to ports 80 (HTTP-01) and 443 (TLS-ALPN-01) on the internet side,
// whatever ports Hearth listens on behind the router.
func Explain(err error, domain string, httpPort, tlsPort int) (string, string) {
	var p acme.Problem
	if errors.As(err, &p) {
		return explainProblem(p, domain)
	}
	msg := strings.ToLower(err.Error())
	var ue x509.UnknownAuthorityError
	var ce x509.CertificateInvalidError
	switch {
	case errors.Is(err, syscall.ENOSPC) || strings.Contains(msg, "no space left on device"):
		return CodeDiskFull, "the disk is full, so the certificate cannot be saved: free some space on the disk that holds Hearth's data folder"
	case strings.Contains(msg, "locked"):
		return CodeLocked, "Hearth is locked, so the stored certificate cannot be read: unlock Hearth in the staff console"
	case errors.As(err, &ce) && ce.Reason == x509.Expired:
		return CodeClock, "this computer's clock looks wrong (the certificate authority's certificate seems expired or not yet valid): set the date and time, and turn on automatic time"
	case errors.As(err, &ue):
		return CodeCAUnreachable, "the certificate authority's own certificate is not trusted: check --acme-ca and --acme-ca-root"
	}
	var ne net.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) || errors.As(err, &ne) || strings.Contains(msg, "connection refused") {
		return CodeCAUnreachable, "the certificate authority cannot be reached: check this computer's internet connection (Hearth keeps trying)"
	}
	if errors.Is(err, fs.ErrPermission) {
		return CodeOther, "the certificate cannot be saved: Hearth may not write its data folder (check the folder's owner)"
	}
	return CodeOther, fmt.Sprintf("the certificate could not be obtained (%s); Hearth keeps trying", firstLine(err.Error()))
}

func explainProblem(p acme.Problem, domain string) (string, string) {
	port := "80"
	if c, ok := failedChallenge(p); ok && c == acme.ChallengeTypeTLSALPN01 {
		port = "443"
	}
	t := p.Type
	for _, sp := range p.Subproblems {
		if t == "" || t == acme.ProblemTypeCompound {
			t = sp.Type
		}
	}
	switch t {
	case acme.ProblemTypeConnection:
		return CodePortClosed, "port " + port + " is not reachable from the internet: check the router's port forwarding (ports 80 and 443 to this computer) and any firewall"
	case acme.ProblemTypeUnauthorized, acme.ProblemTypeIncorrectResponse, acme.ProblemTypeTLS:
		return CodeWrongMachine, "the certificate authority reached another machine, not this Hearth, at " + domain + ": check that the name's DNS record points at this office's internet address and that the router forwards ports 80 and 443 to this computer"
	case acme.ProblemTypeDNS:
		return CodeDNS, "the name " + domain + " does not resolve on the internet: add a DNS record (A) for it pointing at this office's internet address"
	case acme.ProblemTypeRateLimited:
		return CodeRateLimited, "the certificate authority asks Hearth to wait (rate limit): nothing to do, Hearth tries again later by itself"
	case acme.ProblemTypeServerInternal:
		return CodeCADown, "the certificate authority is having trouble: nothing to do, Hearth tries again later by itself"
	case acme.ProblemTypeRejectedIdentifier, acme.ProblemTypeCAA, acme.ProblemTypeUnsupportedIdentifier:
		return CodeRefused, "the certificate authority will not issue a certificate for " + domain + ": check the name (and any CAA record in its DNS)"
	}
	return CodeOther, "the certificate authority said: " + firstLine(p.Detail) + " (Hearth keeps trying)"
}

// failedChallenge names the challenge type a failed authorization tried.
func failedChallenge(p acme.Problem) (string, bool) {
	authz, ok := p.Resource.(acme.Authorization)
	if !ok {
		return "", false
	}
	for _, c := range authz.Challenges {
		if c.Status == acme.StatusInvalid {
			return c.Type, true
		}
	}
	return "", false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
