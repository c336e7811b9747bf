package web

import (
	"strings"
	"testing"
	"time"

	"hearth/app/mail/mailtest"
)

// TestTurningTOTPOffNeedsThePasswordAndTellsTheAccount (checklist 45): a
// signed-in staff member cannot turn two-step sign-in off with the session
// alone: without the password, or with a wrong one, it stays on (and wrong
// passwords use the account's budget); with the password it goes off, and
// the account's email address gets a notice (naming the clinic, nothing
// else). An owner turning it off for someone (a lost phone) tells them
// too. Staff email addresses cannot be changed at all (no route takes
// one: SECURITY "Who may change a staff account"), so there is no email
// change to re-authenticate.
func TestTurningTOTPOffNeedsThePasswordAndTellsTheAccount(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	srv, _ := mailtest.Start(t, "", "")
	if r := owner.req("PUT", "/api/v1/settings", map[string]any{"smtp_host": "127.0.0.1", "smtp_port": srv.Port(), "smtp_mode": "none",
		"mail_from": "front@maple.example", "public_url": "https://portal.maple.example"}); r.code != 200 {
		t.Fatalf("mail settings: %d %s", r.code, r.body)
	}
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	enrolTOTP(t, e, fran)
	on := func(u *user) bool {
		t.Helper()
		var s struct {
			TOTP bool `json:"totp_enabled"`
		}
		r := u.req("GET", "/api/v1/session", nil)
		r.json(t, &s)
		return s.TOTP
	}
	if !on(fran) {
		t.Fatal("two-step sign-in is not on after enrolment")
	}
	for name, body := range map[string]any{"no body": nil, "no password": map[string]string{}, "wrong password": map[string]string{"password": "Wrong-Password-1"}} {
		if r := fran.req("DELETE", "/api/v1/me/totp", body); r.code != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.code, r.body)
		}
		if !on(fran) {
			t.Fatalf("%s turned two-step sign-in off", name)
		}
	}
	if len(srv.Messages()) != 0 {
		t.Fatalf("a refused change sent %d emails", len(srv.Messages()))
	}
	if r := fran.req("DELETE", "/api/v1/me/totp", map[string]string{"password": "Staff-Password-frontdesk"}); r.code != 200 {
		t.Fatalf("with the password: %d %s", r.code, r.body)
	}
	if on(fran) {
		t.Fatal("two-step sign-in is still on")
	}
	notice := waitMail(t, srv, "fran@maple.test", 1)
	if !strings.Contains(notice, "Two-step sign-in was turned off") || !strings.Contains(notice, "Maple Street Family Clinic") {
		t.Errorf("the notice:\n%s", notice)
	}
	// Wrong passwords count against the account: after the budget, even
	// the right one waits.
	enrolTOTP(t, e, fran)
	e.clock.Add(time.Minute)
	for i := 0; i < e.web.limits.PerAccount; i++ {
		fran.req("DELETE", "/api/v1/me/totp", map[string]string{"password": "Wrong-Password-1"})
	}
	if r := fran.req("DELETE", "/api/v1/me/totp", map[string]string{"password": "Staff-Password-frontdesk"}); r.code != 429 || !on(fran) {
		t.Fatalf("after %d wrong passwords: %d", e.web.limits.PerAccount, r.code)
	}
	// An owner turning it off for a lost phone: the person is told.
	if r := owner.req("DELETE", "/api/v1/staff/"+fran.id+"/totp", nil); r.code != 200 {
		t.Fatalf("owner turns it off: %d %s", r.code, r.body)
	}
	waitMail(t, srv, "fran@maple.test", 2)
}

// waitMail waits for the n-th email to to and returns it.
func waitMail(t *testing.T, srv *mailtest.Server, to string, n int) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var got []string
		for _, m := range srv.Messages() {
			if strings.Contains(m, "To: "+to+"\r\n") {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emails to %s, want %d", len(got), to, n)
		}
	}
}
