package web

import (
	"strings"
	"testing"

	"hearth/app/mail/mailtest"
)

func TestMailSettingsTestEmailAndOptOut(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	srv, _ := mailtest.Start(t, "clinic", "mail-pass")
	r := owner.req("PUT", "/api/v1/settings", map[string]any{"smtp_host": "127.0.0.1", "smtp_port": srv.Port(), "smtp_mode": "none",
		"smtp_user": "clinic", "smtp_password": "mail-pass", "mail_from": "front@maple.example", "public_url": "https://portal.maple.example"})
	if r.code != 200 || strings.Contains(r.body, "mail-pass") || !strings.Contains(r.body, `"smtp_password_set":true`) {
		t.Fatalf("save: %d %s", r.code, r.body)
	}
	// Saving back what was read keeps the password.
	got := owner.req("GET", "/api/v1/settings", nil)
	if r := owner.req("PUT", "/api/v1/settings", got.body, "Content-Type", "application/json"); r.code != 200 {
		t.Fatalf("round trip: %d %s", r.code, r.body)
	}
	if r := owner.req("POST", "/api/v1/settings/test-email", map[string]string{"to": "owner@maple.test"}); r.code != 200 {
		t.Fatalf("test email: %d %s", r.code, r.body)
	}
	if m := srv.Messages(); len(m) != 1 || !strings.Contains(m[0], "Test email from Maple Street Family Clinic") {
		t.Fatalf("received: %q", m)
	}
	owner.req("PUT", "/api/v1/settings", map[string]any{"smtp_password": "wrong"})
	if r := owner.req("POST", "/api/v1/settings/test-email", map[string]string{"to": "owner@maple.test"}); r.code != 400 || !strings.Contains(r.body, "535") {
		t.Fatalf("refused sign-in is not shown: %d %s", r.code, r.body)
	}
	// A patient with an address turns reply emails on from /me, and the
	// link in an email turns them off (a GET changes nothing).
	pid := e.addPatientEmail(owner, "Rosa Delgado", "1961-03-14", "rosa@example.com")
	u := e.signIn(owner, pid, "1961-03-14", "")
	mustContain(t, "/me", u.get("/me").body, "Email me when the clinic replies")
	location(t, u.form("/me", "/me/email", map[string][]string{"on": {"1"}}), "/me")
	mustContain(t, "/me", u.get("/me").body, "Stop reply emails")
	link := e.c.UnsubscribeLink(pid)
	v := e.anon()
	mustContain(t, "opt-out page", v.get(link).body, "Stop reply emails?")
	mustContain(t, "/me still on", u.get("/me").body, "Stop reply emails")
	r = v.form(link, link, nil)
	if r.code != 200 || !strings.Contains(r.body, "no more reply emails") {
		t.Fatalf("opt out: %d", r.code)
	}
	mustContain(t, "/me off", u.get("/me").body, "Email me when the clinic replies")
	if r := e.anon().form(link, "/u/"+pid+"/forged", nil); r.code != 404 {
		t.Fatalf("forged opt-out: %d", r.code)
	}
}

func (e *env) addPatientEmail(u *user, name, dob, email string) string {
	e.t.Helper()
	r := u.req("POST", "/api/v1/patients", map[string]string{"name": name, "dob": dob, "email": email, "lang": "en"})
	if r.code != 201 {
		e.t.Fatalf("add patient: %d %s", r.code, r.body)
	}
	var out struct{ ID string }
	r.json(e.t, &out)
	return out.ID
}
