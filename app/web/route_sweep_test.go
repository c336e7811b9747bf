package web

import (
	"io"
	"net/http"
	"net/http/httptest"
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

// TestLANIsNotTrust (checklist 32): a request from an office-network
// address with no session is 401 on every staff API route, exactly as from
// anywhere else, and a forged X-Forwarded-For naming loopback changes
// nothing (no trusted proxy is set).
func TestLANIsNotTrust(t *testing.T) {
	e := newEnv(t)
	h := e.web.Handler()
	host := strings.TrimPrefix(e.srv.URL, "http://")
	param := regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)
	checked := 0
	for _, rt := range e.web.routeTable() {
		if !strings.HasPrefix(rt.pattern, "/api/v1/") || rt.access.kind != "staff" {
			continue
		}
		path := param.ReplaceAllString(rt.pattern, "00000000-0000-4000-8000-000000000000")
		for _, fwd := range []string{"", "127.0.0.1"} {
			req := httptest.NewRequest(rt.method, path, strings.NewReader("{}"))
			req.Host = host
			req.RemoteAddr = "192.168.1.20:50123"
			req.Header.Set("Content-Type", "application/json")
			if fwd != "" {
				req.Header.Set("X-Forwarded-For", fwd)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			// A state change without a session may be refused for its
			// missing CSRF token or Origin first (403); it is never served.
			if rec.Code != http.StatusUnauthorized && !(rt.method != "GET" && rec.Code == http.StatusForbidden) {
				t.Errorf("%s %s from the LAN (X-Forwarded-For %q), no session: %d %s", rt.method, path, fwd, rec.Code, rec.Body)
			}
			checked++
		}
	}
	if checked < 60 {
		t.Fatalf("only %d staff API requests were tried", checked)
	}
}
