package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ErrBadDomain is what CheckDomain's errors wrap.
var ErrBadDomain = errors.New("config: bad domain")

// CheckDomain accepts the one internet name Hearth gets its own HTTPS
// certificate for (--domain, HEARTH_DOMAIN, the domain setting): a DNS name
// of at least two labels, letters, digits and hyphens. An ACME CA issues
// for nothing else, so an IP address, a name with a port, a wildcard, a URL
// or a single-label name is refused at start with the reason, instead of
// failing later at the CA. The empty string (no domain) is accepted.
func CheckDomain(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: --domain %q %s", ErrBadDomain, name, why) }
	switch {
	case name == "":
		return nil
	case strings.Contains(name, "://") || strings.Contains(name, "/"):
		return bad("is a web address; give only the name, like portal.maple-clinic.com")
	case strings.Contains(name, "*"):
		return bad("is a wildcard; give the one name patients type, like portal.maple-clinic.com")
	}
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return bad("is an IP address; a certificate authority issues certificates for names: give the name that points at this office, like portal.maple-clinic.com")
	}
	if _, _, err := net.SplitHostPort(name); err == nil || strings.Contains(name, ":") {
		return bad("has a port; give the name alone (HTTPS is served on --addr, challenges on --http-addr)")
	}
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	if len(n) > 253 {
		return bad("is longer than 253 characters")
	}
	labels := strings.Split(n, ".")
	if len(labels) < 2 {
		return bad("is a single word; give the full internet name, like portal.maple-clinic.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad("is not a valid internet name")
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return bad("is not a valid internet name (letters, digits, hyphens and dots only)")
			}
		}
	}
	if _, err := netip.ParseAddr(n); err == nil || isAllDigits(labels[len(labels)-1]) {
		return bad("is not a valid internet name")
	}
	return nil
}

func isAllDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// NormalDomain is name as CheckDomain reads it: lower case, no final dot.
func NormalDomain(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}
