package web

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// Checklist lines 48 and 42: Hearth on the office network, over plain HTTP
// and under TLS. An API call is never redirected in a way that turns a POST
// into a GET and drops its body (no 301, 302 or 303 on /api/v1/*; a cleaned
// path answers 307, which keeps both); the staff websocket keeps the same
// Origin and session rules on ws:// and wss://; and under TLS every cookie is
// Secure, the session, device, contact and form-token cookies carry the
// __Host- prefix (so Path=/ and no Domain), and all are HttpOnly with a
// SameSite mode.

// tlsTwin is a second env whose server speaks HTTPS (Options.TLS, as
// `hearth serve --tls-cert` sets it) on e's clinic.
func tlsTwin(t *testing.T, e *env) *env {
	t.Helper()
	w, err := New(Options{Clinic: e.c, Hub: e.hub, Files: e.files, Log: e.web.log, Version: "test", Addr: "127.0.0.1:0", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(w.Handler())
	t.Cleanup(srv.Close)
	twin := *e
	twin.srv, twin.web = srv, w
	return &twin
}

// browser is a new browser for e's server, HTTPS or not; it does not
// follow redirects.
func browser(t *testing.T, e *env) *user {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &user{e: e, hc: &http.Client{Jar: jar, Transport: e.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func signInOn(t *testing.T, e *env) (*user, resp) {
	t.Helper()
	u := browser(t, e)
	r := u.req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass}, "Origin", e.srv.URL)
	if r.code != 200 {
		t.Fatalf("login on %s: %d %s", e.srv.URL, r.code, r.body)
	}
	var out struct {
		CSRF string `json:"csrf"`
	}
	r.json(t, &out)
	u.csrf = out.CSRF
	return u, r
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

func TestAPINeverRedirectsAwayMethodOrBody(t *testing.T) {
	e := newEnv(t)
	for _, srv := range []*env{e, tlsTwin(t, e)} {
		owner, _ := signInOn(t, srv)
		anon := browser(t, srv)
		n := 0
		for _, rt := range srv.web.routes {
			if !strings.HasPrefix(rt.pattern, "/api/") || isSafeMethod(rt.method) {
				continue
			}
			n++
			p := pathParam.ReplaceAllString(rt.pattern, "x")
			// The path as routed, and untidy spellings a client or proxy
			// may produce, which the router cleans.
			variants := []string{p, strings.Replace(p, "/api/v1/", "/api/v1//", 1), strings.Replace(p, "/api/v1/", "/api/v1/./", 1)}
			for _, u := range []*user{anon, owner} {
				for _, v := range variants {
					r := u.req(rt.method, v, map[string]string{"probe": "body"}, "Origin", srv.srv.URL)
					switch r.code {
					case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
						t.Errorf("%s %s %s: %d to %q: the client would resend without the method or body",
							srv.srv.URL[:5], rt.method, v, r.code, r.h.Get("Location"))
					case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
						if loc := r.h.Get("Location"); loc != p {
							t.Errorf("%s %s: %d to %q, want the cleaned path %s on this origin", rt.method, v, r.code, loc, p)
						}
					}
					if v == p && r.code >= 300 && r.code < 400 {
						t.Errorf("%s %s: %d: a tidy API path is never redirected", rt.method, v, r.code)
					}
				}
			}
		}
		t.Logf("%s: %d state-changing API routes, each tidy and untidy, signed in and not", srv.srv.URL[:5], n)
		if n < 20 {
			t.Fatalf("only %d state-changing API routes found in the route table", n)
		}
	}
}

// Plain HTTP: the same cookies without the prefix or Secure (a browser
// would drop a Secure cookie set over http://), so the office-network setup
// works; under TLS, Secure and __Host- (line 42).
func TestCookieAttributesFollowTLS(t *testing.T) {
	e := newEnv(t)
	for _, srv := range []*env{e, tlsTwin(t, e)} {
		tlsOn := strings.HasPrefix(srv.srv.URL, "https://")
		owner, login := signInOn(t, srv)
		cookies := map[string]*http.Cookie{}
		collect := func(r resp) {
			for _, line := range r.h.Values("Set-Cookie") {
				c, err := http.ParseSetCookie(line)
				if err != nil {
					t.Fatalf("Set-Cookie %q: %v", line, err)
				}
				if c.Domain != "" {
					t.Errorf("cookie %s has Domain=%s", c.Name, c.Domain)
				}
				if strings.Contains(strings.ToLower(line), "domain=") {
					t.Errorf("cookie line sets a domain: %q", line)
				}
				cookies[c.Name+"@"+line] = c
			}
		}
		collect(login)
		// A patient: the form token, then the device cookie from an invite.
		pid := srv.addPatient(owner, "Cora Cookie", "1975-05-05")
		code := srv.invite(owner, pid, "")
		pat := browser(t, srv)
		page := pat.get("/i/" + code)
		collect(page)
		v := hiddenInputs(page.body)
		v.Set("dob", "1975-05-05")
		r := pat.post("/i/"+code, v)
		location(t, r, "/me")
		collect(r)
		collect(pat.get("/?lang=es"))
		// A first contact without an account: the contact cookie.
		cpage := browser(t, srv)
		cp := cpage.get("/contact")
		collect(cp)
		cv := hiddenInputs(cp.body)
		for k, val := range map[string]string{"name": "Cal Contact", "dob": "1980-08-08", "phone": "555-201-3344", "type": "message", "body": "hello there"} {
			cv.Set(k, val)
		}
		collect(cpage.post("/contact", cv))
		collect(owner.req("POST", "/api/v1/logout", nil, "Origin", srv.srv.URL))

		seen := map[string]bool{}
		for _, c := range cookies {
			base := strings.TrimPrefix(c.Name, "__Host-")
			seen[base] = true
			if !c.HttpOnly {
				t.Errorf("%s: cookie %s is not HttpOnly", srv.srv.URL[:5], c.Name)
			}
			if c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode {
				t.Errorf("%s: cookie %s has SameSite %v", srv.srv.URL[:5], c.Name, c.SameSite)
			}
			if c.Path != "/" {
				t.Errorf("%s: cookie %s has Path %q", srv.srv.URL[:5], c.Name, c.Path)
			}
			if c.Secure != tlsOn {
				t.Errorf("cookie %s: Secure=%v with TLS %v", c.Name, c.Secure, tlsOn)
			}
			// The language choice is no secret and keeps its plain name;
			// every cookie that proves something takes the prefix.
			wantPrefix := tlsOn && base != langCookie
			if strings.HasPrefix(c.Name, "__Host-") != wantPrefix {
				t.Errorf("cookie %s: __Host- prefix %v with TLS %v", c.Name, !wantPrefix, tlsOn)
			}
		}
		t.Logf("%s: cookies %v", srv.srv.URL[:5], func() (names []string) {
			for _, c := range cookies {
				names = append(names, c.Name)
			}
			return names
		}())
		for _, want := range []string{"hearth_staff", deviceCookieName, csrfCookieName, contactCookieName, langCookie} {
			if !seen[want] {
				t.Errorf("%s: never saw the %s cookie (seen %v)", srv.srv.URL[:5], want, seen)
			}
		}
	}
}

// ws:// and wss:// follow one rule: no Origin, "null" or another site is
// 403; no session is 401; the page's own origin with a session upgrades.
func TestWebsocketSameRulesOnWSAndWSS(t *testing.T) {
	e := newEnv(t)
	for _, srv := range []*env{e, tlsTwin(t, e)} {
		owner, _ := signInOn(t, srv)
		wsURL := "ws" + strings.TrimPrefix(srv.srv.URL, "http") + "/api/v1/ws"
		dialer := &websocket.Dialer{TLSClientConfig: srv.srv.Client().Transport.(*http.Transport).TLSClientConfig}
		dial := func(u *user, origin string) (*websocket.Conn, *http.Response, error) {
			hdr := http.Header{}
			if origin != "" {
				hdr.Set("Origin", origin)
			}
			for _, c := range u.hc.Jar.Cookies(mustParse(srv.srv.URL)) {
				hdr.Add("Cookie", c.Name+"="+c.Value)
			}
			return dialer.Dial(wsURL, hdr)
		}
		other := "http://evil.example"
		if strings.HasPrefix(srv.srv.URL, "https") {
			other = "https://evil.example"
		}
		for _, o := range []string{"", "null", other} {
			c, res, err := dial(owner, o)
			if err == nil {
				closeWS(t, c)
				t.Errorf("%s Origin %q: upgraded", wsURL, o)
			} else if res == nil || res.StatusCode != 403 {
				t.Errorf("%s Origin %q: %v", wsURL, o, err)
			}
		}
		if _, res, err := dial(browser(t, srv), srv.srv.URL); err == nil || res == nil || res.StatusCode != 401 {
			t.Errorf("%s without a session: %v", wsURL, err)
		}
		c, _, err := dial(owner, srv.srv.URL)
		if err != nil {
			t.Fatalf("%s same origin with a session: %v", wsURL, err)
		}
		closeWS(t, c)
	}
}
