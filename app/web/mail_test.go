package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"hearth/app/mail"

	"hearth/app/mail/mailtest"
	"hearth/app/store"
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

func TestSignInLinkByEmail(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	srv, _ := mailtest.Start(t, "", "")
	owner.req("PUT", "/api/v1/settings", map[string]any{"smtp_host": "127.0.0.1", "smtp_port": srv.Port(), "smtp_mode": "none",
		"mail_from": "front@maple.example", "public_url": "https://portal.maple.example"})
	e.addPatientEmail(owner, "Rosa Delgado", "1961-03-14", "rosa@example.com")
	v := e.anon()
	mustContain(t, "landing", v.get("/").body, `href="/link"`)
	known := v.form("/link", "/link", map[string][]string{"email": {"Rosa@Example.com"}})
	unknown := e.anon().form("/link", "/link", map[string][]string{"email": {"nobody@example.com"}})
	if known.code != 200 || unknown.code != 200 || !strings.Contains(known.body, "Check your email") || !strings.Contains(unknown.body, "Check your email") {
		t.Fatalf("answers differ or fail: %d %d", known.code, unknown.code)
	}
	if n, err := e.c.SendDueMail(context.Background(), mail.Send); err != nil || n != 1 {
		t.Fatalf("sent %d: %v", n, err)
	}
	m := regexp.MustCompile(`https://portal\.maple\.example(/l/[A-Za-z0-9_-]+)`).FindStringSubmatch(srv.Messages()[0])
	if m == nil {
		t.Fatalf("no link in %q", srv.Messages()[0])
	}
	link := m[1]
	// The token is at least 128 bits of randomness (checklist 35); only its
	// SHA-256 is stored, as the key of its record; it is in no log.
	token := strings.TrimPrefix(link, "/l/")
	if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) < 16 {
		t.Fatalf("sign-in token %q: %d bytes, %v", token, len(raw), err)
	}
	sum := sha256.Sum256([]byte(token))
	hashed := false
	if err := e.st.Export(context.Background(), func(en store.Entry) error {
		if bytes.Contains(en.Key, []byte(token)) || bytes.Contains(en.Value, []byte(token)) {
			t.Errorf("the sign-in token is stored in the clear (%s)", en.Name)
		}
		hashed = hashed || en.Name == "signin_links" && string(en.Key) == hex.EncodeToString(sum[:])
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !hashed {
		t.Error("no sign-in link record under the token's SHA-256")
	}
	// A mail scanner opening the link uses nothing up.
	for i := 0; i < 3; i++ {
		if r := e.anon().get(link); r.code != 200 || !strings.Contains(r.body, `name="dob`) {
			t.Fatalf("GET the link: %d", r.code)
		}
	}
	b := e.anon()
	if r := b.form(link, link, map[string][]string{"dob": {"1961-03-15"}}); r.code != 400 {
		t.Fatalf("wrong birth date: %d", r.code)
	}
	location(t, b.form(link, link, map[string][]string{"dob": {"03/14/1961"}}), "/me")
	mustContain(t, "/me", b.get("/me").body, "Rosa")
	if r := e.anon().get(link); r.code == 200 && strings.Contains(r.body, `name="dob`) {
		t.Fatal("the link works a second time")
	}
	// An unused link expires after 15 minutes.
	e.anon().form("/link", "/link", map[string][]string{"email": {"rosa@example.com"}})
	if n, err := e.c.SendDueMail(context.Background(), mail.Send); err != nil || n != 1 {
		t.Fatalf("second link mail: %d sent, %v", n, err)
	}
	m2 := regexp.MustCompile(`(/l/[A-Za-z0-9_-]+)`).FindStringSubmatch(srv.Messages()[1])
	e.clock.Add(16 * time.Minute)
	if r := e.anon().get(m2[1]); r.code == 200 && strings.Contains(r.body, `name="dob`) {
		t.Fatal("an expired link still works")
	}
	for _, tok := range []string{token, strings.TrimPrefix(m2[1], "/l/")} {
		if strings.Contains(e.log.String(), tok) {
			t.Fatal("a sign-in token is in the server log")
		}
	}
}
