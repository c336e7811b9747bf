package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"strings"
	"testing"
)

// The outside tester's fourth finding: behind the HTTPS proxy the README
// recommends, every patient was one address, so thirty wrong invite codes
// from one person made a different patient's correct sign-in answer 429;
// and ten wrong vault passphrases from anyone kept the owner out.

func TestClientOf(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name, peer, xff, fwd, want string
	}{
		{"no proxy", "192.0.2.7:5000", "", "", "192.0.2.7"},
		{"an untrusted peer's header is ignored", "192.0.2.7:5000", "198.51.100.1", "for=198.51.100.2", "192.0.2.7"},
		{"the proxy's header", "127.0.0.1:5000", "198.51.100.1", "", "198.51.100.1"},
		{"a forged hop left of the real one", "127.0.0.1:5000", "203.0.113.66, 198.51.100.1", "", "198.51.100.1"},
		{"two proxies", "127.0.0.1:5000", "203.0.113.66, 198.51.100.1, 10.1.2.3", "", "198.51.100.1"},
		{"several header lines", "127.0.0.1:5000", "203.0.113.66\n198.51.100.1", "", "198.51.100.1"},
		{"a port on the hop", "127.0.0.1:5000", "198.51.100.1:4444", "", "198.51.100.1"},
		{"an unreadable hop", "127.0.0.1:5000", "203.0.113.66, not-an-address", "", "127.0.0.1"},
		{"everyone is a proxy", "127.0.0.1:5000", "10.9.9.9", "", "10.9.9.9"},
		{"Forwarded", "127.0.0.1:5000", "", `for=203.0.113.66, for="[2001:db8::1]:4711";proto=https`, "2001:db8::1"},
		{"Forwarded without for", "127.0.0.1:5000", "", "proto=https", "127.0.0.1"},
		{"Forwarded obfuscated", "127.0.0.1:5000", "", "for=_hidden", "127.0.0.1"},
		{"both agree", "127.0.0.1:5000", "198.51.100.1", "for=198.51.100.1", "198.51.100.1"},
		{"both disagree: neither is believed", "127.0.0.1:5000", "198.51.100.1", "for=203.0.113.66", "127.0.0.1"},
		{"IPv4 in IPv6", "127.0.0.1:5000", "::ffff:198.51.100.1", "", "198.51.100.1"},
		{"an IPv6 proxy", "[::1]:5000", "2001:db8::7", "", "2001:db8::7"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, l := range strings.Split(c.xff, "\n") {
			if l != "" {
				r.Header.Add("X-Forwarded-For", l)
			}
		}
		if c.fwd != "" {
			r.Header.Set("Forwarded", c.fwd)
		}
		if got := clientOf(r, trusted); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		if got := clientOf(r, nil); got != peerAddr(r) {
			t.Errorf("%s without --trusted-proxy: %s", c.name, got)
		}
	}
}

// loopbackProxy trusts the test proxy (and the tests' own requests that
// play one) on 127.0.0.1.
var loopbackProxy = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// proxyTo is a real reverse proxy on 127.0.0.1 in front of target. Like
// nginx's $proxy_add_x_forwarded_for, it passes on the X-Forwarded-For a
// client sent and appends the address the client connected from.
func proxyTo(t *testing.T, target string) *httptest.Server {
	t.Helper()
	u := mustParse(target)
	p := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
		pr.SetXForwarded()
		pr.Out.Host = pr.In.Host
	}})
	t.Cleanup(p.Close)
	return p
}

// guess uses up the guesser's budget of thirty failures: four wrong birth
// dates on a letter (under that letter's own budget of five) and twenty-six
// wrong invite codes, each request forging another X-Forwarded-For. Then it
// checks the guesser itself is held back.
func guess(t *testing.T, guesser *http.Client, base, code string) {
	t.Helper()
	form := hiddenInputs(hit(t, guesser, "GET", base+"/i/"+code, nil, "X-Forwarded-For", "203.0.113.200").body)
	for i := range 4 {
		form.Set("dob", fmt.Sprintf("1950-02-0%d", i+1))
		if r := hit(t, guesser, "POST", base+"/i/"+code, form, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", 100+i)); r.code != 400 {
			t.Fatalf("wrong birth date %d: %d", i, r.code)
		}
	}
	for i := range 26 {
		if r := hit(t, guesser, "GET", base+"/i/WRONG-CODE-"+fmt.Sprint(i), nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)); r.code != 404 {
			t.Fatalf("wrong code %d: %d", i, r.code)
		}
	}
	if r := hit(t, guesser, "GET", base+"/i/WRONG-CODE-LAST", nil, "X-Forwarded-For", "198.51.100.250", "Forwarded", "for=198.51.100.251"); r.code != 429 {
		t.Fatalf("the guesser was not held back: %d", r.code)
	}
}

// signInWith redeems code with the right birth date: /me, not 429.
func signInWith(t *testing.T, hc *http.Client, base, code, dob string) {
	t.Helper()
	page := hit(t, hc, "GET", base+"/i/"+code, nil)
	if page.code != 200 {
		t.Fatalf("the invite page for another patient: %d", page.code)
	}
	form := hiddenInputs(page.body)
	form.Set("dob", dob)
	location(t, hit(t, hc, "POST", base+"/i/"+code, form), "/me")
}

// TestProxyOneGuesserDoesNotLockOutOthers: two clients behind one trusted
// reverse proxy. Thirty wrong invite codes and birth dates, and thirty wrong
// staff passwords, from one of them leave the other's sign-ins working; the
// audit names each client's own address, not the proxy's.
func TestProxyOneGuesserDoesNotLockOutOthers(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	rosa := e.invite(owner, e.addPatient(owner, "Rosa Delgado", "1961-03-14"), "")
	ben := e.invite(owner, e.addPatient(owner, "Ben Ortiz", "1950-01-30"), "")
	hearth := e.serverWith(t, Options{TrustedProxies: loopbackProxy})
	proxy := proxyTo(t, hearth.URL)
	guesser, patient := browserFrom(t, "127.0.0.2"), browserFrom(t, "127.0.0.3")

	guess(t, guesser, proxy.URL, ben)
	signInWith(t, patient, proxy.URL, rosa, "1961-03-14")

	for i := range 30 {
		r := hit(t, guesser, "POST", proxy.URL+"/api/v1/login", map[string]string{"email": fmt.Sprintf("front%d@maple.test", i), "password": "guess"},
			"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		if r.code != 401 {
			t.Fatalf("wrong password %d: %d", i, r.code)
		}
	}
	if r := hit(t, guesser, "POST", proxy.URL+"/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass}); r.code != 429 {
		t.Fatalf("the password guesser was not held back: %d", r.code)
	}
	if r := hit(t, patient, "POST", proxy.URL+"/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass}); r.code != 200 {
		t.Fatalf("the owner behind the same proxy: %d %s", r.code, r.body)
	}
	r := hit(t, patient, "GET", proxy.URL+"/api/v1/audit?order=desc", nil)
	var out struct {
		Events []struct{ Action, Client string }
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.code != 200 {
		t.Fatalf("audit: %d %v", r.code, err)
	}
	seen := map[string]bool{}
	for _, ev := range out.Events {
		seen[ev.Client] = true
	}
	if !seen["127.0.0.3"] || !seen["127.0.0.2"] {
		t.Errorf("the audit does not name the clients behind the proxy: %v", seen)
	}
	for c := range seen {
		if strings.HasPrefix(c, "203.0.113.") || strings.HasPrefix(c, "198.51.100.") {
			t.Errorf("the audit believed a forged address: %s", c)
		}
	}
}

// TestForwardedIgnoredFromUntrustedPeers: without --trusted-proxy, and
// with it from a peer that is not the proxy, a forged X-Forwarded-For or
// Forwarded does not change whose budget a guess uses.
func TestForwardedIgnoredFromUntrustedPeers(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	rosa := e.invite(owner, e.addPatient(owner, "Rosa Delgado", "1961-03-14"), "")
	ben := e.invite(owner, e.addPatient(owner, "Ben Ortiz", "1950-01-30"), "")
	for _, o := range []Options{{}, {TrustedProxies: loopbackProxy}} {
		hearth := e.serverWith(t, o)
		guess(t, browserFrom(t, "127.0.0.2"), hearth.URL, ben)
		signInWith(t, browserFrom(t, "127.0.0.3"), hearth.URL, rosa, "1961-03-14")
		rosa = e.invite(owner, e.addPatient(owner, "Rosa Delgado", "1961-03-14"), "")
		ben = e.invite(owner, e.addPatient(owner, "Ben Ortiz", "1950-01-30"), "")
	}
	// The owner is told, once, that a proxy seems to be in front.
	if n := strings.Count(e.log.String(), "--trusted-proxy is not set"); n != 1 {
		t.Errorf("the hint to set --trusted-proxy was logged %d times", n)
	}
}

// TestUnlockNotExhaustedByStrangers: in sealed mode after a restart,
// wrong passphrases from two addresses that never signed in as staff use up
// their own budgets only; the owner's unlock from the office works. (Each
// wrong passphrase costs a second of scrypt, so the budgets are small: 3
// per client, and the 6 the old clinic-wide counter allowed.)
func TestUnlockNotExhaustedByStrangers(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	const passphrase = "maple street rainy tuesday"
	if r := owner.req("POST", "/api/v1/settings/passphrase", map[string]string{"password": ownerPass, "passphrase": passphrase}); r.code != 200 {
		t.Fatalf("set passphrase: %d %s", r.code, r.body)
	}
	l := e.restart(t)
	hearth := l.serverWith(t, Options{Limits: Limits{PerAccount: 3, PerClient: 6}})
	for _, ip := range []string{"127.0.0.2", "127.0.0.4"} {
		stranger := browserFrom(t, ip)
		for i := range 4 {
			r := hit(t, stranger, "POST", hearth.URL+"/api/v1/unlock", map[string]string{"passphrase": "guess " + fmt.Sprint(i)})
			if want := map[bool]int{true: 401, false: 429}[i < 3]; r.code != want {
				t.Fatalf("%s guess %d: %d, want %d", ip, i, r.code, want)
			}
		}
		if r := hit(t, stranger, "POST", hearth.URL+"/api/v1/unlock", map[string]string{"passphrase": passphrase}); r.code != 429 {
			t.Fatalf("%s, over its budget, unlocked: %d", ip, r.code)
		}
	}
	if r := hit(t, browserFrom(t, "127.0.0.3"), "POST", hearth.URL+"/api/v1/unlock", map[string]string{"passphrase": passphrase}); r.code != 200 {
		t.Fatalf("the owner's unlock after strangers' guesses: %d %s", r.code, r.body)
	}
}

// TestStaffFromRefusesOtherNetworks: with --staff-from, staff routes
// answer 403 with the catalogue's wording to every other network (by the
// believed address, so also behind the proxy), and patient pages answer
// everyone.
func TestStaffFromRefusesOtherNetworks(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	rosa := e.invite(owner, e.addPatient(owner, "Rosa Delgado", "1961-03-14"), "")
	hearth := e.serverWith(t, Options{TrustedProxies: loopbackProxy, StaffFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}})
	proxy := proxyTo(t, hearth.URL)
	outside, office := browserFrom(t, "127.0.0.2"), browserFrom(t, "127.0.0.3")
	login := map[string]string{"email": ownerEmail, "password": ownerPass}
	for _, base := range []string{hearth.URL, proxy.URL} {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1/login", login},
			{"POST", "/api/v1/unlock", map[string]string{"passphrase": "x"}},
			{"GET", "/api/v1/session", nil},
			{"GET", "/api/v1/ws", nil},
			{"GET", "/api/v1/items", nil},
			{"GET", "/staff/", nil},
		} {
			r := hit(t, outside, c.method, base+c.path, c.body)
			if r.code != 403 || !strings.Contains(htmlUnescape(r.body), "clinic's own network") {
				t.Errorf("%s %s from outside: %d %.200s", c.method, c.path, r.code, r.body)
			}
		}
		if r := hit(t, outside, "GET", base+"/", nil); r.code != 200 {
			t.Errorf("the patient landing page from outside: %d", r.code)
		}
		if r := hit(t, outside, "GET", base+"/i/"+rosa, nil); r.code != 200 {
			t.Errorf("an invite page from outside: %d", r.code)
		}
		if r := hit(t, office, "GET", base+"/staff/", nil); r.code != 200 {
			t.Errorf("the console from the office: %d", r.code)
		}
		if r := hit(t, office, "POST", base+"/api/v1/login", login); r.code != 200 {
			t.Errorf("sign-in from the office: %d %s", r.code, r.body)
		}
	}
	form := hiddenInputs(hit(t, outside, "GET", proxy.URL+"/i/"+rosa, nil).body)
	form.Set("dob", "1961-03-14")
	location(t, hit(t, outside, "POST", proxy.URL+"/i/"+rosa, form), "/me")
}
