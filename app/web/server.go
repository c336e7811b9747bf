// Package web is Hearth's HTTP face: the staff JSON API and console, the
// server-rendered patient pages, the first-run setup pages, static files,
// and the security rules that apply to all of them (headers, host check,
// CSRF, sessions, throttling, body limits, the error catalogue).
//
// Every route is declared once, with who may call it, in routes.go. Handlers
// return errors; one function writes them. Nothing here logs PHI: request
// logs name the route pattern, never the path or query, and errors that reach
// the log carry ids only.
package web

import (
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"hearth/app/clinic"
	"hearth/app/realtime"
)

// SetupState is the first-run state: the one-time setup token and the
// recovery key to show once on the emergency kit.
type SetupState struct {
	Token    string
	Recovery string
	// Done runs once setup has completed (the server removes the link file).
	Done func()

	mu    sync.Mutex
	shown bool
}

// Options build a Server.
type Options struct {
	Clinic  *clinic.Clinic
	Hub     *realtime.Hub
	Files   fs.FS // the embed/ folder
	Log     *slog.Logger
	Version string
	TLS     bool
	Addr    string // the listen address, whose host is an allowed Host
	Setup   *SetupState
	// DataDir is the server's data folder, as the emergency kit's restore
	// command names it ("hearth-data" when empty).
	DataDir string
	// Limits are throttling budgets; zero means the defaults.
	Limits Limits
	// Counters, for a clinic group, keeps the throttling counts where every
	// node sees them; nil keeps them in this process.
	Counters Counters
	// TrustedProxies are the proxies whose X-Forwarded-For and Forwarded
	// headers are believed (see clientOf); nil believes none.
	TrustedProxies []netip.Prefix
	// StaffFrom limits staff routes (console, staff API, sign-in, unlock,
	// websocket, setup) to these networks; nil allows every network.
	StaffFrom []netip.Prefix
	// Domain is the name Hearth gets its own certificate for (app/tlsauto),
	// an allowed Host; CertStatus, with it, is that certificate's state for
	// the owner's health view.
	Domain     string
	CertStatus func() any
	// Texts is the running text transport; nil when texts are not wired
	// (then the test text and the transport's state say "off").
	Texts TextLine
}

// Server holds the routes and what they share.
type Server struct {
	c       *clinic.Clinic
	hub     *realtime.Hub
	log     *slog.Logger
	version string
	tls     bool
	setup   *SetupState
	dataDir string // as the emergency kit writes it (kitDataDir)
	files   fs.FS
	static  *staticFiles
	tmpl    map[string]*template.Template
	cop     *http.CrossOriginProtection
	hosts   hostAllow
	common  map[string]bool
	limits  *limiter
	uploads *uploadGate
	proxies []netip.Prefix
	staff   []netip.Prefix
	// proxyHint tells the owner, once, that a proxy seems to be in front
	// while --trusted-proxy is not set.
	proxyHint sync.Once
	mux       *http.ServeMux
	routes    []route
	panics    atomic.Int64 // panics recovered while serving (health.go)
	cert      func() any   // the own certificate's state (Options.CertStatus)
	texts     TextLine     // the running text transport (texts_api.go)
}

// New builds the server. It fails if a template or asset it needs is
// missing from files, so a broken build never starts.
func New(o Options) (*Server, error) {
	s := &Server{c: o.Clinic, hub: o.Hub, log: o.Log, version: o.Version, tls: o.TLS, setup: o.Setup, files: o.Files,
		cop: http.NewCrossOriginProtection(), common: CommonPasswords(o.Files), proxies: o.TrustedProxies, staff: o.StaffFrom, texts: o.Texts}
	s.dataDir = kitDataDir(o.DataDir)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.static, err = loadStatic(o.Files); err != nil {
		return nil, err
	}
	if s.tmpl, err = s.loadTemplates(); err != nil {
		return nil, err
	}
	s.hosts = newHostAllow(o.Addr)
	if o.Domain != "" {
		s.hosts.fixed[strings.ToLower(o.Domain)] = true
	}
	s.cert = o.CertStatus
	s.limits = newLimiter(o.Limits, o.Clinic.Now, o.Counters, s.log)
	s.uploads = newUploadGate(s.limits.Limits)
	s.mux = http.NewServeMux()
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	s.mux.Handle("/", s.wrap(route{pattern: "/", access: anyone, h: func(w http.ResponseWriter, r *http.Request, _ *reqCtx) error {
		return errNotFound
	}}))
	return s, nil
}

// Handler is the whole site with the middleware that applies to every
// response, error pages and static files included.
func (s *Server) Handler() http.Handler {
	return s.believeClient(s.recoverPanics(s.securityHeaders(s.checkHost(s.degradedGate(s.mux)))))
}

// clientKey is the request context key of the believed client address.
type clientKey struct{}

// believeClient works out once, before anything else runs, which address
// the request comes from (clientOf), so that throttles, the audit's client
// field and logs all name the same one.
func (s *Server) believeClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := clientOf(r, s.proxies)
		if len(s.proxies) == 0 && (r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "") {
			s.proxyHint.Do(func() {
				s.log.Warn("requests carry X-Forwarded-For or Forwarded but --trusted-proxy is not set: " +
					"every client behind that proxy shares its address and its throttles (docs/OPERATIONS.md, Behind a proxy)")
			})
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, a)))
	})
}

// clientAddr is the believed client address of r (see clientOf), as text:
// the key of every per-client throttle and the audit's client field.
func clientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientKey{}).(string); ok {
		return a
	}
	return peerAddr(r)
}

// peerAddr is the address at the other end of the connection.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientOf is the one place that decides where a request comes from. The
// connection's peer is the client, unless the peer is one of the trusted
// proxies: then the X-Forwarded-For and Forwarded headers are read from the
// right (the hop the nearest proxy added) leftwards, past every trusted
// proxy, to the first address that is not one: the right-most untrusted
// hop. Hops further left were written by the client and are never believed.
//
// A request that carries both headers must have them agree; if they name
// different clients (one was passed through from the client unchecked by a
// proxy that writes only the other), neither is believed and the client is
// the proxy itself. A hop that cannot be read stops the walk the same way.
func clientOf(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddr(r)
	pa, err := netip.ParseAddr(peer)
	if err != nil || !inPrefixes(pa, trusted) {
		return peer
	}
	pa = pa.Unmap()
	xff, hasXFF := rightmostUntrusted(forwardedFor(r.Header.Values("X-Forwarded-For")), trusted, pa)
	fwd, hasFwd := rightmostUntrusted(forwardedParam(r.Header.Values("Forwarded")), trusted, pa)
	switch {
	case hasXFF && hasFwd && xff != fwd:
		return pa.String()
	case hasXFF:
		return xff.String()
	case hasFwd:
		return fwd.String()
	}
	return pa.String()
}

// rightmostUntrusted walks hops from the right. It reports false when there
// are no hops at all; an unreadable hop ends the walk at the last trusted
// address reached.
func rightmostUntrusted(hops []string, trusted []netip.Prefix, peer netip.Addr) (netip.Addr, bool) {
	if len(hops) == 0 {
		return netip.Addr{}, false
	}
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := hopAddr(hops[i])
		if !ok {
			return last, true
		}
		if !inPrefixes(a, trusted) {
			return a, true
		}
		last = a
	}
	return last, true
}

// forwardedFor splits X-Forwarded-For header lines into hops, left to right.
func forwardedFor(lines []string) []string {
	var hops []string
	for _, l := range lines {
		for _, h := range strings.Split(l, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// forwardedParam reads the for= parameter of each element of RFC 7239
// Forwarded header lines, left to right. An element without one is a hop
// that cannot be read.
func forwardedParam(lines []string) []string {
	var hops []string
	for _, l := range lines {
		for _, elem := range strings.Split(l, ",") {
			hop := ""
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					hop = strings.Trim(strings.TrimSpace(v), `"`)
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops
}

// hopAddr reads one hop: an address, an address with a port, or a
// bracketed IPv6 address with or without a port.
func hopAddr(h string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CommonPasswords reads the embedded list of passwords nobody may choose.
func CommonPasswords(files fs.FS) map[string]bool {
	m := map[string]bool{}
	b, err := fs.ReadFile(files, "security/common-passwords.txt")
	if err != nil {
		return m
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = true
		}
	}
	return m
}

// hostAllow answers which Host headers this server serves: its own
// addresses and names, and the names the owner set. Anything else is
// refused, which closes DNS rebinding.
type hostAllow struct {
	fixed map[string]bool
}

func newHostAllow(addr string) hostAllow {
	h := hostAllow{fixed: map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}}
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		h.fixed[strings.ToLower(host)] = true
	}
	if name, err := os.Hostname(); err == nil {
		h.fixed[strings.ToLower(name)] = true
		h.fixed[strings.ToLower(name)+".local"] = true
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				h.fixed[ipn.IP.String()] = true
			}
		}
	}
	return h
}

func (h *hostAllow) allowed(host string, extra []string) bool {
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if h.fixed[host] {
		return true
	}
	for _, e := range extra {
		if strings.EqualFold(e, host) {
			return true
		}
	}
	return false
}

func (s *Server) extraHosts(r *http.Request) []string {
	st, err := s.c.Settings(r.Context())
	if err != nil {
		return nil
	}
	hosts := append([]string(nil), st.HostNames...)
	if st.PublicURL != "" {
		if u, err := parseURL(st.PublicURL); err == nil {
			hosts = append(hosts, u.Hostname())
		}
	}
	return hosts
}

func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts.allowed(r.Host, nil) && !s.hosts.allowed(r.Host, s.extraHosts(r)) {
			s.writeError(w, r, errMisdirected)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows only Hearth's own scripts, styles and images:
// no inline script, no plugins, no framing, no base tag.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		if s.tls {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		// Every answer is no-store unless its handler says otherwise: a
		// static file it found is immutable (handleStatic), and a 404 for
		// an old build's hash is not cached.
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer guardFaults()()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.panics.Add(1)
				s.writeError(w, r, panicError(v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// panicError describes a recovered panic for the log without its value: a
// panic raised with a message could carry whatever the code had in hand (a
// name, a birth date), so only the runtime's own errors (an index out of
// range, a nil dereference: no data in them) are quoted; any other value is
// named by its type.
func panicError(v any) error {
	if re, ok := v.(runtime.Error); ok {
		return fmt.Errorf("a handler panicked: %s", re.Error())
	}
	return fmt.Errorf("a handler panicked with a %T (its value is not logged: it may hold patient data)", v)
}

// routeOf names the matched route pattern for logs (never the raw path,
// which can hold an invite code).
func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method + " (unmatched)"
}

// wantsJSON tells API callers from browsers.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/healthz")
}

// writeError answers with JSON for the API and a page for browsers.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if wantsJSON(r) {
		s.writeJSONError(w, r, err)
		return
	}
	s.writeErrorPage(w, r, err)
}

// onlyParams refuses a request whose query carries a parameter not named:
// a list endpoint reads only the filters it declares, so a sort, field or
// filter name it does not know is a 400, never silently ignored or passed
// on to a query.
func onlyParams(r *http.Request, names ...string) error {
	for k := range r.URL.Query() {
		known := false
		for _, n := range names {
			known = known || k == n
		}
		if !known {
			return errUnknownParam(k)
		}
	}
	return nil
}
