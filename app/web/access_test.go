package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hearth/app/clinic"
)

// TestEveryRouteDeclaresAccess: the route table is the one place access is
// declared, and nothing is served that is not in it.
func TestEveryRouteDeclaresAccess(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for _, rt := range e.web.routes {
		key := rt.method + " " + rt.pattern
		if seen[key] {
			t.Errorf("route %s declared twice", key)
		}
		seen[key] = true
		switch rt.access.kind {
		case "anyone", "setup", "staff", "patient", "hook":
		default:
			t.Errorf("route %s has no access rule", key)
		}
		if rt.h == nil {
			t.Errorf("route %s has no handler", key)
		}
		if rt.access.kind == "staff" && !strings.HasPrefix(rt.pattern, "/api/") {
			t.Errorf("staff route %s is outside /api/", key)
		}
	}
}

func fillPattern(p string) string {
	r := strings.NewReplacer("{id}", "00000000-0000-4000-8000-000000000001", "{token}", "not-the-token",
		"{hash}", "000000000000", "{tid}", "refill-sent", "{file...}", "hearth.css", "{code}", "ABCDEFGH")
	return r.Replace(p)
}

// TestRoleRouteMatrix calls every route as every kind of caller and checks
// the answer against the route's declared access.
func TestRoleRouteMatrix(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	canary := "Zelda Canarypatient"
	e.addPatient(owner, canary, "1950-01-01")
	e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	e.addStaff(owner, "Cal Clinician", "cal@maple.test", "clinician")
	disabled := e.addStaff(owner, "Dee Disabled", "dee@maple.test", "frontdesk")
	patientA, _ := e.patient(owner, "Ada Patient", "1970-06-15")
	patientB, _ := e.patient(owner, "Bo Patient", "1980-01-01")
	contact := e.contactUser("Cy Contact", "1990-02-03")
	if r := owner.req("PATCH", "/api/v1/staff/"+disabled.id, map[string]any{"disabled": true}); r.code != 200 {
		t.Fatalf("disable: %d %s", r.code, r.body)
	}
	// An expired session (not signed out): the owner signed in longer ago
	// than a session may last.
	now := e.clock.Now()
	e.clock.Set(now.Add(-clinic.SessionAbsolute - time.Minute))
	expired := e.owner()
	e.clock.Set(now)
	personas := []struct {
		name string
		make func() *user
		role string // "" for not signed in
	}{
		{"anonymous", e.anon, ""},
		{"frontdesk", func() *user { return e.login("fran@maple.test", "Staff-Password-frontdesk") }, "frontdesk"},
		{"clinician", func() *user { return e.login("cal@maple.test", "Staff-Password-clinician") }, "clinician"},
		{"owner", e.owner, "owner"},
		{"disabled", func() *user { return disabled }, ""},
		{"signed-out", func() *user {
			u := e.owner()
			u.req("POST", "/api/v1/logout", nil)
			return u
		}, ""},
		{"expired", func() *user { return expired }, ""},
		{"patient A", func() *user { return patientA }, "patient"},
		{"patient B", func() *user { return patientB }, "patient"},
		{"unverified contact", func() *user { return contact }, "patient"},
	}
	for _, rt := range e.web.routes {
		for _, p := range personas {
			u := p.make()
			path := fillPattern(rt.pattern)
			var body any
			if rt.method != "GET" {
				body = map[string]any{}
			}
			r := u.req(rt.method, path, body, "Origin", e.srv.URL)
			name := fmt.Sprintf("%s %s as %s", rt.method, rt.pattern, p.name)
			if strings.Contains(r.body, canary) && r.code >= 400 {
				t.Errorf("%s: a denial carries PHI", name)
			}
			switch rt.access.kind {
			case "setup":
				if r.code != http.StatusNotFound {
					t.Errorf("%s: %d, want 404 without the setup token", name, r.code)
				}
			case "patient":
				// Signed-out visitors and staff are sent to sign in as a
				// patient; nobody is refused outright with a 403.
				if p.role == "patient" && (r.code == http.StatusUnauthorized || r.code == http.StatusForbidden) {
					t.Errorf("%s: %d, want access", name, r.code)
				}
			case "staff":
				switch {
				case p.role == "" || p.role == "patient":
					if r.code != http.StatusUnauthorized {
						t.Errorf("%s: %d, want 401", name, r.code)
					}
				case rt.access.roles != nil && !contains(rt.access.roles, p.role):
					if r.code != http.StatusForbidden {
						t.Errorf("%s: %d, want 403", name, r.code)
					}
				default:
					if r.code == http.StatusUnauthorized || r.code == http.StatusForbidden {
						t.Errorf("%s: %d (%s), want access", name, r.code, r.body)
					}
				}
			case "anyone":
				if r.code == http.StatusForbidden {
					t.Errorf("%s: 403 on a public route", name)
				}
			case "hook":
				// A webhook answers only its signature: no session opens it.
				if r.code != http.StatusForbidden {
					t.Errorf("%s: %d, want 403 without the signature", name, r.code)
				}
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestCSRF: a state change without the token, or from another site, is
// refused even with a valid session.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	body := map[string]string{"name": "Ada Example", "dob": "1970-06-15"}
	token := owner.csrf
	owner.csrf = ""
	if r := owner.req("POST", "/api/v1/patients", body); r.code != 403 || !strings.Contains(r.body, `"csrf"`) {
		t.Errorf("no token: %d %s", r.code, r.body)
	}
	owner.csrf = "wrong"
	if r := owner.req("POST", "/api/v1/patients", body); r.code != 403 {
		t.Errorf("wrong token: %d", r.code)
	}
	owner.csrf = token
	if r := owner.req("POST", "/api/v1/patients", body, "Sec-Fetch-Site", "cross-site"); r.code != 403 {
		t.Errorf("cross-site fetch: %d", r.code)
	}
	if r := owner.req("POST", "/api/v1/patients", body, "Origin", "https://evil.example"); r.code != 403 {
		t.Errorf("foreign Origin: %d", r.code)
	}
	// A text/plain form post from another site (no preflight) is refused too.
	if r := owner.req("POST", "/api/v1/logout", "x=1", "Origin", "https://evil.example", "Content-Type", "text/plain"); r.code != 403 {
		t.Errorf("cross-site text/plain: %d", r.code)
	}
	if r := owner.req("POST", "/api/v1/patients", body, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"); r.code != 201 {
		t.Errorf("same-origin with the token: %d %s", r.code, r.body)
	}
}

// TestSecurityHeadersEverywhere: API, pages, errors and static files.
func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newEnv(t)
	u := e.anon()
	css, err := e.web.static.url("hearth.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/healthz", "/api/v1/items", "/no/such/page", "/staff/", css, "/api/v1/session"} {
		r := u.req("GET", p, nil)
		csp := r.h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s (%d): CSP lacks %q", p, r.code, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline or eval", p)
		}
		if r.h.Get("X-Content-Type-Options") != "nosniff" || r.h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: nosniff/referrer headers missing", p)
		}
		if p != css && r.h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", p, r.h.Get("Cache-Control"))
		}
	}
	if r := u.req("GET", css, nil); r.code != 200 || !strings.Contains(r.h.Get("Cache-Control"), "immutable") {
		t.Errorf("static file: %d %q", r.code, r.h.Get("Cache-Control"))
	}
}

// TestHostCheck closes DNS rebinding: a foreign Host gets 421 everywhere.
func TestHostCheck(t *testing.T) {
	e := newEnv(t)
	u := e.anon()
	for _, p := range []string{"/healthz", "/api/v1/login", "/"} {
		res := hostGet(t, u, e.srv.URL+p, "evil.example")
		if res.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s with Host evil.example: %d", p, res.StatusCode)
		}
	}
	// A name the owner configured is served.
	owner := e.owner()
	if r := owner.req("PUT", "/api/v1/settings", map[string]any{"host_names": []string{"portal.maple.example"}}); r.code != 200 {
		t.Fatalf("settings: %d %s", r.code, r.body)
	}
	if res := hostGet(t, u, e.srv.URL+"/healthz", "portal.maple.example"); res.StatusCode != 200 {
		t.Errorf("configured host: %d", res.StatusCode)
	}
}

// hostGet fetches url with the given Host header; only the status and
// headers are kept.
func hostGet(t *testing.T, u *user, url, host string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	res, err := u.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBodyLimit: a huge body is 413, not read.
func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	big := `{"name":"` + strings.Repeat("a", 3<<20) + `"}`
	r := owner.req("POST", "/api/v1/patients", big, "Content-Type", "application/json")
	if r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("3 MB body: %d", r.code)
	}
}

// TestMassAssignmentRefused: fields a caller may not set are refused.
func TestMassAssignmentRefused(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	r := owner.req("POST", "/api/v1/patients", map[string]any{"name": "Ada Example", "dob": "1970-06-15", "id": "chosen", "created": "2020-01-01T00:00:00Z"})
	if r.code != 400 || !strings.Contains(r.body, "does not take") {
		t.Errorf("unknown fields accepted: %d %s", r.code, r.body)
	}
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	if r := fran.req("PATCH", "/api/v1/staff/"+fran.id, map[string]any{"role": "owner"}); r.code != 403 {
		t.Errorf("frontdesk made themselves owner: %d", r.code)
	}
}

// TestLoginThrottle: wrong passwords slow to 429 per account and per client
// address, the real person gets back in when the window ends, and another
// account is not affected by a flood against one.
func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	u := e.anon()
	limit := e.web.limits.PerAccount
	for i := 0; i < limit; i++ {
		if r := u.req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": "wrong-guess-" + fmt.Sprint(i)}); r.code != 401 {
			t.Fatalf("try %d: %d", i, r.code)
		}
	}
	r := u.req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass})
	if r.code != 429 {
		t.Fatalf("after %d failures the right password answered %d, want 429", limit, r.code)
	}
	// Unknown accounts answer exactly like known ones.
	a := u.req("POST", "/api/v1/login", map[string]string{"email": "nobody@maple.test", "password": "x-wrong-password"})
	b := e.anon().req("POST", "/api/v1/login", map[string]string{"email": "fran@maple.test", "password": "x-wrong-password"})
	if a.code != b.code || a.body != b.body {
		t.Errorf("unknown vs known account: %d %q vs %d %q", a.code, a.body, b.code, b.body)
	}
	e.clock.Add(16 * time.Minute)
	if r := e.anon().req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass}); r.code != 200 {
		t.Fatalf("after the window the owner still cannot sign in: %d", r.code)
	}
	// The per-address budget: many accounts from one address.
	for i := 0; i < e.web.limits.PerClient; i++ {
		e.anon().req("POST", "/api/v1/login", map[string]string{"email": fmt.Sprintf("x%d@maple.test", i), "password": "wrong-password-1"})
	}
	if r := e.anon().req("POST", "/api/v1/login", map[string]string{"email": "fran@maple.test", "password": "Staff-Password-frontdesk"}); r.code != 429 {
		t.Errorf("per-address budget not enforced: %d", r.code)
	}
	// X-Forwarded-For does not buy a new budget.
	if r := e.anon().req("POST", "/api/v1/login", map[string]string{"email": "fran@maple.test", "password": "Staff-Password-frontdesk"}, "X-Forwarded-For", "10.9.9.9"); r.code != 429 {
		t.Errorf("X-Forwarded-For changed the throttle: %d", r.code)
	}
	if strings.Contains(e.log.String(), "fran@maple.test") || strings.Contains(e.log.String(), "wrong-password") {
		t.Errorf("sign-in attempts reached the log: %s", e.log.String())
	}
}

// contactUser is a browser that wrote through the no-account form and is
// following its conversation (an unverified contact).
func (e *env) contactUser(name, dob string) *user {
	e.t.Helper()
	v := e.anon()
	r := v.form("/contact", "/contact", url.Values{"name": {name}, "dob": {dob}, "phone": {"555-201-4455"}, "type": {"message"}, "body": {"Hello"}})
	if r.code != 200 {
		e.t.Fatalf("contact form: %d", r.code)
	}
	return v
}

// TestPatientMassAssignmentIgnored (checklist 27): a patient's form that
// also carries patient_id, status, queue, priority, assignee or created_at
// files the request as theirs, new, routed and unassigned as usual: the
// extra fields are ignored.
func TestPatientMassAssignmentIgnored(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	ada, adaID := e.patient(owner, "Ada Example", "1970-06-15")
	boID := e.addPatient(owner, "Bo Example", "1980-01-01")
	id, _ := ada.send("message", url.Values{"body": {"A question about my bill"},
		"patient_id": {boID}, "patient": {boID}, "status": {"closed"}, "queue": {"clinical"}, "priority": {"urgent"},
		"assignee": {owner.id}, "assigned_staff": {owner.id}, "created_at": {"2020-01-01T00:00:00Z"}, "role": {"owner"}})
	var got struct {
		Item struct {
			Patient  string `json:"patient_id"`
			Status   string `json:"status"`
			Queue    string `json:"queue"`
			Priority string `json:"priority"`
			Assignee string `json:"assignee"`
			Created  string `json:"created"`
		} `json:"item"`
	}
	owner.req("GET", "/api/v1/items/"+id, nil).json(t, &got)
	it := got.Item
	if it.Patient != adaID || it.Status != "new" || it.Queue == "clinical" || it.Priority == "urgent" || it.Assignee != "" ||
		strings.HasPrefix(it.Created, "2020") {
		t.Fatalf("extra form fields changed the request: %+v", it)
	}
}
