package web

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Helpers for the tests that replay an outside tester's attacks against
// real servers: a second server on the same clinic with its own options,
// and browsers that connect from chosen loopback addresses.

// served is a second real server on e's clinic, built with its own options
// (throttles, limits, proxies), that counts the bytes it reads.
type served struct {
	*httptest.Server
	web  *Server
	read *atomic.Int64
}

func (e *env) serverWith(t *testing.T, o Options) *served {
	t.Helper()
	o.Clinic, o.Hub, o.Files, o.Version, o.Addr = e.c, e.hub, e.files, "test", "127.0.0.1:0"
	o.Log = slog.New(slog.NewTextHandler(&lockedWriter{w: e.log}, nil))
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	n := &atomic.Int64{}
	srv := httptest.NewUnstartedServer(w.Handler())
	srv.Listener = countingListener{srv.Listener, n}
	srv.Start()
	t.Cleanup(srv.Close)
	return &served{Server: srv, web: w, read: n}
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// browserFrom is a browser whose connections come from the loopback
// address ip (127.0.0.2, 127.0.0.3...: Linux answers the whole 127/8), so
// that one machine can play several clients.
func browserFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// hit sends one request: body is a form (url.Values, sent with the Origin
// a browser adds), a JSON value, or nil.
func hit(t *testing.T, hc *http.Client, method, rawURL string, body any, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
		u := mustParse(rawURL)
		hdr = append([]string{"Origin", u.Scheme + "://" + u.Host}, hdr...)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	r, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := hc.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, rawURL, err)
	}
	return resp{res.StatusCode, string(b), res.Header}
}
