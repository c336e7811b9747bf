package web

import (
	"context"
	"mime"
	"net/url"
	"strings"
	"testing"

	"hearth/app/clinic"
)

// onSite reports whether a Location header keeps the browser on this site:
// a path, with no scheme, no host, no "//" or "/\" (which browsers read as
// another host) and no line breaks.
func onSite(loc string) bool {
	if loc == "" {
		return true
	}
	if strings.ContainsAny(loc, "\r\n") || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
		return false
	}
	u, err := url.Parse(loc)
	return err == nil && u.Scheme == "" && u.Host == ""
}

var hostileTargets = []string{
	"https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example", "http:evil.example",
	"javascript:alert(1)", "/%2F%2Fevil.example", "a\r\nSet-Cookie: hearth_csrf=x", "%0d%0aLocation:%20https://evil.example",
	"\u202e//evil.example",
}

// TestRedirectsStayOnSite: no page takes a return-to address (next=,
// return_to=, redirect=, url=) from the request, and the one redirect that
// echoes input (the landing page's code box) stays a path on this site,
// whatever the input: no open redirect, no header split.
func TestRedirectsStayOnSite(t *testing.T) {
	e := newEnv(t)
	anon := e.anon()
	for _, v := range hostileTargets {
		r := anon.req("GET", "/i?code="+url.QueryEscape(v), nil)
		if r.code/100 != 3 {
			t.Errorf("/i?code=%q: %d, want a redirect", v, r.code)
		}
		if loc := r.h.Get("Location"); !onSite(loc) {
			t.Errorf("/i?code=%q redirects to %q", v, loc)
		}
		if ck := r.h.Values("Set-Cookie"); len(ck) > 0 && strings.Contains(strings.Join(ck, ";"), "hearth_csrf=x") {
			t.Errorf("/i?code=%q split the header into a cookie: %v", v, ck)
		}
	}
	pages := []string{"/", "/i", "/link", "/contact", "/letter", "/me", "/new", "/staff/", "/setup/x", "/api/v1/session"}
	for _, p := range pages {
		for _, param := range []string{"next", "return_to", "redirect", "url", "continue"} {
			for _, v := range hostileTargets[:3] {
				r := anon.req("GET", p+"?"+param+"="+url.QueryEscape(v), nil)
				if loc := r.h.Get("Location"); !onSite(loc) {
					t.Errorf("GET %s?%s=%q redirects to %q", p, param, v, loc)
				}
			}
		}
	}
	owner := e.owner()
	r := owner.req("POST", "/api/v1/login?next="+url.QueryEscape("https://evil.example/"), map[string]string{"email": ownerEmail, "password": ownerPass})
	if loc := r.h.Get("Location"); !onSite(loc) {
		t.Errorf("login with next= redirects to %q", loc)
	}
}

// TestFileNameCannotSplitHeaders: a file uploaded under a name carrying
// CRLF, quotes, a semicolon and a path is served with one well-formed
// Content-Disposition whose file name has none of them in a form a
// browser would act on, and no header of the name's making.
func TestFileNameCannotSplitHeaders(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	png := smallPNG(t)
	names := []string{
		"x.png\r\nSet-Cookie: hearth_csrf=evil\r\nX-Injected: 1",
		"x\".png; filename=evil.html",
		"../../etc/x.png",
		"a\u202egnp.html",
		"%0d%0aX-Injected: 1.png",
	}
	var uploads []clinic.Upload
	for _, n := range names[:3] {
		uploads = append(uploads, clinic.Upload{Name: n, Data: png})
	}
	ack, err := e.c.CreateItem(context.Background(), clinic.Actor{Kind: clinic.ActorPatient, ID: pid, Patient: pid},
		clinic.NewItem{Type: "message", Body: "Photos", Files: uploads})
	if err != nil {
		t.Fatal(err)
	}
	ack2, err := e.c.CreateItem(context.Background(), clinic.Actor{Kind: clinic.ActorPatient, ID: pid, Patient: pid},
		clinic.NewItem{Type: "message", Body: "More", Files: []clinic.Upload{{Name: names[3], Data: png}, {Name: names[4], Data: png}}})
	if err != nil {
		t.Fatal(err)
	}
	var files []clinic.Attachment
	for _, id := range []string{ack.Item.ID, ack2.Item.ID} {
		var th struct{ Messages []clinic.Message }
		owner.req("GET", "/api/v1/items/"+id, nil).json(t, &th)
		for _, m := range th.Messages {
			files = append(files, m.Files...)
		}
	}
	if len(files) != len(names) {
		t.Fatalf("%d files stored of %d", len(files), len(names))
	}
	for _, f := range files {
		r := owner.req("GET", "/api/v1/files/"+f.ID, nil)
		if r.code != 200 {
			t.Fatalf("file %s: %d %.200s", f.ID, r.code, r.body)
		}
		if r.h.Get("X-Injected") != "" || strings.Contains(strings.Join(r.h.Values("Set-Cookie"), ";"), "evil") {
			t.Errorf("a file name made its own header: %v", r.h)
		}
		cd := r.h.Values("Content-Disposition")
		if len(cd) != 1 || strings.ContainsAny(cd[0], "\r\n") {
			t.Fatalf("Content-Disposition %q", cd)
		}
		disp, params, err := mime.ParseMediaType(cd[0])
		if err != nil || disp != "attachment" {
			t.Errorf("Content-Disposition %q: %q %v", cd[0], disp, err)
		}
		name := params["filename"]
		if name == "" || strings.ContainsAny(name, "\r\n/\\\"") || strings.Contains(name, "..") {
			t.Errorf("served file name %q (from Content-Disposition %q)", name, cd[0])
		}
		if r.h.Get("X-Content-Type-Options") != "nosniff" {
			t.Error("a file served without nosniff")
		}
	}
}
