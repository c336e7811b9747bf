// Package config reads Hearth's start-up configuration: command-line flags,
// with the environment variables HEARTH_DATA, HEARTH_ADDR, HEARTH_STORE,
// HEARTH_TRUSTED_PROXY, HEARTH_STAFF_FROM and HEARTH_DOMAIN as defaults. What the owner edits in the browser (clinic name, hours, backup
// folder...) is not here: it is a settings record in the store.
//
// Configuration is passed in, never kept in package variables.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
)

// Defaults.
const (
	DefaultData = "hearth-data"
	DefaultAddr = "127.0.0.1:8080"
)

// Config is what a command needs to find and serve a clinic's data.
type Config struct {
	Data    string // data folder: hearth.db, keys/, control.sock
	Addr    string // listen address, HOST:PORT
	TLSCert string // PEM certificate file (HTTPS when set with TLSKey)
	TLSKey  string
	Store   string // "" for bbolt in Data; postgres://... for a clinic group
	// TrustedProxies are the networks whose X-Forwarded-For and Forwarded
	// headers are believed (the HTTPS proxy in front of Hearth); empty:
	// no header is believed and the client is the connection's peer.
	TrustedProxies []netip.Prefix
	// StaffFrom limits the staff console, the staff API, sign-in and vault
	// unlock to these networks; empty: staff routes answer every network.
	StaffFrom []netip.Prefix
	Args      []string

	// Hearth's own HTTPS (hearth serve --domain; app/tlsauto). Domain is
	// the name to get a certificate for ("" for none); ACMECA the CA's
	// directory URL ("" for Let's Encrypt); ACMECARoot a PEM file of roots
	// to trust for the CA's own HTTPS (a private or test CA); ACMEEmail the
	// account's contact; HTTPAddr where plain HTTP answers challenges and
	// redirects to HTTPS. AddrSet says --addr or HEARTH_ADDR was given, so
	// a domain does not move the listener to :443 behind the owner's back.
	Domain     string
	ACMECA     string
	ACMECARoot string
	ACMEEmail  string
	HTTPAddr   string
	AddrSet    bool
}

// DefaultHTTPAddr and DefaultTLSAddr are where hearth serve listens with a
// domain: the ports a certificate authority checks and browsers use.
const (
	DefaultHTTPAddr = ":80"
	DefaultTLSAddr  = ":443"
)

// Paths inside the data folder.
func (c Config) DBPath() string      { return filepath.Join(c.Data, "hearth.db") }
func (c Config) KeysDir() string     { return filepath.Join(c.Data, "keys") }
func (c Config) ControlPath() string { return filepath.Join(c.Data, "control.sock") }
func (c Config) SetupLinkPath() string {
	return filepath.Join(c.Data, "setup-link.txt")
}

// TLS reports whether the server serves HTTPS.
func (c Config) TLS() bool { return c.TLSCert != "" && c.TLSKey != "" }

// Where names the store for messages a person reads: the database file,
// or the PostgreSQL database and its server. It never includes a password.
func (c Config) Where() string {
	if c.Store == "" {
		return c.DBPath()
	}
	u, err := url.Parse(c.Store)
	if err != nil || u.Host == "" && strings.Trim(u.Path, "/") == "" {
		return "the PostgreSQL database named by --store"
	}
	name := strings.Trim(u.Path, "/")
	if name == "" {
		name = "(default)"
	}
	host := u.Host
	if host == "" {
		host = "the local server"
	}
	return fmt.Sprintf("PostgreSQL database %s on %s", name, host)
}

// Flags lists which flags a command takes.
type Flags struct {
	Addr, TLS, Store bool
	// Network takes --trusted-proxy and --staff-from (hearth serve).
	Network bool
	// ACME takes --domain, --acme-ca, --acme-ca-root, --acme-email and
	// --http-addr (hearth serve).
	ACME bool
	// More registers a command's own flags on the same set; c is the
	// Config being filled, so a command may add another name for one of its
	// fields (migrate-store's --from and --to).
	More func(fs *flag.FlagSet, c *Config)
}

// Parse reads flags for one command. getenv supplies the environment.
func Parse(cmd string, args []string, which Flags, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Config{Data: DefaultData, Addr: DefaultAddr}
	if v := getenv("HEARTH_DATA"); v != "" {
		c.Data = v
	}
	if v := getenv("HEARTH_ADDR"); v != "" {
		c.Addr, c.AddrSet = v, true
	}
	fs := flag.NewFlagSet("hearth "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Data, "data", c.Data, "data folder (env HEARTH_DATA)")
	if which.Addr {
		fs.StringVar(&c.Addr, "addr", c.Addr, "listen address HOST:PORT (env HEARTH_ADDR)")
	}
	if which.TLS {
		fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file (PEM)")
		fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	}
	if which.Store {
		fs.StringVar(&c.Store, "store", c.Store, "storage: empty for the built-in database, or postgres://... (env HEARTH_STORE)")
	}
	var proxies, staffFrom string
	if which.Network {
		fs.StringVar(&proxies, "trusted-proxy", getenv("HEARTH_TRUSTED_PROXY"),
			"CIDR[,CIDR]: believe X-Forwarded-For / Forwarded only from these proxies (env HEARTH_TRUSTED_PROXY)")
		fs.StringVar(&staffFrom, "staff-from", getenv("HEARTH_STAFF_FROM"),
			"CIDR[,CIDR]: serve the staff console, staff API, sign-in and unlock only to these networks (env HEARTH_STAFF_FROM)")
	}
	if which.ACME {
		fs.StringVar(&c.Domain, "domain", getenv("HEARTH_DOMAIN"),
			"get and renew this name's HTTPS certificate from an ACME CA by itself; serves HTTPS on --addr (default "+DefaultTLSAddr+") (env HEARTH_DOMAIN)")
		fs.StringVar(&c.ACMECA, "acme-ca", "", "ACME directory URL of the certificate authority (default: Let's Encrypt)")
		fs.StringVar(&c.ACMECARoot, "acme-ca-root", "", "PEM file of the root certificates to trust for the certificate authority's own HTTPS (a private or test CA)")
		fs.StringVar(&c.ACMEEmail, "acme-email", "", "contact email for the ACME account (expiry notices from the CA)")
		fs.StringVar(&c.HTTPAddr, "http-addr", DefaultHTTPAddr, "with a domain: plain HTTP HOST:PORT that answers ACME HTTP-01 challenges and redirects everything else to https://")
	}
	if which.More != nil {
		which.More(fs, &c)
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "addr" {
			c.AddrSet = true
		}
	})
	var err error
	if c.TrustedProxies, err = ParsePrefixes("--trusted-proxy", proxies); err != nil {
		return c, err
	}
	if c.StaffFrom, err = ParsePrefixes("--staff-from", staffFrom); err != nil {
		return c, err
	}
	// HEARTH_STORE applies after the flags, not as their default: a flag's
	// default is printed in its help, and this URL may hold a password.
	if c.Store == "" {
		c.Store = getenv("HEARTH_STORE")
	}
	c.Args = fs.Args()
	if strings.TrimSpace(c.Data) == "" {
		return c, errors.New("config: --data must name a folder")
	}
	if which.Addr {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return c, fmt.Errorf("config: --addr %q is not HOST:PORT", c.Addr)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, errors.New("config: --tls-cert and --tls-key go together")
	}
	if which.ACME {
		if err := c.checkACME(); err != nil {
			return c, err
		}
	}
	if err := CheckStore(c.Store); err != nil {
		return c, err
	}
	return c, nil
}

// checkACME refuses a bad --domain and the flags that contradict it.
func (c *Config) checkACME() error {
	c.Domain = strings.TrimSpace(c.Domain)
	if err := CheckDomain(c.Domain); err != nil {
		return err
	}
	c.Domain = NormalDomain(c.Domain)
	if c.Domain != "" && c.TLS() {
		return errors.New("config: --domain gets a certificate by itself; give either --domain or --tls-cert and --tls-key, not both")
	}
	if c.Domain != "" && !c.AddrSet {
		c.Addr = DefaultTLSAddr
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return fmt.Errorf("config: --http-addr %q is not HOST:PORT", c.HTTPAddr)
		}
	}
	if c.ACMECA != "" {
		u, err := url.Parse(c.ACMECA)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("config: --acme-ca %q is not an https:// URL of an ACME directory", c.ACMECA)
		}
	}
	if c.ACMEEmail != "" && (!strings.Contains(c.ACMEEmail, "@") || strings.ContainsAny(c.ACMEEmail, " <>")) {
		return fmt.Errorf("config: --acme-email %q is not an email address", c.ACMEEmail)
	}
	return nil
}

// ACMEDir is where a single node keeps its certificates, their keys and
// its ACME account (owner-only, like keys/).
func (c Config) ACMEDir() string { return filepath.Join(c.Data, "acme") }

// ParsePrefixes reads a comma-separated list of networks (10.0.0.0/8) or
// single addresses (192.168.1.5, taken as /32 or /128). Empty gives nil.
func ParsePrefixes(flagName, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("config: %s: %q is not a network like 192.168.1.0/24", flagName, f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %q is not an address or a network like 192.168.1.0/24", flagName, f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// CheckStore accepts "" (the built-in database) or a postgres:// URL. Its
// error never repeats the value, which may hold a password.
func CheckStore(s string) error {
	if s == "" {
		return nil
	}
	if !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
		return errors.New("config: --store must be empty or a postgres:// URL")
	}
	if _, err := url.Parse(s); err != nil {
		return errors.New("config: --store is not a valid postgres:// URL (check for special characters in the password: they must be percent-encoded)")
	}
	return nil
}
