// Package mailtest is a small SMTP server for tests: it speaks the real
// protocol over a loopback socket (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT,
// DATA, QUIT) and keeps what it received.
package mailtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpd is a small SMTP server speaking the real protocol over a loopback
// socket: EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT. Tests read
// what it received.
// Server is a running test SMTP server.
type Server struct {
	ln       net.Listener
	tls      *tls.Config
	user     string
	password string
	mu       sync.Mutex
	got      []string // DATA bodies
}

func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// Start runs a server that accepts user/password ("" for none) and
// returns it with the pool that trusts its certificate.
func Start(t testing.TB, user, password string) (*Server, *x509.CertPool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, pool := selfSigned(t)
	s := &Server{ln: ln, tls: cfg, user: user, password: password}
	t.Cleanup(func() {
		if err := ln.Close(); err != nil {
			t.Errorf("mailtest: %v", err)
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s, pool
}

// Port is the server's port on 127.0.0.1.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Messages are the DATA bodies received, in order.
func (s *Server) Messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func (s *Server) serve(c net.Conn) {
	// The conversation is over (QUIT, or the client went): nothing is left
	// to tell anyone about a failed close.
	defer func() { _ = c.Close() }()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	// put buffers a reply line and say sends it with what put buffered; the
	// first failed write ends the conversation (werr).
	var werr error
	put := func(line string) {
		if werr == nil {
			_, werr = w.WriteString(line + "\r\n")
		}
	}
	say := func(line string) {
		if put(line); werr == nil {
			werr = w.Flush()
		}
	}
	say("220 test ESMTP")
	secure := false
	authed := false
	for werr == nil {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			put("250-test")
			if !secure {
				put("250-STARTTLS")
			}
			say("250 AUTH PLAIN")
		case cmd == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			parts := strings.Fields(strings.TrimSpace(line))
			raw, _ := base64.StdEncoding.DecodeString(parts[len(parts)-1])
			f := strings.Split(string(raw), "\x00")
			if len(f) == 3 && f[1] == s.user && f[2] == s.password {
				authed = true
				say("235 accepted")
			} else {
				say("535 5.7.8 Authentication credentials invalid")
			}
		case strings.HasPrefix(cmd, "MAIL FROM"):
			if s.user != "" && !authed {
				say("530 5.7.0 Authentication required")
				continue
			}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO"):
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.got = append(s.got, b.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}
