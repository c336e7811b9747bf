package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func sessionCookie(u *user, e *env) *http.Cookie {
	for _, c := range u.hc.Jar.Cookies(mustParse(e.srv.URL)) {
		if c.Name == e.web.sessionCookie() {
			return c
		}
	}
	return nil
}

// totpCode is the authenticator app's code for secret at now.
func totpCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestSessionCookieAndFixation(t *testing.T) {
	e := newEnv(t)
	u := e.anon()
	// A cookie planted before sign-in is not the one used after.
	u.hc.Jar.SetCookies(mustParse(e.srv.URL), []*http.Cookie{{Name: e.web.sessionCookie(), Value: "planted", Path: "/"}})
	r := u.req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass})
	if r.code != 200 {
		t.Fatal(r.code)
	}
	sc := r.h.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie lacks %s: %s", want, sc)
		}
	}
	if strings.Contains(sc, "Domain=") || strings.Contains(sc, "planted") {
		t.Errorf("cookie: %s", sc)
	}
	if c := sessionCookie(u, e); c == nil || c.Value == "planted" || len(c.Value) < 40 {
		t.Fatalf("session cookie after sign-in: %+v", c)
	}
}

func TestLogoutThenReplay(t *testing.T) {
	e := newEnv(t)
	u := e.owner()
	old := *sessionCookie(u, e)
	if r := u.req("POST", "/api/v1/logout", nil); r.code != 200 {
		t.Fatal(r.code)
	}
	replay := e.anon()
	replay.hc.Jar.SetCookies(mustParse(e.srv.URL), []*http.Cookie{&old})
	if r := replay.req("GET", "/api/v1/session", nil); r.code != 401 {
		t.Fatalf("the signed-out cookie still works: %d", r.code)
	}
}

func TestIdleLockAndExpiry(t *testing.T) {
	e := newEnv(t)
	u := e.owner()
	e.clock.Add(14 * time.Minute)
	if r := u.req("GET", "/api/v1/staff", nil); r.code != 200 {
		t.Fatalf("within the idle time: %d", r.code)
	}
	e.clock.Add(16 * time.Minute)
	r := u.req("GET", "/api/v1/staff", nil)
	if r.code != 401 || !strings.Contains(r.body, "session_locked") {
		t.Fatalf("after 16 idle minutes: %d %s", r.code, r.body)
	}
	if r := u.req("GET", "/api/v1/session", nil); r.code != 200 || !strings.Contains(r.body, `"locked":true`) {
		t.Fatalf("session while locked: %d %s", r.code, r.body)
	}
	if r := u.req("POST", "/api/v1/session/unlock", map[string]string{"password": "not-it-at-all"}); r.code != 401 {
		t.Fatalf("wrong password unlocks: %d", r.code)
	}
	if r := u.req("POST", "/api/v1/session/unlock", map[string]string{"password": ownerPass}); r.code != 200 {
		t.Fatalf("unlock: %d %s", r.code, r.body)
	}
	if r := u.req("GET", "/api/v1/staff", nil); r.code != 200 {
		t.Fatalf("after unlock: %d", r.code)
	}
	// A PIN resumes too, and five wrong PINs leave only the password.
	if r := u.req("POST", "/api/v1/me/pin", map[string]string{"password": ownerPass, "pin": "4821"}); r.code != 200 {
		t.Fatalf("set PIN: %d %s", r.code, r.body)
	}
	u.req("POST", "/api/v1/session/lock", nil)
	if r := u.req("POST", "/api/v1/session/unlock", map[string]string{"pin": "4821"}); r.code != 200 {
		t.Fatalf("unlock with PIN: %d %s", r.code, r.body)
	}
	u.req("POST", "/api/v1/session/lock", nil)
	for i := 0; i < pinTries; i++ {
		u.req("POST", "/api/v1/session/unlock", map[string]string{"pin": "0000"})
	}
	if r := u.req("POST", "/api/v1/session/unlock", map[string]string{"pin": "4821"}); r.code != 429 {
		t.Fatalf("after %d wrong PINs the right one answered %d", pinTries, r.code)
	}
	if r := u.req("POST", "/api/v1/session/unlock", map[string]string{"password": ownerPass}); r.code != 200 {
		t.Fatalf("password after PIN block: %d", r.code)
	}
	// Absolute expiry, however active the session is.
	for i := 0; i < 50; i++ {
		e.clock.Add(14 * time.Minute)
		if r := u.req("GET", "/api/v1/staff", nil); r.code != 200 {
			if i*14 < 11*60 {
				t.Fatalf("an active session ended after %d minutes: %d", i*14, r.code)
			}
			return
		}
	}
	t.Fatal("an active session outlived the absolute limit")
}

func TestRoleChangeAndDisableEndSessions(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	if r := owner.req("PATCH", "/api/v1/staff/"+fran.id, map[string]string{"role": "clinician"}); r.code != 200 {
		t.Fatal(r.code, r.body)
	}
	if r := fran.req("GET", "/api/v1/staff", nil); r.code != 401 {
		t.Fatalf("session after a role change: %d", r.code)
	}
	fran = e.login("fran@maple.test", "Staff-Password-frontdesk")
	owner.req("PATCH", "/api/v1/staff/"+fran.id, map[string]any{"disabled": true})
	if r := fran.req("GET", "/api/v1/staff", nil); r.code != 401 {
		t.Fatalf("session after disable: %d", r.code)
	}
	if r := e.anon().req("POST", "/api/v1/login", map[string]string{"email": "fran@maple.test", "password": "Staff-Password-frontdesk"}); r.code != 401 {
		t.Fatalf("a disabled account signed in: %d", r.code)
	}
	// The last owner cannot be demoted.
	if r := owner.req("PATCH", "/api/v1/staff/"+owner.id, map[string]string{"role": "frontdesk"}); r.code != 400 {
		t.Fatalf("demoting the only owner: %d", r.code)
	}
}

func TestResetPasswordMustChange(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	if r := owner.req("POST", "/api/v1/staff/"+fran.id+"/reset-password", map[string]string{"password": "Temporary-Pass-42"}); r.code != 200 {
		t.Fatal(r.code, r.body)
	}
	if r := fran.req("GET", "/api/v1/staff", nil); r.code != 401 {
		t.Fatalf("old session after reset: %d", r.code)
	}
	fran = e.login("fran@maple.test", "Temporary-Pass-42")
	if r := fran.req("GET", "/api/v1/staff", nil); r.code != 403 || !strings.Contains(r.body, "setup_required") {
		t.Fatalf("before changing the temporary password: %d %s", r.code, r.body)
	}
	if r := fran.req("POST", "/api/v1/me/password", map[string]string{"current": "Temporary-Pass-42", "new": "password123"}); r.code != 400 {
		t.Fatalf("a common password was accepted: %d", r.code)
	}
	if r := fran.req("POST", "/api/v1/me/password", map[string]string{"current": "Temporary-Pass-42", "new": "Fran-Own-Password-9"}); r.code != 200 {
		t.Fatalf("change: %d %s", r.code, r.body)
	}
	if r := fran.req("GET", "/api/v1/staff", nil); r.code != 200 {
		t.Fatalf("after changing: %d", r.code)
	}
}

func TestTOTP(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	r := owner.req("POST", "/api/v1/me/totp", nil)
	var en struct{ Secret, QR string }
	r.json(t, &en)
	if r.code != 200 || en.Secret == "" || !strings.HasPrefix(en.QR, "data:image/png") {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	code := totpCode(t, en.Secret, e.clock.Now())
	r = owner.req("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code})
	var conf struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.json(t, &conf)
	if r.code != 200 || len(conf.RecoveryCodes) != 10 {
		t.Fatalf("confirm: %d %s", r.code, r.body)
	}
	login := func(code string) resp {
		return e.anon().req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass, "totp": code})
	}
	if r := login(""); r.code != 401 || !strings.Contains(r.body, "totp_required") {
		t.Fatalf("no code: %d %s", r.code, r.body)
	}
	if r := login("000000"); r.code != 401 || !strings.Contains(r.body, "bad_totp") {
		t.Fatalf("wrong code: %d %s", r.code, r.body)
	}
	// The code used to confirm cannot be replayed.
	if r := login(code); r.code != 401 {
		t.Fatalf("replayed code: %d", r.code)
	}
	e.clock.Add(30 * time.Second)
	next := totpCode(t, en.Secret, e.clock.Now())
	if r := login(next); r.code != 200 {
		t.Fatalf("right code: %d %s", r.code, r.body)
	}
	rc := conf.RecoveryCodes[3]
	if r := login(rc); r.code != 200 {
		t.Fatalf("recovery code: %d", r.code)
	}
	if r := login(rc); r.code != 401 {
		t.Fatalf("recovery code reused: %d", r.code)
	}
	// The owner can require two-step sign-in for everyone.
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	owner = e.anon()
	e.clock.Add(30 * time.Second)
	now := totpCode(t, en.Secret, e.clock.Now())
	r = owner.req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass, "totp": now})
	var li struct{ CSRF string }
	r.json(t, &li)
	owner.csrf = li.CSRF
	if r := owner.req("PUT", "/api/v1/settings", map[string]any{"require_totp": true}); r.code != 200 {
		t.Fatal(r.code, r.body)
	}
	if r := fran.req("GET", "/api/v1/staff", nil); r.code != 403 {
		t.Fatalf("a staff member without TOTP kept working after it became required: %d", r.code)
	}
	if r := fran.req("POST", "/api/v1/me/totp", nil); r.code != 200 {
		t.Fatalf("enrolment is reachable: %d", r.code)
	}
}

func TestAuditTrailAndExport(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	owner.req("GET", "/api/v1/patients/"+pid, nil)
	e.anon().req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": "wrong-one-here"})
	r := owner.req("GET", "/api/v1/audit?patient="+pid, nil)
	var out struct {
		Events []struct {
			Action    string `json:"action"`
			ActorName string `json:"actor_name"`
			Patient   string `json:"patient"`
		}
	}
	r.json(t, &out)
	actions := map[string]bool{}
	for _, ev := range out.Events {
		actions[ev.Action] = true
		if ev.Patient != pid || ev.ActorName != "Olive Owner" {
			t.Errorf("event %+v", ev)
		}
	}
	if !actions["patient.create"] || !actions["patient.read"] {
		t.Fatalf("patient events: %+v", out.Events)
	}
	r = owner.req("GET", "/api/v1/audit?action=staff.signin", nil)
	if !strings.Contains(r.body, `"outcome":"failed"`) {
		t.Errorf("the failed sign-in is not in the trail: %s", r.body)
	}
	if r := owner.req("GET", "/api/v1/audit?sort=name", nil); r.code != 400 {
		t.Errorf("an unknown filter was accepted: %d", r.code)
	}
	r = owner.req("GET", "/api/v1/audit?format=csv", nil)
	if r.code != 200 || !strings.HasPrefix(r.h.Get("Content-Type"), "text/csv") || !strings.Contains(r.body, "patient.read") {
		t.Fatalf("CSV: %d %s", r.code, r.body[:min(len(r.body), 200)])
	}
	if strings.Contains(r.body, "Ada") || strings.Contains(r.body, "1970") {
		t.Error("the audit export carries PHI")
	}
	if r := owner.req("GET", "/api/v1/audit?action=audit.export", nil); !strings.Contains(r.body, "audit.export") {
		t.Error("the export itself was not audited")
	}
}

func TestSwitchUserEndsThePreviousSession(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	old := *sessionCookie(owner, e)
	// Same browser, another person signs in.
	r := owner.req("POST", "/api/v1/login", map[string]string{"email": "fran@maple.test", "password": "Staff-Password-frontdesk"})
	if r.code != 200 {
		t.Fatal(r.code)
	}
	replay := e.anon()
	replay.hc.Jar.SetCookies(mustParse(e.srv.URL), []*http.Cookie{&old})
	if r := replay.req("GET", "/api/v1/session", nil); r.code != 401 {
		t.Fatalf("the previous person's session survived the switch: %d", r.code)
	}
}

func TestAuditNewestFirst(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	e.addPatient(owner, "Ada Example", "1970-06-15")
	var all, page struct {
		Events []struct {
			Seq    uint64 `json:"seq"`
			Action string `json:"action"`
		}
	}
	owner.req("GET", "/api/v1/audit", nil).json(t, &all)
	owner.req("GET", "/api/v1/audit?order=desc&limit=2", nil).json(t, &page)
	n := len(all.Events)
	// The first look at the log is itself recorded (audit.read), right after
	// the events it showed.
	if n < 3 || len(page.Events) != 2 || page.Events[0].Seq != all.Events[n-1].Seq+1 || page.Events[0].Action != "audit.read" ||
		page.Events[1].Seq != all.Events[n-1].Seq {
		t.Fatalf("newest first: %+v of %+v", page.Events, all.Events)
	}
	var older struct{ Events []struct{ Seq uint64 } }
	owner.req("GET", "/api/v1/audit?order=desc&limit=1&before="+itoa(page.Events[1].Seq), nil).json(t, &older)
	if len(older.Events) != 1 || older.Events[0].Seq != page.Events[1].Seq-1 {
		t.Fatalf("before=: %+v", older.Events)
	}
}

func TestBackgroundRefreshDoesNotKeepTheSessionAwake(t *testing.T) {
	e := newEnv(t)
	u := e.owner()
	for i := 0; i < 4; i++ {
		e.clock.Add(5 * time.Minute)
		if r := u.req("GET", "/api/v1/items", nil, "X-Hearth-Background", "1"); r.code != 200 && !(i == 3 && r.code == 401) {
			t.Fatalf("background refresh %d: %d", i, r.code)
		}
	}
	if r := u.req("GET", "/api/v1/staff", nil); r.code != 401 || !strings.Contains(r.body, "session_locked") {
		t.Fatalf("20 minutes of background refreshes kept the session awake: %d %s", r.code, r.body)
	}
}

func TestSettingsEffectiveAndValidated(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	var st struct {
		Hours *struct {
			Weekly [7][]struct{ Open, Close string }
		}
		Queues  []struct{ ID string }
		Routes  map[string]string
		Targets map[string]int
	}
	owner.req("GET", "/api/v1/settings", nil).json(t, &st)
	if st.Hours == nil || len(st.Hours.Weekly[1]) == 0 || len(st.Queues) != 4 || st.Routes["refill"] != "refills" || st.Targets["message"] == 0 {
		t.Fatalf("settings do not show the values in force: %+v", st)
	}
	for name, bad := range map[string]map[string]any{
		"hours":       {"hours": map[string]any{"weekly": [][]map[string]string{{{"open": "17:00", "close": "09:00"}}, {}, {}, {}, {}, {}, {}}}},
		"route":       {"routes": map[string]string{"refill": "nowhere"}},
		"queue dup":   {"queues": []map[string]any{{"id": "clinical", "name": "A"}, {"id": "clinical", "name": "B"}}},
		"no clinical": {"queues": []map[string]any{{"id": "frontdesk", "name": "Front"}}},
		"target":      {"targets": map[string]int{"message": 0}},
		"urgent word": {"urgent_words": []string{"nonsense_category: x"}},
	} {
		if r := owner.req("PUT", "/api/v1/settings", bad); r.code != 400 {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
}
