package tests

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Checklist line 48 over the real binary: a plain-HTTP API call that
// reaches the HTTPS port (a mistyped http:// address, an old bookmark) is
// answered 400 and never redirected, so no client re-sends it, method and
// body changed, over plain HTTP, and it sets no cookie.
func TestPlainHTTPToTheTLSPortIsRefusedNotRedirected(t *testing.T) {
	in := newClinic(t)
	cf, kf := writeCert(t, t.TempDir(), "office")
	in.extra = []string{"--tls-cert", cf, "--tls-key", kf}
	in.scheme = "https"
	in.hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	in.addr = strings.Replace(freeAddr(t), "127.0.0.1", "localhost", 1)
	in.start()

	body := `{"email":"owner@maple.test","password":"` + ownerPassword + `"}`
	conn, err := net.DialTimeout("tcp", in.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := conn.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	req := "POST /api/v1/login HTTP/1.1\r\nHost: " + in.addr + "\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no HTTP answer from the TLS port: %v", err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
		t.Fatalf("plain HTTP on the TLS port: %d, Location %q; want 400 and no redirect", res.StatusCode, res.Header.Get("Location"))
	}
	for _, h := range res.Header.Values("Set-Cookie") {
		t.Errorf("plain HTTP on the TLS port set a cookie: %q", h)
	}
}
