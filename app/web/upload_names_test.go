package web

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"mime"
	"mime/multipart"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
)

// TestHostileUploadNamesThroughTheForm (checklist 20): through the real
// patient compose form (multipart, as a browser sends it), a file named
// .pdf whose body is a PNG is kept as what it is, a re-encoded image
// named .png and served as image/png, never as a PDF; and a file name
// carrying CR LF (RFC 2231-encoded, as a client can send it), quotes,
// semicolons or a path is stored under a random id and comes back in one
// clean Content-Disposition, attachment, nosniff, with no header of its
// own, to the patient and to staff.
func TestHostileUploadNamesThroughTheForm(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	page := u.get("/new?type=message")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range hiddenInputs(page.body) {
		if err := mw.WriteField(k, vs[0]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.WriteField("body", "Scans attached"); err != nil {
		t.Fatal(err)
	}
	for _, disp := range []string{
		`form-data; name="files"; filename="lab results.pdf"`,
		`form-data; name="files"; filename*=UTF-8''x.png%0D%0ASet-Cookie%3A%20hearth_csrf%3Devil%0D%0AX-Injected%3A%201`,
		`form-data; name="files"; filename="..\\..\\a\"b;c.pdf"`,
	} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", disp)
		h.Set("Content-Type", "application/pdf") // what the browser claims is not believed
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(img.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	r := u.req("POST", "/new", body.String(), "Content-Type", mw.FormDataContentType(), "Origin", e.srv.URL)
	thread := u.get(location(t, r, "/t/"))
	links := regexp.MustCompile(`href="(/f/[0-9a-f-]{36})"`).FindAllStringSubmatch(thread.body, -1)
	if len(links) != 3 {
		t.Fatalf("%d attachment links on the thread, want 3:\n%.1500s", len(links), thread.body)
	}
	for _, l := range links {
		for who, res := range map[string]resp{
			"patient": u.get(l[1]),
			"staff":   owner.req("GET", "/api/v1"+strings.Replace(l[1], "/f/", "/files/", 1), nil),
		} {
			name := fmt.Sprintf("%s %s", who, l[1])
			if res.code != 200 {
				t.Fatalf("%s: %d", name, res.code)
			}
			if res.h.Get("Content-Type") != "image/png" || res.h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: served as %q (nosniff %q), want image/png", name, res.h.Get("Content-Type"), res.h.Get("X-Content-Type-Options"))
			}
			if !bytes.HasPrefix([]byte(res.body), []byte("\x89PNG")) {
				t.Errorf("%s: the body is not the re-encoded PNG", name)
			}
			if res.h.Get("X-Injected") != "" || strings.Contains(strings.Join(res.h.Values("Set-Cookie"), ";"), "evil") {
				t.Errorf("%s: a file name made its own header: %v", name, res.h)
			}
			cd := res.h.Values("Content-Disposition")
			if len(cd) != 1 || strings.ContainsAny(cd[0], "\r\n") {
				t.Fatalf("%s: Content-Disposition %q", name, cd)
			}
			disp, params, err := mime.ParseMediaType(cd[0])
			fn := params["filename"]
			if err != nil || disp != "attachment" || fn == "" {
				t.Fatalf("%s: Content-Disposition %q: %v", name, cd[0], err)
			}
			if strings.HasSuffix(strings.ToLower(fn), ".pdf") || !strings.HasSuffix(fn, ".png") {
				t.Errorf("%s: a PNG offered as %q", name, fn)
			}
			if strings.ContainsAny(fn, "\r\n/\\\";") {
				t.Errorf("%s: file name %q keeps a separator", name, fn)
			}
		}
	}
	if strings.Contains(thread.body, "Set-Cookie: hearth") || strings.Contains(thread.body, "\r\nX-Injected") {
		t.Errorf("the thread shows a raw CR LF name")
	}
}
