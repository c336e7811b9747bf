package web

import (
	"bytes"
	"image"
	"image/png"
	"mime/multipart"
	"strings"
	"testing"
	"time"
)

// smallPNG is a valid 8×8 photo.
func smallPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// inFlight waits until srv holds n uploads.
func (s *served) inFlight(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.web.uploads.mu.Lock()
		got := s.web.uploads.n
		s.web.uploads.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d uploads in flight, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUploadsInFlightAreBounded: uploads held open (a slow phone, or a
// flood) are counted per client address and in total; one over either
// bound is answered 429 with the catalogue's wording, in the patient's
// language, before its body is read; a finished upload frees its place.
// A body declared larger than the form takes is answered 413, unread.
func TestUploadsInFlightAreBounded(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	csrf := hiddenInputs(u.get("/new?type=message").body).Get("csrf")
	// Behind a trusted proxy, so that one machine can be several clients.
	srv := e.serverWith(t, Options{TrustedProxies: loopbackProxy, Limits: Limits{Uploads: 2, UploadsPerClient: 1}})
	photo := smallPNG(t)
	// hold starts an upload from addr and leaves it open: the words and
	// the whole photo are sent, the end of the form is not.
	hold := func(addr string) *slowForm {
		f := startForm(t, u.hc, srv.URL+"/new", -1, "", "X-Forwarded-For", addr)
		t.Cleanup(f.abandon)
		f.field("csrf", csrf)
		f.field("type", "message")
		f.field("body", "A photo of the rash")
		// An upload over a bound is refused before its photo is read, so
		// this write may fail; the answers asserted below are what count.
		_ = f.fileBytes("files", "rash.png", photo)
		return f
	}
	busy := func(what string, f *slowForm) {
		t.Helper()
		r, ok := f.answered(5 * time.Second)
		if !ok {
			t.Fatalf("%s: no answer while the body was open", what)
		}
		if r.code != 429 || !strings.Contains(htmlUnescape(r.body), "Many files are being sent to the clinic right now") {
			t.Fatalf("%s: %d\n%.600s", what, r.code, r.body)
		}
	}
	first := hold("198.51.100.1")
	srv.inFlight(t, 1)
	busy("a second upload from the same client", hold("198.51.100.1"))
	other := hold("198.51.100.2")
	srv.inFlight(t, 2)
	busy("a third client over the total", hold("198.51.100.3"))
	location(t, first.finish(), "/t/")
	location(t, other.finish(), "/t/")
	srv.inFlight(t, 0)
	again := hold("198.51.100.1")
	srv.inFlight(t, 1)
	location(t, again.finish(), "/t/")

	// Bytes: each request reserves the size it declares.
	srv = e.serverWith(t, Options{TrustedProxies: loopbackProxy, Limits: Limits{UploadBytes: 5 << 20, UploadBytesPerClient: 3 << 20}})
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("csrf", csrf); err != nil {
		t.Fatal(err)
	}
	if err := mw.WriteField("type", "message"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("files", "big.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(bytes.Repeat([]byte{0}, 2<<20)); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	whole := body.Bytes()
	sized := func(addr string) *slowForm {
		f := startForm(t, u.hc, srv.URL+"/new", int64(len(whole)), mw.FormDataContentType(), "X-Forwarded-For", addr)
		t.Cleanup(f.abandon)
		f.raw(whole[:1<<20])
		return f
	}
	sized("198.51.100.1")
	srv.inFlight(t, 1)
	busy("a second 2 MB from one client, over its 3 MB", sized("198.51.100.1"))
	sized("198.51.100.2")
	srv.inFlight(t, 2)
	busy("a third 2 MB in all, over the 5 MB total", sized("198.51.100.3"))

	// A body declared larger than the form can ever take: 413, unread.
	huge := startForm(t, u.hc, srv.URL+"/new", 40<<20, mw.FormDataContentType(), "X-Forwarded-For", "198.51.100.9")
	t.Cleanup(huge.abandon)
	huge.raw(whole[:64<<10])
	if r, ok := huge.answered(5 * time.Second); !ok || r.code != 413 || !strings.Contains(r.body, "Each photo or PDF can be up to 10 MB") {
		t.Fatalf("40 MB declared: %v %d\n%.600s", ok, r.code, r.body)
	}

	// In Spanish.
	u.get("/me?lang=es")
	srv = e.serverWith(t, Options{Limits: Limits{UploadsPerClient: 1}})
	hold2 := func() *slowForm {
		f := startForm(t, u.hc, srv.URL+"/new", -1, "")
		t.Cleanup(f.abandon)
		f.field("csrf", csrf)
		// The second form is refused while the first holds the slot, so its
		// write may fail; the answer asserted below is what counts.
		_ = f.fileBytes("files", "rash.png", photo)
		return f
	}
	hold2()
	srv.inFlight(t, 1)
	r, ok := hold2().answered(5 * time.Second)
	if !ok || r.code != 429 || !strings.Contains(htmlUnescape(r.body), "Se están enviando muchos archivos") {
		t.Fatalf("busy in Spanish: %v %d\n%.600s", ok, r.code, r.body)
	}
}
