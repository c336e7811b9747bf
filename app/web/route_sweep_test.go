package web

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestEveryRouteRefusesForeignHostsAndCarriesTheHeaders sweeps the whole
// route table (checklist lines 44 and 47): every route, signed in as the
// owner and signed out, answers a foreign Host with 421 before any handler
// runs, and every answer it gives with the right Host, whatever its status,
// carries the CSP, nosniff, no-referrer, no framing, and either no-store or
// (static files only) an immutable cache. A route added later is swept
// without anyone remembering to add it here.
func TestEveryRouteRefusesForeignHostsAndCarriesTheHeaders(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	anon := e.anon()
	routes := e.web.routeTable()
	if len(routes) < 40 {
		t.Fatalf("the route table has only %d routes", len(routes))
	}
	param := regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)
	for _, rt := range routes {
		// A path that matches the pattern; ids that name nothing.
		path := param.ReplaceAllStringFunc(rt.pattern, func(p string) string {
			if strings.HasSuffix(p, "...}") {
				return "hearth.css"
			}
			if p == "{hash}" {
				return e.web.static.hash // this build's: the file is found
			}
			return "00000000-0000-4000-8000-000000000000"
		})
		for _, who := range []struct {
			name string
			u    *user
		}{{"owner", owner}, {"signed out", anon}} {
			do := func(host string) *http.Response {
				t.Helper()
				// No CSRF header and no body: nothing this sends may change
				// anything, so the sweep cannot sign the owner out.
				req, err := http.NewRequest(rt.method, e.srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if host != "" {
					req.Host = host
				}
				res, err := who.u.hc.Do(req)
				if err != nil {
					t.Fatalf("%s %s (%s): %v", rt.method, path, who.name, err)
				}
				if _, err := io.Copy(io.Discard, res.Body); err != nil {
					t.Fatal(err)
				}
				if err := res.Body.Close(); err != nil {
					t.Fatal(err)
				}
				return res
			}
			if res := do("evil.example"); res.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("%s %s (%s) with Host evil.example: %d, want 421", rt.method, path, who.name, res.StatusCode)
			}
			res := do("")
			h := res.Header
			want := map[string]string{
				"Content-Security-Policy": contentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s %s (%s, %d): %s = %q, want %q", rt.method, path, who.name, res.StatusCode, k, got, v)
				}
			}
			cc := h.Get("Cache-Control")
			static := strings.HasPrefix(rt.pattern, "/s/") && res.StatusCode == http.StatusOK
			if rt.pattern == "/urgent-words.json" && res.StatusCode == http.StatusOK {
				// The built-in urgent-word list the compose page checks as a
				// patient types: public words, no PHI, cached briefly.
				if cc != "private, max-age=300" {
					t.Errorf("%s (%s): Cache-Control %q", rt.pattern, who.name, cc)
				}
			} else if static && !strings.Contains(cc, "immutable") || !static && !strings.Contains(cc, "no-store") {
				t.Errorf("%s %s (%s, %d): Cache-Control %q", rt.method, path, who.name, res.StatusCode, cc)
			}
		}
	}
	// The sweep sent no CSRF token, so the owner is still signed in.
	if r := owner.req("GET", "/api/v1/session", nil); r.code != http.StatusOK {
		t.Fatalf("the owner's session after the sweep: %d %s", r.code, r.body)
	}
}
