package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hearth/app/clinic"
	"hearth/app/clinic/clinictest"
	"hearth/app/realtime"
)

// newFirstRun is a real server on a clinic not set up yet, with the
// one-time setup link and a recovery key to show, keeping its data in
// dataDir.
func newFirstRun(t *testing.T, dataDir string) *env {
	t.Helper()
	ck := clinictest.NewClock(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC))
	fx := clinictest.NewEnv(t, clinictest.Options{Now: ck.Now})
	logBuf := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: logBuf}, nil))
	hub := realtime.NewHub(log)
	files := clinictest.Embed()
	c := fx.Open(t, clinic.Deps{Store: fx.Store, Log: log, Events: hub, Files: files})
	hub.SetSource(c)
	w, err := New(Options{Clinic: c, Hub: hub, Files: files, Log: log, Version: "test", Addr: "127.0.0.1:0",
		Setup: &SetupState{Token: "first-run-token", Recovery: "RK-TEST-RECOVERY"}, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, web: w, c: c, clock: ck, hub: hub, log: logBuf, fx: fx, st: fx.Store, files: files}
}

const tooShort = "Use at least"

// TestSetupPasswordTooShortBeforeMismatch: a short password is reported as
// too short (not as two different passwords), every problem at once; a
// long enough one that differs is reported as different.
func TestSetupPasswordTooShortBeforeMismatch(t *testing.T) {
	e := newFirstRun(t, "")
	u := e.anon()
	post := func(v url.Values) resp {
		t.Helper()
		return u.post("/setup/first-run-token", v)
	}
	good := url.Values{"clinic_name": {"Maple Street"}, "owner_name": {"Olive Owner"}, "owner_email": {"olive@maple.test"}}
	with := func(pw, again string) url.Values {
		v := url.Values{}
		for k, x := range good {
			v[k] = x
		}
		v.Set("password", pw)
		v.Set("password_again", again)
		return v
	}
	for _, again := range []string{"abcde", "abcdf"} {
		r := post(with("abcde", again))
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, tooShort) || !strings.Contains(r.body, `id="password-err"`) {
			t.Fatalf("5-character password (again %q): %d\n%.1500s", again, r.code, r.body)
		}
		if strings.Contains(r.body, "not the same") {
			t.Errorf("5-character password (again %q): said the passwords differ", again)
		}
	}
	r := post(with("Long-Enough-Password-1", "Long-Enough-Password-2"))
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, "not the same") || strings.Contains(r.body, tooShort) {
		t.Fatalf("different passwords: %d\n%.1500s", r.code, r.body)
	}
	// Every problem at once.
	r = post(url.Values{"password": {"abc"}, "password_again": {"abc"}})
	for _, f := range []string{"clinic_name", "owner_name", "owner_email", "password"} {
		if !strings.Contains(r.body, `id="`+f+`-err"`) {
			t.Errorf("empty setup form: no error beside %s", f)
		}
	}
	if done, err := e.c.IsSetUp(t.Context()); err != nil || done {
		t.Fatalf("set up after refused forms: %v %v", done, err)
	}
}

// TestSetupSignsTheOwnerIn: after setup the browser that did it holds a
// staff session, so the console opens without the password again; the
// kit's restore command names the server's data folder; the sign-in is
// audited.
func TestSetupSignsTheOwnerIn(t *testing.T) {
	e := newFirstRun(t, "/var/lib/hearth")
	u := e.anon()
	if r := u.get("/api/v1/session"); r.code == http.StatusOK {
		t.Fatalf("a session before setup: %s", r.body)
	}
	r := u.post("/setup/first-run-token", url.Values{"clinic_name": {"Maple Street"}, "owner_name": {"Olive Owner"},
		"owner_email": {"olive@maple.test"}, "password": {"Long-Enough-Password-1"}, "password_again": {"Long-Enough-Password-1"}})
	location(t, r, "/setup/first-run-token/kit")
	ck := cookieIn(r, e.web.sessionCookie())
	if ck == nil || ck.Value == "" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie at setup: %+v", ck)
	}
	kit := u.get("/setup/first-run-token/kit")
	mustContain(t, "kit", kit.body, "RK-TEST-RECOVERY", "hearth restore --data /var/lib/hearth --recovery-key", "hearth serve --data /var/lib/hearth")
	if strings.Contains(kit.body, "hearth-data") {
		t.Error("the kit names hearth-data for a server kept in /var/lib/hearth")
	}
	s := u.get("/api/v1/session")
	if s.code != http.StatusOK || !strings.Contains(s.body, "olive@maple.test") {
		t.Fatalf("session after setup: %d %s", s.code, s.body)
	}
	var out struct{ Events []map[string]any }
	owner := e.login("olive@maple.test", "Long-Enough-Password-1")
	owner.req("GET", "/api/v1/audit?action=staff.signin", nil).json(t, &out)
	if len(out.Events) < 2 {
		t.Errorf("sign-ins audited: %d, want the one at setup and this one", len(out.Events))
	}
}

// TestKitDataDir: the restore command is ready to paste.
func TestKitDataDir(t *testing.T) {
	for in, want := range map[string]string{"": "hearth-data", "/var/lib/hearth": "/var/lib/hearth", "/srv/my clinic": "'/srv/my clinic'",
		"/srv/o'brien data": `'/srv/o'\''brien data'`} {
		if got := kitDataDir(in); got != want {
			t.Errorf("kitDataDir(%q) = %q, want %q", in, got, want)
		}
	}
	if got := kitDataDir("hearth-data"); !strings.HasPrefix(got, "/") || !strings.HasSuffix(got, "/hearth-data") {
		t.Errorf("a relative folder is written absolute: %q", got)
	}
}

// TestFavicon: every page links the icon, and /favicon.ico answers.
func TestFavicon(t *testing.T) {
	e := newEnv(t)
	u := e.anon()
	r := u.get("/favicon.ico")
	if r.code != http.StatusOK || r.h.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(r.body, "<svg") || r.h.Get("Cache-Control") != "no-store" {
		t.Fatalf("/favicon.ico: %d %q", r.code, r.h.Get("Content-Type"))
	}
	icon, err := e.web.static.url("favicon.svg")
	if err != nil {
		t.Fatal(err)
	}
	if r := u.get(icon); r.code != http.StatusOK {
		t.Fatalf("%s: %d", icon, r.code)
	}
	for _, p := range []string{"/", "/contact", "/letter", "/staff/", "/nope"} {
		if r := u.get(p); !strings.Contains(r.body, `<link rel="icon" href="`+icon+`"`) {
			t.Errorf("%s (%d) does not link the icon", p, r.code)
		}
	}
	f := newFirstRun(t, "")
	if r := f.anon().get("/setup/first-run-token"); !strings.Contains(r.body, `rel="icon"`) {
		t.Error("the setup page does not link the icon")
	}
}

// TestSetupTakesTheDomain: first-run setup asks for the internet name of
// Hearth's own HTTPS (optional); a name an ACME CA would refuse (an IP
// address, a port, a wildcard) is said beside the field, and a good one is
// saved in the settings, for the next start.
func TestSetupTakesTheDomain(t *testing.T) {
	e := newFirstRun(t, "")
	u := e.anon()
	if r := u.get("/setup/first-run-token"); !strings.Contains(r.body, `name="domain"`) {
		t.Fatalf("the setup form has no domain field:\n%.1500s", r.body)
	}
	form := func(domain string) url.Values {
		return url.Values{"clinic_name": {"Maple Street"}, "owner_name": {"Olive Owner"}, "owner_email": {"olive@maple.test"},
			"password": {"Long-Enough-Password-1"}, "password_again": {"Long-Enough-Password-1"}, "domain": {domain}}
	}
	for _, bad := range []string{"192.0.2.1", "portal.maple.test:443", "*.maple.test"} {
		r := u.post("/setup/first-run-token", form(bad))
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, `id="domain-err"`) {
			t.Errorf("domain %q: %d\n%.1500s", bad, r.code, r.body)
		}
	}
	location(t, u.post("/setup/first-run-token", form("Portal.Maple.test")), "/setup/first-run-token/kit")
	s, err := e.c.Settings(t.Context())
	if err != nil || s.Domain != "portal.maple.test" {
		t.Fatalf("the domain setting: %q %v", s.Domain, err)
	}
}
