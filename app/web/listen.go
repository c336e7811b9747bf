package web

import (
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts bound how long one connection may take over each part of a
// request. ReadHeader is the slowloris defence: a client that dribbles its
// headers is cut off when it runs out, TLS handshake included.
type Timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
}

// DefaultTimeouts are the timeouts hearth serve runs with.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 2 * time.Minute, Write: 2 * time.Minute, Idle: 2 * time.Minute}

// MaxConnsPerIP is how many connections hearth serve holds open at once
// for one client address (see LimitConnsPerIP). A browser opens about six
// plus its websocket, so a whole office behind one NAT address fits.
const MaxConnsPerIP = 256

// CipherSuites are the TLS 1.2 suites Hearth's HTTPS offers: forward
// secrecy (ECDHE) and authenticated encryption (AES-GCM, ChaCha20-Poly1305)
// only, so no CBC, no RSA key exchange, no 3DES or RC4 (what a TLS scan
// such as testssl.sh calls weak). TLS 1.3's suites are Go's own and all
// meet the same bar; TLS 1.1 and older are refused (MinVersion).
func CipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// maxHeaderBytes caps a request's header block.
const maxHeaderBytes = 32 << 10

// NewHTTPServer is the http.Server that serves h with the timeouts t and
// Hearth's header size cap; errLog, if not nil, takes the server's own
// complaints (bad TLS handshakes and the like).
func NewHTTPServer(h http.Handler, t Timeouts, errLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errLog,
	}
}

// LimitConnsPerIP wraps ln so that at most max connections from one remote
// address are open at once; a connection over the cap is closed as soon as
// it is accepted, before a byte of it is read. Together with the header
// timeout this keeps one machine's hundreds of slow connections from
// starving everyone else.
//
// The cap sees only the TCP peer: it runs before any request exists, so it
// cannot read X-Forwarded-For. Behind a proxy every client arrives from the
// proxy's one address, and a cap on it would throttle the whole clinic at
// once; so peers inside exempt (the --trusted-proxy networks) are not
// capped, and the proxy must bound its own clients' connections (nginx
// limit_conn, Caddy and most others have one).
func LimitConnsPerIP(ln net.Listener, max int, exempt []netip.Prefix) *ConnCapListener {
	return &ConnCapListener{Listener: ln, max: max, exempt: exempt, open: map[netip.Addr]int{}}
}

// CapExempt is who hearth serve's per-address cap leaves alone: the
// machine itself (a proxy on it, the owner's own tools such as hearth
// bench, which holds hundreds of staff sockets from 127.0.0.1) and the
// trusted proxies. Neither is a client the cap can tell apart: each
// carries many.
func CapExempt(trusted []netip.Prefix) []netip.Prefix {
	return append([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, trusted...)
}

// ConnCapListener is a listener with a per-address connection cap (see
// LimitConnsPerIP).
type ConnCapListener struct {
	net.Listener
	max    int
	exempt []netip.Prefix

	mu   sync.Mutex
	open map[netip.Addr]int
	// refused counts connections closed for being over the cap.
	refused atomic.Int64
}

// Accept returns the next connection within the cap, closing those over it.
func (l *ConnCapListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a, ok := peerIP(c)
		if !ok || inPrefixes(a, l.exempt) {
			return c, nil
		}
		l.mu.Lock()
		if l.open[a] >= l.max {
			l.mu.Unlock()
			l.refused.Add(1)
			// Refused: nothing was read, and a failed close leaves nothing to do.
			_ = c.Close()
			continue
		}
		l.open[a]++
		l.mu.Unlock()
		return &cappedConn{Conn: c, l: l, a: a}, nil
	}
}

// Refused is how many connections were closed for being over the cap.
func (l *ConnCapListener) Refused() int64 { return l.refused.Load() }

func (l *ConnCapListener) release(a netip.Addr) {
	l.mu.Lock()
	if l.open[a]--; l.open[a] <= 0 {
		delete(l.open, a)
	}
	l.mu.Unlock()
}

func peerIP(c net.Conn) (netip.Addr, bool) {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// cappedConn gives its slot back once, on the first Close (the HTTP server
// and a websocket that hijacked the connection may both close it).
type cappedConn struct {
	net.Conn
	l    *ConnCapListener
	a    netip.Addr
	once sync.Once
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.a) })
	return err
}
