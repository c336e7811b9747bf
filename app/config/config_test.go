package config

import (
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestNetworkFlags: --trusted-proxy and --staff-from take a list of
// networks or single addresses, from the flag or the environment (the flag
// wins); without them nothing is trusted or limited; a mistake is refused
// at start with the flag's name.
func TestNetworkFlags(t *testing.T) {
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	c, err := Parse("serve", nil, Flags{Network: true}, env(nil), io.Discard)
	if err != nil || c.TrustedProxies != nil || c.StaffFrom != nil {
		t.Fatalf("defaults: %v %v %v", c.TrustedProxies, c.StaffFrom, err)
	}
	c, err = Parse("serve", []string{"--trusted-proxy", "127.0.0.1, 10.0.0.0/8", "--staff-from=192.168.1.7/24,::1"}, Flags{Network: true}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.TrustedProxies, []netip.Prefix{p("127.0.0.1/32"), p("10.0.0.0/8")}) {
		t.Errorf("trusted proxies: %v", c.TrustedProxies)
	}
	if !slices.Equal(c.StaffFrom, []netip.Prefix{p("192.168.1.0/24"), p("::1/128")}) {
		t.Errorf("staff from: %v", c.StaffFrom)
	}
	e := env(map[string]string{"HEARTH_TRUSTED_PROXY": "172.16.0.0/12", "HEARTH_STAFF_FROM": "192.168.0.0/16"})
	c, err = Parse("serve", nil, Flags{Network: true}, e, io.Discard)
	if err != nil || !slices.Equal(c.TrustedProxies, []netip.Prefix{p("172.16.0.0/12")}) || !slices.Equal(c.StaffFrom, []netip.Prefix{p("192.168.0.0/16")}) {
		t.Fatalf("from the environment: %v %v %v", c.TrustedProxies, c.StaffFrom, err)
	}
	c, err = Parse("serve", []string{"--staff-from", "10.1.0.0/16"}, Flags{Network: true}, e, io.Discard)
	if err != nil || !slices.Equal(c.StaffFrom, []netip.Prefix{p("10.1.0.0/16")}) {
		t.Fatalf("the flag over the environment: %v %v", c.StaffFrom, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.local", "10.0.0"} {
		if _, err := Parse("serve", []string{"--trusted-proxy", bad}, Flags{Network: true}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--trusted-proxy") {
			t.Errorf("--trusted-proxy %q: %v", bad, err)
		}
	}
	// Commands that serve nothing do not take them.
	if _, err := Parse("backup", []string{"--staff-from", "10.0.0.0/8"}, Flags{Store: true}, env(nil), io.Discard); err == nil {
		t.Error("backup took --staff-from")
	}
}

// TestDomainFlag: --domain (or HEARTH_DOMAIN) takes one internet name and
// moves the listener to :443 unless --addr was given; an IP address, a
// name with a port, a wildcard, a URL or a single word is refused at start
// with the reason; --domain and --tls-cert do not go together.
func TestDomainFlag(t *testing.T) {
	acme := Flags{Addr: true, TLS: true, ACME: true}
	c, err := Parse("serve", []string{"--domain", "Portal.Maple-Clinic.com."}, acme, env(nil), io.Discard)
	if err != nil || c.Domain != "portal.maple-clinic.com" || c.Addr != DefaultTLSAddr || c.HTTPAddr != DefaultHTTPAddr {
		t.Fatalf("--domain: %+v %v", c, err)
	}
	c, err = Parse("serve", []string{"--addr", "0.0.0.0:8443", "--http-addr", ":8080"}, acme, env(map[string]string{"HEARTH_DOMAIN": "portal.example.org"}), io.Discard)
	if err != nil || c.Domain != "portal.example.org" || c.Addr != "0.0.0.0:8443" || c.HTTPAddr != ":8080" {
		t.Fatalf("HEARTH_DOMAIN with --addr: %+v %v", c, err)
	}
	c, err = Parse("serve", nil, acme, env(nil), io.Discard)
	if err != nil || c.Domain != "" || c.Addr != DefaultAddr {
		t.Fatalf("no domain: %+v %v", c, err)
	}
	for bad, why := range map[string]string{
		"192.0.2.7":                  "IP address",
		"2001:db8::1":                "IP address",
		"portal.example.org:443":     "port",
		"*.example.org":              "wildcard",
		"https://portal.example.org": "web address",
		"portal":                     "single word",
		"por_tal.example.org":        "not a valid internet name",
		"-x.example.org":             "not a valid internet name",
	} {
		_, err := Parse("serve", []string{"--domain", bad}, acme, env(nil), io.Discard)
		if !errors.Is(err, ErrBadDomain) || !strings.Contains(err.Error(), why) {
			t.Errorf("--domain %q: %v (want %q)", bad, err, why)
		}
	}
	if _, err := Parse("serve", []string{"--domain", "portal.example.org", "--tls-cert", "c", "--tls-key", "k"}, acme, env(nil), io.Discard); err == nil {
		t.Error("--domain with --tls-cert was taken")
	}
	if _, err := Parse("serve", []string{"--domain", "portal.example.org", "--acme-ca", "http://ca.example/dir"}, acme, env(nil), io.Discard); err == nil {
		t.Error("a plain-http --acme-ca was taken")
	}
}
