package web

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The outside tester's first finding: the compose form was parsed with a
// 1 MB memory limit, so every photo over 1 MB was written in plain text to
// $TMPDIR/multipart-* before the sign-in and csrf checks ran.

// canaryPNG is a 4 MB photo (noise, which does not compress) that carries
// canary in a text chunk near its start and again after its end.
func canaryPNG(t *testing.T, canary string) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 1024, 1024))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	const afterIHDR = 8 + 4 + 4 + 13 + 4 // signature, then IHDR's length, type, data and CRC
	out := append([]byte{}, b[:afterIHDR]...)
	out = append(out, pngChunk("tEXt", []byte("Comment\x00"+canary))...)
	out = append(out, b[afterIHDR:]...)
	out = append(out, canary...)
	if len(out) < 4<<20 {
		t.Fatalf("the test photo is only %d bytes", len(out))
	}
	return out
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// tmpLeaks lists whatever is in dir, and says which files hold canary.
func tmpLeaks(dir, canary string) []string {
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		found = append(found, strings.TrimPrefix(p, dir))
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(canary)) {
			found = append(found, strings.TrimPrefix(p, dir)+" holds the canary")
		}
		return nil
	})
	if err != nil {
		found = append(found, "cannot look through "+dir+": "+err.Error())
	}
	return found
}

// TestUploadNeverTouchesDisk sends a real 4 MB photo carrying a canary,
// slowly, through the compose form, with TMPDIR pointed at a folder that is
// searched between every 64 KB of the photo: no file ever appears there and
// the canary is never found; the photo arrives on the thread.
func TestUploadNeverTouchesDisk(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	form := hiddenInputs(u.get("/new?type=message").body)
	const canary = "CANARY-7f3a91-photo-bytes-never-on-disk"
	photo := canaryPNG(t, canary)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	f := startForm(t, u.hc, e.srv.URL+"/new", -1, "")
	defer f.abandon()
	f.field("csrf", form.Get("csrf"))
	f.field("type", "message")
	f.field("body", "Here is the rash")
	w := f.file("files", "rash.png")
	const chunk = 64 << 10
	for off := 0; off < len(photo); off += chunk {
		if _, err := w.Write(photo[off:min(off+chunk, len(photo))]); err != nil {
			t.Fatalf("the server stopped reading after %d bytes: %v", off, err)
		}
		if leaks := tmpLeaks(tmp, canary); len(leaks) > 0 {
			t.Fatalf("after %d KB of the photo the temporary folder holds %v", (off+chunk)>>10, leaks)
		}
	}
	// All of the photo is in, the form is not finished: the server holds
	// the photo while it waits for the rest.
	time.Sleep(300 * time.Millisecond)
	if leaks := tmpLeaks(tmp, canary); len(leaks) > 0 {
		t.Fatalf("with the whole photo received, the temporary folder holds %v", leaks)
	}
	loc := location(t, f.finish(), "/t/")
	if leaks := tmpLeaks(tmp, canary); len(leaks) > 0 {
		t.Fatalf("after the upload the temporary folder holds %v", leaks)
	}
	thread := u.get(loc)
	m := regexp.MustCompile(`href="(/f/[0-9a-f-]{36})"`).FindStringSubmatch(thread.body)
	if m == nil {
		t.Fatalf("the photo is not on the thread:\n%.600s", thread.body)
	}
	if r := u.get(m[1]); r.code != 200 || !strings.HasPrefix(r.h.Get("Content-Type"), "image/png") || len(r.body) < 1<<20 {
		t.Fatalf("the photo back: %d %s %d bytes", r.code, r.h.Get("Content-Type"), len(r.body))
	}
}

// TestUploadRefusedBeforeTheBodyIsRead: a post with no csrf cookie, one
// from a visitor who is not signed in, one with a forged token, one whose
// file comes before the token and one from another site are each answered
// while the client still holds back the rest of its body, and the server
// has read no more than the form's first parts (and net/http's own bounded
// drain). The visitor whose sign-in
// ended gets the words they typed back; their file is never read.
func TestUploadRefusedBeforeTheBodyIsRead(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	csrf := hiddenInputs(u.get("/new?type=message").body).Get("csrf")
	srv := e.serverWith(t, Options{})
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	stranger := e.anon() // no cookie at all
	ended := e.anon()    // a browser whose sign-in ended: it still has its csrf cookie
	endedCSRF := hiddenInputs(hit(t, ended.hc, "GET", srv.URL+"/contact", nil).body).Get("csrf")
	if endedCSRF == "" {
		t.Fatal("no csrf token on /contact")
	}
	const canary = "CANARY-2b8e-refused-upload"
	mb := bytes.Repeat([]byte(canary+"\n"), (1<<20)/(len(canary)+1))

	cases := []struct {
		name   string
		hc     *http.Client
		fields [][2]string // written before the file
		hdr    []string
		code   int
		want   string
	}{
		{"no csrf cookie", stranger.hc, [][2]string{{"csrf", "guess"}, {"body", "hello"}}, nil, 403, "came from another website"},
		{"signed out", ended.hc, [][2]string{{"csrf", endedCSRF}, {"type", "message"}, {"body", "Words typed before the sign-in ended"}}, nil, 401, "Words typed before the sign-in ended"},
		{"forged token", u.hc, [][2]string{{"csrf", "forged-token-from-another-site-xxxxxxxxxx"}, {"body", "hello"}}, nil, 403, "came from another website"},
		{"file before token", u.hc, [][2]string{{"body", "hello"}}, nil, 403, "came from another website"},
		{"another site", u.hc, [][2]string{{"csrf", csrf}, {"body", "hello"}}, []string{"Origin", "https://evil.example"}, 403, "did not come from a Hearth page"},
	}
	for _, c := range cases {
		before := srv.read.Load()
		f := startForm(t, c.hc, srv.URL+"/new", -1, "", c.hdr...)
		for _, kv := range c.fields {
			f.field(kv[0], kv[1])
		}
		// The first megabyte of a 12 MB photo; the other eleven are held
		// back until the server has answered.
		w := f.file("files", "photo.png")
		// The server may refuse before the first megabyte is read; its
		// answer below is what counts.
		_, _ = w.Write(mb)
		r, ok := f.answered(5 * time.Second)
		f.abandon()
		if !ok {
			t.Errorf("%s: the server waited for the rest of the body instead of refusing it", c.name)
			continue
		}
		// net/http itself drains at most 256 KB of a chunked body it was
		// not asked to read (in memory, into nothing) before it closes
		// the connection; the form's first parts are a few hundred bytes.
		time.Sleep(50 * time.Millisecond)
		if n := srv.read.Load() - before; n > 256<<10+16<<10 {
			t.Errorf("%s: the server read %d KB of a refused upload", c.name, n>>10)
		}
		if r.code != c.code || !strings.Contains(htmlUnescape(r.body), c.want) {
			t.Errorf("%s: %d, want %d with %q:\n%.600s", c.name, r.code, c.code, c.want, r.body)
		}
		if strings.Contains(r.body, canary) {
			t.Errorf("%s: the answer holds bytes of the file", c.name)
		}
	}
	if leaks := tmpLeaks(tmp, canary); len(leaks) > 0 {
		t.Errorf("the temporary folder holds %v", leaks)
	}
}
