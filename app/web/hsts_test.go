package web

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestHSTSOnEveryRouteUnderTLS (checklist 47): under TLS every route of the
// table, signed in and signed out, whatever its status (a 404 for an id that
// names nothing, a 401, a 405 or 421 included), carries
// Strict-Transport-Security; on plain HTTP none does (a browser would
// otherwise pin a clinic's office address to HTTPS it does not serve). A
// route added later is swept without anyone remembering to add it here.
func TestHSTSOnEveryRouteUnderTLS(t *testing.T) {
	e := newEnv(t)
	twin := tlsTwin(t, e)
	owner, _ := signInOn(t, twin)
	anon := browser(t, twin)
	plain := e.anon()
	param := regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)
	const want = "max-age=31536000; includeSubDomains"
	get := func(u *user, base, method, path, host string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		res, err := u.hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Fatal(err)
		}
		if err := res.Body.Close(); err != nil {
			t.Fatal(err)
		}
		return res
	}
	swept := 0
	for _, rt := range twin.web.routeTable() {
		path := param.ReplaceAllStringFunc(rt.pattern, func(p string) string {
			if strings.HasSuffix(p, "...}") {
				return "hearth.css"
			}
			if p == "{hash}" {
				return twin.web.static.hash
			}
			return "00000000-0000-4000-8000-000000000000"
		})
		for _, who := range []struct {
			name string
			u    *user
		}{{"owner", owner}, {"signed out", anon}} {
			// No CSRF token and no body: nothing here changes anything.
			res := get(who.u, twin.srv.URL, rt.method, path, "")
			if got := res.Header.Get("Strict-Transport-Security"); got != want {
				t.Errorf("TLS %s %s (%s, %d): Strict-Transport-Security %q, want %q", rt.method, path, who.name, res.StatusCode, got, want)
			}
			swept++
		}
		if res := get(plain, e.srv.URL, rt.method, path, ""); res.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("plain HTTP %s %s (%d) sends HSTS", rt.method, path, res.StatusCode)
		}
	}
	// Answers no route gives: an unknown page, a wrong method, a foreign Host.
	for _, c := range []struct{ method, path, host string }{
		{"GET", "/no/such/page", ""}, {"PUT", "/healthz", ""}, {"GET", "/", "evil.example"},
	} {
		res := get(anon, twin.srv.URL, c.method, c.path, c.host)
		if res.Header.Get("Strict-Transport-Security") != want {
			t.Errorf("TLS %s %s host %q (%d): no HSTS", c.method, c.path, c.host, res.StatusCode)
		}
	}
	if swept < 80 {
		t.Fatalf("only %d route answers swept", swept)
	}
	if r := owner.req("GET", "/api/v1/session", nil); r.code != http.StatusOK {
		t.Fatalf("the owner's session after the sweep: %d", r.code)
	}
}
