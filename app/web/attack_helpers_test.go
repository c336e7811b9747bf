package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
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
// browsers that connect from chosen loopback addresses, and forms sent
// slowly through a pipe.

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
	o.Log = e.web.log // the same log (and its lock) as e's own server
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
	if cerr := res.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, rawURL, err)
	}
	return resp{res.StatusCode, string(b), res.Header}
}

// slowForm is a multipart POST whose body the test writes part by part,
// through a pipe, while the server is already answering.
type slowForm struct {
	t   *testing.T
	pw  *io.PipeWriter
	mw  *multipart.Writer
	res chan resp
	got bool // the answer was taken from res
}

var errAnswered = errors.New("test: the server has answered")

// startForm starts the POST. size is the Content-Length it declares (the
// test then writes exactly that many bytes with raw), or -1 to send the
// body chunked, part by part.
func startForm(t *testing.T, hc *http.Client, rawURL string, size int64, ctype string, hdr ...string) *slowForm {
	t.Helper()
	pr, pw := io.Pipe()
	f := &slowForm{t: t, pw: pw, mw: multipart.NewWriter(pw), res: make(chan resp, 1)}
	r, err := http.NewRequest("POST", rawURL, pr)
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = size
	if ctype == "" {
		ctype = f.mw.FormDataContentType()
	}
	r.Header.Set("Content-Type", ctype)
	u := mustParse(rawURL)
	r.Header.Set("Origin", u.Scheme+"://"+u.Host)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	go func() {
		res, err := hc.Do(r)
		if err != nil {
			pr.CloseWithError(err)
			f.res <- resp{code: -1, body: err.Error()}
			return
		}
		b, err := io.ReadAll(res.Body)
		if cerr := res.Body.Close(); err == nil {
			err = cerr
		}
		// A writer still writing a body nobody reads now gets an error.
		pr.CloseWithError(errAnswered)
		if err != nil {
			f.res <- resp{code: -1, body: "reading the answer: " + err.Error()}
			return
		}
		f.res <- resp{res.StatusCode, string(b), res.Header}
	}()
	return f
}

// field writes one text part; false once the server has stopped reading.
func (f *slowForm) field(name, value string) bool {
	return f.mw.WriteField(name, value) == nil
}

// file starts a file part and returns its writer.
func (f *slowForm) file(name, filename string) io.Writer {
	w, err := f.mw.CreateFormFile(name, filename)
	if err != nil {
		return failingWriter{err}
	}
	return w
}

// fileBytes writes one whole file part; false once the server has stopped
// reading.
func (f *slowForm) fileBytes(name, filename string, b []byte) bool {
	_, err := f.file(name, filename).Write(b)
	return err == nil
}

// raw writes bytes of a body built beforehand; false once the server has
// stopped reading.
func (f *slowForm) raw(b []byte) bool {
	_, err := f.pw.Write(b)
	return err == nil
}

// finish ends the body and waits for the answer.
func (f *slowForm) finish() resp {
	// Both fail once the server has answered early and stopped reading;
	// that answer, not these errors, is what the test asserts.
	_ = f.mw.Close()
	_ = f.pw.Close()
	return f.wait(30 * time.Second)
}

// answered waits up to d for an answer that comes while the body is still
// open; ok is false if none came (the server was waiting for the body).
func (f *slowForm) answered(d time.Duration) (resp, bool) {
	select {
	case r := <-f.res:
		f.got = true
		return r, true
	case <-time.After(d):
		return resp{}, false
	}
}

func (f *slowForm) wait(d time.Duration) resp {
	f.t.Helper()
	r, ok := f.answered(d)
	if !ok {
		f.t.Fatal("no answer")
	}
	return r
}

// abandon closes the body unfinished (after a failed check) and drains the
// answer, so nothing is left running.
func (f *slowForm) abandon() {
	f.pw.CloseWithError(errors.New("test: body abandoned"))
	if f.got {
		return
	}
	select {
	case <-f.res:
	case <-time.After(10 * time.Second):
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }
