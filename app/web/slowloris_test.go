package web

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestServeTimeoutsAreSet: hearth serve's header timeout is what cuts a
// slowloris connection off; this fails if someone drops it or makes it
// long enough not to matter.
func TestServeTimeoutsAreSet(t *testing.T) {
	d := DefaultTimeouts
	if d.ReadHeader <= 0 || d.ReadHeader > 30*time.Second {
		t.Errorf("ReadHeader timeout %v: want (0, 30 s]", d.ReadHeader)
	}
	if d.Read <= 0 || d.Write <= 0 || d.Idle <= 0 {
		t.Errorf("every timeout must be set: %+v", d)
	}
	hs := NewHTTPServer(http.NotFoundHandler(), d, nil)
	if hs.ReadHeaderTimeout != d.ReadHeader || hs.ReadTimeout != d.Read || hs.WriteTimeout != d.Write || hs.IdleTimeout != d.Idle || hs.MaxHeaderBytes <= 0 {
		t.Errorf("NewHTTPServer does not apply the timeouts: %+v", hs)
	}
	if MaxConnsPerIP <= 0 {
		t.Errorf("no per-address connection cap: %d", MaxConnsPerIP)
	}
	// The cap leaves the machine itself and the trusted proxies alone,
	// and nobody else.
	proxy := netip.MustParsePrefix("10.1.2.3/32")
	ex := CapExempt([]netip.Prefix{proxy})
	for a, want := range map[string]bool{"127.0.0.1": true, "127.0.0.2": true, "::1": true, "10.1.2.3": true,
		"10.1.2.4": false, "192.168.1.20": false, "::ffff:192.168.1.20": false, "2001:db8::1": false} {
		if got := inPrefixes(netip.MustParseAddr(a), ex); got != want {
			t.Errorf("cap exemption of %s: %v, want %v", a, got, want)
		}
	}
}

// dialFrom opens a TCP connection to addr from the loopback address ip.
func dialFrom(ip, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// TestSlowlorisDoesNotStarveRequests: 300 connections from one address
// dribble header lines forever. The per-address cap refuses those over it
// at once, the header timeout closes the rest, and meanwhile every normal
// request from another address is answered.
func TestSlowlorisDoesNotStarveRequests(t *testing.T) {
	e := newEnv(t)
	const (
		slow    = 300
		capN    = 200
		timeout = time.Second
	)
	hs := NewHTTPServer(e.web.Handler(), Timeouts{ReadHeader: timeout, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 30 * time.Second}, nil)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitConnsPerIP(tcp, capN, nil)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() {
		if err := hs.Close(); err != nil {
			t.Error(err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	addr := tcp.Addr().String()

	// The attacker: every connection sends a request line, then one more
	// header line every 100 ms, and never the blank line that ends them.
	stop := make(chan struct{})
	var closed atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < slow; i++ {
		c, err := dialFrom("127.0.0.2", addr)
		if err != nil {
			close(stop)
			t.Fatalf("slow connection %d: %v", i, err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			// The server closing the connection ends this read, with EOF
			// or a reset (it closes with our dribble unread): either is
			// the close this counts.
			_, _ = io.Copy(io.Discard, c)
			closed.Add(1)
		}()
		go func() {
			defer wg.Done()
			defer func() { _ = c.Close() }() // the test's own end: nothing to report
			if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
				return
			}
			tk := time.NewTicker(100 * time.Millisecond)
			defer tk.Stop()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-tk.C:
				}
				if _, err := fmt.Fprintf(c, "X-Slow-%d: a\r\n", n); err != nil {
					return // closed by the server
				}
			}
		}()
	}
	t.Cleanup(func() { close(stop); wg.Wait() })

	// A normal client from another address keeps being served, over fresh
	// connections, while the slow ones hold their slots.
	hc := browserFrom(t, "127.0.0.1")
	hc.Timeout = 10 * time.Second
	hc.Transport.(*http.Transport).DisableKeepAlives = true
	ok := 0
	const normal = 40
	for i := 0; i < normal; i++ {
		res, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Errorf("normal request %d during the attack: %v", i, err)
			continue
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Error(err)
		}
		if err := res.Body.Close(); err != nil {
			t.Error(err)
		}
		if res.StatusCode == 200 {
			ok++
		}
	}
	if ok != normal {
		t.Errorf("only %d of %d normal requests succeeded during the attack", ok, normal)
	}
	if ln.Refused() == 0 {
		t.Errorf("%d connections from one address and none refused by the cap of %d", slow, capN)
	}

	// Every slow connection is closed by the server within the header
	// timeout (plus a generous margin), though its writer is still going.
	deadline := time.Now().Add(timeout + 15*time.Second)
	for closed.Load() < slow && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := closed.Load(); n < slow {
		t.Fatalf("after %v only %d of %d dribbling connections were closed by the server", time.Since(start), n, slow)
	}
	select {
	case <-stop:
		t.Fatal("the writers stopped before the server closed the connections")
	default:
	}
	// And the slots came back: the address that was capped is served again.
	res, err := browserFrom(t, "127.0.0.2").Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("the capped address after its connections closed: %v", err)
	}
	if err := res.Body.Close(); err != nil {
		t.Error(err)
	}
	if res.StatusCode != 200 {
		t.Errorf("the capped address after its connections closed: %d", res.StatusCode)
	}
}

// TestConnCapPerAddress: the cap counts per remote address, gives a slot
// back on close (once, however often the connection is closed), and does
// not apply to the trusted proxies, which carry every client at once.
func TestConnCapPerAddress(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitConnsPerIP(tcp, 2, []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")})
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		if err := ln.Close(); err != nil {
			t.Error(err)
		}
	})
	addr := tcp.Addr().String()
	var clientConns []net.Conn
	t.Cleanup(func() {
		for _, c := range clientConns {
			_ = c.Close() // the test's own end
		}
	})
	dial := func(ip string) {
		c, err := dialFrom(ip, addr)
		if err != nil {
			t.Fatal(err)
		}
		clientConns = append(clientConns, c)
	}
	take := func(want int) []net.Conn {
		var got []net.Conn
		for len(got) < want {
			select {
			case c := <-accepted:
				got = append(got, c)
			case <-time.After(5 * time.Second):
				t.Fatalf("accepted %d, want %d", len(got), want)
			}
		}
		return got
	}
	waitRefused := func(want int64) {
		deadline := time.Now().Add(5 * time.Second)
		for ln.Refused() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if ln.Refused() != want {
			t.Fatalf("refused %d, want %d", ln.Refused(), want)
		}
	}

	for i := 0; i < 3; i++ {
		dial("127.0.0.2")
	}
	two := take(2)
	waitRefused(1)
	// Another address is not affected, nor is the proxy, however many.
	dial("127.0.0.4")
	take(1)
	for i := 0; i < 5; i++ {
		dial("127.0.0.3")
	}
	take(5)
	waitRefused(1)
	// Closing gives the slot back, once.
	for i := 0; i < 2; i++ {
		if err := two[0].Close(); err != nil && i == 0 {
			t.Fatal(err)
		}
	}
	dial("127.0.0.2")
	take(1)
	dial("127.0.0.2")
	waitRefused(2)
	select {
	case c := <-accepted:
		t.Fatalf("a connection over the cap was accepted from %v", c.RemoteAddr())
	case <-time.After(100 * time.Millisecond):
	}
}
