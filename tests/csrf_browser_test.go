package tests

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// CSRF in a real browser (checklist line 43): a page of another origin (a
// second loopback server on another port: same site, other origin, so the
// browser sends Hearth's SameSite=Lax cookies along) posts to every state
// change Hearth has, with an auto-submitting form, with fetch() and
// credentials, and with the victim's own form token or CSRF header as if
// it had leaked. Every attempt must reach Hearth and be refused with 403,
// and afterwards nothing has changed. The route table below must name every
// state-changing route in app/web/routes.go: a new route without a row
// fails the test.

// csrfRoute is one state-changing route and how the attacker calls it.
type csrfRoute struct {
	method, pattern string
	staff           bool   // the staff JSON API (else a patient form)
	path            string // the concrete path attacked
	form            url.Values
	json            string
}

// attack modes
const (
	modeForm       = "form (urlencoded, no token)"
	modeFormToken  = "form (urlencoded, leaked token)"
	modeMultipart  = "form (multipart, leaked token)"
	modeFormPlain  = "form (text/plain JSON)"
	modeFetchPlain = "fetch (no-cors, text/plain, credentials)"
	modeFetchCORS  = "fetch (cors, JSON, leaked X-CSRF-Token, credentials)"
)

// evilSite is the attacker's server: each page is registered under a
// number and served as plain HTML with inline script (it has no CSP).
type evilSite struct {
	srv   *httptest.Server
	mu    sync.Mutex
	pages []string
}

func newEvilSite(t *testing.T) *evilSite {
	e := &evilSite{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/p/%d", &n); err != nil {
			http.NotFound(w, r)
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if n < 0 || n >= len(e.pages) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if _, err := w.Write([]byte(e.pages[n])); err != nil {
			t.Errorf("evil site: %v", err)
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *evilSite) add(page string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pages = append(e.pages, page)
	return fmt.Sprintf("%s/p/%d", e.srv.URL, len(e.pages)-1)
}

// formPage submits a form to target as soon as it loads.
func formPage(target, enctype string, fields url.Values) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><title>win a prize</title><form id="f" method="post" action="%s" enctype="%s">`, html.EscapeString(target), enctype)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys) // csrf first where it is there: "csrf" < other names used here
	if slices.Contains(keys, "csrf") {
		keys = append([]string{"csrf"}, slices.DeleteFunc(keys, func(k string) bool { return k == "csrf" })...)
	}
	for _, k := range keys {
		for _, v := range fields[k] {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(v))
		}
	}
	b.WriteString(`</form><script>document.getElementById('f').submit()</script>`)
	return b.String()
}

// plainJSONFormPage is the classic text/plain form that smuggles a JSON
// body: the field's name is the JSON up to an open string, its value
// closes it, and the browser joins them with "=": {"a":"b","pad":"="}.
func plainJSONFormPage(target, body string) string {
	name := `{"pad":"`
	if body != "{}" {
		name = strings.TrimSuffix(body, "}") + `,"pad":"`
	}
	return fmt.Sprintf(`<!doctype html><title>win a prize</title><form id="f" method="post" action="%s" enctype="text/plain"><input type="hidden" name="%s" value="%s"></form><script>document.getElementById('f').submit()</script>`,
		html.EscapeString(target), html.EscapeString(name), html.EscapeString(`"}`))
}

// fetchPage sends one fetch() with the victim's cookies and puts how it
// went in the title.
func fetchPage(method, target, mode, contentType, body string, headers map[string]string) string {
	hs := map[string]string{"Content-Type": contentType}
	for k, v := range headers {
		hs[k] = v
	}
	hj, _ := json.Marshal(hs)
	opts := fmt.Sprintf(`{method: %s, mode: %s, credentials: 'include', headers: %s, body: %s}`, jsString(method), jsString(mode), hj, jsString(body))
	return fmt.Sprintf(`<!doctype html><title>loading</title><script>
fetch(%s, %s).then((r) => { document.title = 'sent ' + r.type + ' ' + r.status; }, (e) => { document.title = 'failed ' + e.name; });
</script>`, jsString(target), opts)
}

var postRouteRe = regexp.MustCompile(`\{"(POST|PUT|PATCH|DELETE)", "([^"]+)"`)

// stateRoutes reads every state-changing route from app/web/routes.go.
func stateRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../app/web/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range postRouteRe.FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1]+" "+m[2])
	}
	if len(out) < 40 {
		t.Fatalf("found only %d state-changing routes in routes.go: the pattern no longer reads the table", len(out))
	}
	return out
}

func TestCSRFBrowser(t *testing.T) {
	start := time.Now()
	in := newClinic(t)
	in.start()
	owner := in.owner()
	const canary = "CSRF-CANARY-7731"

	// What there is to attack: a front-desk colleague, a patient with an
	// item, an appointment and two signed-in devices.
	var frank struct {
		ID string `json:"id"`
	}
	if code := owner.json("POST", "/api/v1/staff", map[string]string{"name": "Frank Front", "email": "frank@maple.test",
		"role": "frontdesk", "password": "Frank-First-Password-42"}, &frank); code != 201 {
		t.Fatalf("create staff: %d", code)
	}
	var pat struct {
		ID string `json:"id"`
	}
	if code := owner.json("POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14",
		"phone": "555-201-3344", "email": "rosa@example.com", "lang": "en"}, &pat); code != 201 {
		t.Fatalf("create patient: %d", code)
	}
	// A second record an attacker might try to merge into the first.
	var twin struct {
		ID string `json:"id"`
	}
	if code := owner.json("POST", "/api/v1/patients", map[string]string{"name": "Rosalind Delgado", "dob": "1961-03-15",
		"phone": "555-201-3345", "lang": "en"}, &twin); code != 201 {
		t.Fatalf("create the second record: %d", code)
	}
	invite := func() string {
		var inv struct {
			Code string `json:"code"`
		}
		if code := owner.json("POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv); code != 201 {
			t.Fatalf("invite: %d", code)
		}
		return inv.Code
	}
	pw := newFormPatient(t, in)
	pw.signIn(invite(), "3", "14", "1961")
	_, loc := pw.post("/new?type=message", "/new", url.Values{"type": {"message"}, "subject": {"Blood pressure"}, "body": {"My readings were high."}})
	m := regexp.MustCompile(`^/t/([0-9a-f-]{36})\?sent=1$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after sending, sent to %q", loc)
	}
	itemID := m[1]
	var appt struct {
		ID string `json:"id"`
	}
	if code := owner.json("POST", "/api/v1/appointments", map[string]any{"patient_id": pat.ID, "starts_at": time.Now().Add(26 * time.Hour).Truncate(time.Hour).Format(time.RFC3339),
		"minutes": 20, "provider": "Dr. Lee", "location": "Room 2", "reason": "Check-up"}, &appt); code != 201 {
		t.Fatalf("book: %d", code)
	}
	devices := func() []map[string]any {
		var out struct {
			Devices []map[string]any `json:"devices"`
		}
		if code := owner.json("GET", "/api/v1/patients/"+pat.ID+"/devices", nil, &out); code != 200 {
			t.Fatalf("devices: %d", code)
		}
		return out.Devices
	}
	goDevice := devices()[0]["id"].(string)

	// The victims: the owner's console and the patient's browser, in one
	// Chromium with a context each.
	ob := newBrowserFor(t, in, 5*time.Minute)
	og := guardTab(t, ob.ctx)
	ob.do("open console", chromedp.Navigate(ob.base+"/staff/"))
	ob.signIn("owner@maple.test", ownerPassword)
	staffCSRF, err := chromedp.Run(ob.ctx, chromedp.Evaluate[string](`fetch('/api/v1/session').then(r => r.json()).then(j => j.csrf)`, chromedp.EvalAwaitPromise))
	if err != nil || staffCSRF == "" {
		t.Fatalf("the console session's csrf: %q %v", staffCSRF, err)
	}
	pb := ob.sibling()
	pg := guardTab(t, pb.ctx)
	pb.do("invite page", chromedp.Navigate(pb.base+"/i/"+invite()),
		chromedp.SendKeys(chromedp.ID("dob_month"), "3"),
		chromedp.SendKeys(chromedp.ID("dob_day"), "14"),
		chromedp.SendKeys(chromedp.ID("dob_year"), "1961"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	settle(t, pb, "patient signed in", `location.pathname === '/me'`)
	var browserDevice string
	for _, d := range devices() {
		if d["id"] != goDevice {
			browserDevice = d["id"].(string)
		}
	}
	if browserDevice == "" {
		t.Fatal("the browser's device is not listed")
	}
	patientCSRF, err := chromedp.Run(pb.ctx, chromedp.Evaluate[string](`document.querySelector('input[name=csrf]').value`))
	if err != nil || patientCSRF == "" {
		t.Fatalf("the patient page's csrf: %q %v", patientCSRF, err)
	}
	spareCode := invite() // an attacker's sign-in must not use it up

	dob := url.Values{"dob_month": {"3"}, "dob_day": {"14"}, "dob_year": {"1961"}}
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = append([]string(nil), vs...)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	routes := []csrfRoute{
		// Patient forms (and the public ones, posted from the patient's browser).
		{method: "POST", pattern: "/i/{code}", path: "/i/" + spareCode, form: dob},
		{method: "POST", pattern: "/contact", path: "/contact", form: with(dob, "type", "message", "name", "Eve Attacker", "phone", "555-000-1111", "body", canary)},
		{method: "POST", pattern: "/c/{token}", path: "/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", form: dob},
		{method: "POST", pattern: "/letter", path: "/letter", form: with(dob, "name", "Eve Attacker", "phone", "555-000-1111", "body", canary)},
		{method: "POST", pattern: "/signout", path: "/signout", form: url.Values{}},
		{method: "POST", pattern: "/me/devices/{id}/revoke", path: "/me/devices/" + browserDevice + "/revoke", form: url.Values{}},
		{method: "POST", pattern: "/new", path: "/new", form: url.Values{"type": {"message"}, "subject": {canary}, "body": {canary}}},
		{method: "POST", pattern: "/a/{id}", path: "/a/" + appt.ID, form: url.Values{"action": {"cancel"}}},
		{method: "POST", pattern: "/me/email", path: "/me/email", form: url.Values{"on": {"1"}}},
		{method: "POST", pattern: "/link", path: "/link", form: url.Values{"email": {"rosa@example.com"}}},
		{method: "POST", pattern: "/l/{token}", path: "/l/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", form: dob},
		{method: "POST", pattern: "/u/{patient}/{mac}", path: "/u/" + pat.ID + "/AAAAAAAAAAAAAAAAAAAAAA", form: url.Values{}},
		{method: "POST", pattern: "/t/{id}/reply", path: "/t/" + itemID + "/reply", form: url.Values{"body": {canary}}},
		{method: "POST", pattern: "/t/{id}/callback", path: "/t/" + itemID + "/callback", form: url.Values{"phone": {"555-000-1111"}, "best_time": {canary}}},
		{method: "POST", pattern: "/t/{id}/feedback", path: "/t/" + itemID + "/feedback", form: url.Values{"answer": {"no"}}},
		{method: "POST", pattern: "/setup/{token}", path: "/setup/0123456789abcdef0123456789abcdef", form: url.Values{"password": {"Evil-Password-123456"}}},

		// The staff JSON API, from the owner's console.
		{method: "POST", pattern: "/api/v1/login", staff: true, path: "/api/v1/login", json: `{"email":"frank@maple.test","password":"Frank-First-Password-42"}`},
		{method: "POST", pattern: "/api/v1/unlock", staff: true, path: "/api/v1/unlock", json: `{"passphrase":"evil passphrase here"}`},
		{method: "POST", pattern: "/api/v1/settings/passphrase", staff: true, path: "/api/v1/settings/passphrase",
			json: `{"password":"` + ownerPassword + `","passphrase":"evil passphrase here","passphrase_again":"evil passphrase here"}`},
		{method: "POST", pattern: "/api/v1/settings/test-email", staff: true, path: "/api/v1/settings/test-email", json: `{"to":"eve@evil.test"}`},
		{method: "POST", pattern: "/api/v1/logout", staff: true, path: "/api/v1/logout", json: `{}`},
		{method: "POST", pattern: "/api/v1/session/lock", staff: true, path: "/api/v1/session/lock", json: `{}`},
		{method: "POST", pattern: "/api/v1/session/unlock", staff: true, path: "/api/v1/session/unlock", json: `{"password":"` + ownerPassword + `"}`},
		{method: "POST", pattern: "/api/v1/me/password", staff: true, path: "/api/v1/me/password", json: `{"current":"` + ownerPassword + `","new":"Evil-Password-123456"}`},
		{method: "POST", pattern: "/api/v1/me/pin", staff: true, path: "/api/v1/me/pin", json: `{"pin":"1234","password":"` + ownerPassword + `"}`},
		{method: "POST", pattern: "/api/v1/me/totp", staff: true, path: "/api/v1/me/totp", json: `{"password":"` + ownerPassword + `"}`},
		{method: "POST", pattern: "/api/v1/me/totp/confirm", staff: true, path: "/api/v1/me/totp/confirm", json: `{"code":"123456"}`},
		{method: "DELETE", pattern: "/api/v1/me/totp", staff: true, path: "/api/v1/me/totp", json: `{"password":"` + ownerPassword + `"}`},
		{method: "POST", pattern: "/api/v1/staff", staff: true, path: "/api/v1/staff", json: `{"name":"Eve Attacker","email":"eve@evil.test","role":"owner","password":"Evil-Password-123456"}`},
		{method: "PATCH", pattern: "/api/v1/staff/{id}", staff: true, path: "/api/v1/staff/" + frank.ID, json: `{"role":"owner"}`},
		{method: "POST", pattern: "/api/v1/staff/{id}/reset-password", staff: true, path: "/api/v1/staff/" + frank.ID + "/reset-password", json: `{"password":"Evil-Password-123456"}`},
		{method: "DELETE", pattern: "/api/v1/staff/{id}/totp", staff: true, path: "/api/v1/staff/" + frank.ID + "/totp", json: `{}`},
		{method: "PUT", pattern: "/api/v1/settings", staff: true, path: "/api/v1/settings", json: `{"clinic_name":"Evil Clinic"}`},
		{method: "POST", pattern: "/api/v1/patients", staff: true, path: "/api/v1/patients", json: `{"name":"Eve Attacker","dob":"1970-01-01"}`},
		{method: "POST", pattern: "/api/v1/patients/{id}/invites", staff: true, path: "/api/v1/patients/" + pat.ID + "/invites", json: `{}`},
		{method: "POST", pattern: "/api/v1/patients/{id}/break-glass", staff: true, path: "/api/v1/patients/" + pat.ID + "/break-glass", json: `{"reason":"` + canary + `"}`},
		{method: "POST", pattern: "/api/v1/items", staff: true, path: "/api/v1/items", json: `{"patient_id":"` + pat.ID + `","type":"message","body":"` + canary + `"}`},
		{method: "POST", pattern: "/api/v1/items/{id}/messages", staff: true, path: "/api/v1/items/" + itemID + "/messages", json: `{"body":"` + canary + `","internal":false}`},
		{method: "POST", pattern: "/api/v1/items/{id}/assign", staff: true, path: "/api/v1/items/" + itemID + "/assign", json: `{"staff_id":"` + frank.ID + `"}`},
		{method: "POST", pattern: "/api/v1/items/{id}/status", staff: true, path: "/api/v1/items/" + itemID + "/status", json: `{"status":"closed"}`},
		{method: "POST", pattern: "/api/v1/items/{id}/queue", staff: true, path: "/api/v1/items/" + itemID + "/queue", json: `{"queue":"billing","reason":"` + canary + `"}`},
		{method: "POST", pattern: "/api/v1/items/{id}/book", staff: true, path: "/api/v1/items/" + itemID + "/book", json: `{"starts_at":"2030-01-07T15:00:00Z","provider":"` + canary + `","reason":"` + canary + `"}`},
		{method: "POST", pattern: "/api/v1/items/{id}/attempts", staff: true, path: "/api/v1/items/" + itemID + "/attempts", json: `{"outcome":"no_answer"}`},
		{method: "DELETE", pattern: "/api/v1/devices/{id}", staff: true, path: "/api/v1/devices/" + goDevice, json: `{}`},
		{method: "POST", pattern: "/api/v1/contacts/{id}/link", staff: true, path: "/api/v1/contacts/" + itemID + "/link", json: `{"patient_id":"` + pat.ID + `"}`},
		{method: "POST", pattern: "/api/v1/appointments", staff: true, path: "/api/v1/appointments", json: `{"patient_id":"` + pat.ID + `","starts_at":"` +
			time.Now().Add(50*time.Hour).Truncate(time.Hour).Format(time.RFC3339) + `","minutes":20,"reason":"` + canary + `"}`},
		{method: "POST", pattern: "/api/v1/appointments/import", staff: true, path: "/api/v1/appointments/import", json: `{"csv":"external_id,patient_name,patient_dob,date,time\nX,Rosa Delgado,03/14/1961,2030-01-01,09:00\n","commit":true}`},
		{method: "PATCH", pattern: "/api/v1/patients/{id}", staff: true, path: "/api/v1/patients/" + pat.ID, json: `{"name":"Eve Attacker","dob":"01/01/1970"}`},
		{method: "POST", pattern: "/api/v1/patients/{id}/merge", staff: true, path: "/api/v1/patients/" + pat.ID + "/merge", json: `{"from":"` + twin.ID + `","reason":"` + canary + `"}`},
		// Reaching out: conversations, notices, the on-call rota and its "I've got it" (outreach_api.go).
		{method: "POST", pattern: "/api/v1/patients/{id}/conversations", staff: true, path: "/api/v1/patients/" + pat.ID + "/conversations",
			json: `{"type":"message","subject":"` + canary + `","body":"` + canary + `"}`},
		{method: "POST", pattern: "/api/v1/notices", staff: true, path: "/api/v1/notices", json: `{"patient_ids":["` + pat.ID + `"],"subject":"` + canary + `","body":"` + canary + `","send":true}`},
		{method: "PUT", pattern: "/api/v1/oncall", staff: true, path: "/api/v1/oncall", json: `{"rota":[],"escalate_minutes":5}`},
		{method: "POST", pattern: "/api/v1/items/{id}/oncall/ack", staff: true, path: "/api/v1/items/" + itemID + "/oncall/ack", json: `{}`},
		{method: "POST", pattern: "/oncall/{page}/{token}", path: "/oncall/" + itemID + "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", form: url.Values{}},
		// Text messages (texts_api.go): the test text, the patient's own
		// answer, and the gateway's webhook (which a browser never reaches).
		{method: "POST", pattern: "/api/v1/settings/test-text", staff: true, path: "/api/v1/settings/test-text", json: `{"to":"+12025550143"}`},
		{method: "POST", pattern: "/me/texts", path: "/me/texts", form: url.Values{"on": {"1"}}},
		{method: "POST", pattern: "/hooks/sms/gateway", path: "/hooks/sms/gateway",
			form: url.Values{"MessageSid": {"SMevil1"}, "From": {"+12025550143"}, "Body": {canary}}},
	}

	// The table names every state-changing route, and nothing else.
	have := map[string]bool{}
	for _, r := range routes {
		have[r.method+" "+r.pattern] = true
	}
	for _, r := range stateRoutes(t) {
		if !have[r] {
			t.Errorf("state-changing route %s has no row in the CSRF table: add how an attacker would call it", r)
		}
		delete(have, r)
	}
	for r := range have {
		t.Errorf("the CSRF table names %s, which routes.go no longer has", r)
	}
	if t.Failed() {
		t.FailNow()
	}

	before := csrfSnapshot(t, owner, pat.ID)
	evil := newEvilSite(t)
	attacks := 0
	attack := func(tab *browser, g *guard, r csrfRoute, mode, pageHTML string) {
		t.Helper()
		attacks++
		target := in.base() + r.path
		n := g.answerCount()
		if _, err := chromedp.Call(tab.ctx, page.Navigate, page.NavigateParams{URL: evil.add(pageHTML)}); err != nil {
			t.Fatalf("%s %s by %s: open the attacker's page: %v", r.method, r.path, mode, err)
		}
		preflighted := mode == modeFetchCORS
		deadline := time.Now().Add(15 * time.Second)
		for {
			var got []answer
			for _, a := range g.answersSince(n) {
				if a.URL == target && a.Method == r.method {
					got = append(got, a)
				}
			}
			for _, a := range got {
				if a.Status != http.StatusForbidden {
					t.Errorf("%s %s by %s from another origin: answered %d, want 403", r.method, r.path, mode, a.Status)
				}
			}
			if len(got) > 0 && !preflighted {
				return
			}
			if preflighted {
				title, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`document.title`))
				if err == nil && strings.HasPrefix(title, "sent") {
					t.Errorf("%s %s by %s from another origin: the browser let the page read the answer (%s)", r.method, r.path, mode, title)
					return
				}
				if err == nil && strings.HasPrefix(title, "failed") {
					return // refused by the browser: Hearth allows no cross-origin reads
				}
			}
			if time.Now().After(deadline) {
				t.Errorf("%s %s by %s: no answer from Hearth within 15 s (the attack never arrived)", r.method, r.path, mode)
				return
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
	for _, r := range routes {
		if r.staff {
			if r.method == "POST" {
				attack(ob, og, r, modeFetchPlain, fetchPage(r.method, in.base()+r.path, "no-cors", "text/plain", r.json, nil))
				attack(ob, og, r, modeFormPlain, plainJSONFormPage(in.base()+r.path, r.json))
			}
			attack(ob, og, r, modeFetchCORS, fetchPage(r.method, in.base()+r.path, "cors", "application/json", r.json, map[string]string{"X-CSRF-Token": staffCSRF}))
			continue
		}
		attack(pb, pg, r, modeForm, formPage(in.base()+r.path, "application/x-www-form-urlencoded", r.form))
		attack(pb, pg, r, modeFormToken, formPage(in.base()+r.path, "application/x-www-form-urlencoded", with(r.form, "csrf", patientCSRF)))
		attack(pb, pg, r, modeFetchPlain, fetchPage("POST", in.base()+r.path, "no-cors", "text/plain", with(r.form, "csrf", patientCSRF).Encode(), nil))
		if r.pattern == "/new" || r.pattern == "/t/{id}/reply" {
			attack(pb, pg, r, modeMultipart, formPage(in.base()+r.path, "multipart/form-data", with(r.form, "csrf", patientCSRF)))
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Nothing changed: the records, and both victims are still signed in
	// as themselves (no sign-out, lock, revoke or login swap).
	after := csrfSnapshot(t, owner, pat.ID)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed under the attacks:\nbefore %s\nafter  %s", k, v, after[k])
		}
	}
	ob.do("back to the console", chromedp.Navigate(ob.base+"/staff/"))
	ob.until("the owner is still signed in and unlocked", `document.getElementById('me')?.textContent.includes('Olive Owner') && !!document.getElementById('nav-patients')`)
	ob.check("the session answers", `fetch('/api/v1/patients?q=Rosa').then(r => r.status === 200)`)
	pb.do("back to /me", chromedp.Navigate(pb.base+"/me"))
	settle(t, pb, "the patient is still signed in", `location.pathname === '/me' && !!document.querySelector('form.signout')`)
	if code := in.newClient().json("POST", "/api/v1/login", map[string]string{"email": "owner@maple.test", "password": ownerPassword}, nil); code != 200 {
		t.Errorf("the owner's password changed: sign-in %d", code)
	}
	// The attacker's sign-in did not use up the letter's code.
	spare := newFormPatient(t, in)
	spare.signIn(spareCode, "3", "14", "1961")

	// The language, which a patient page saves from ?lang=: a link on
	// another site must not change what the patient reads in.
	attackLang := csrfRoute{method: "GET", path: "/me?lang=es"}
	n := pg.answerCount()
	if _, err := chromedp.Call(pb.ctx, page.Navigate, page.NavigateParams{URL: evil.add(`<!doctype html><a id="go" href="` + in.base() + attackLang.path + `">more</a><script>document.getElementById('go').click()</script>`)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		if slices.ContainsFunc(pg.answersSince(n), func(a answer) bool { return a.URL == in.base()+attackLang.path }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cross-site language link never reached Hearth")
		}
		time.Sleep(30 * time.Millisecond)
	}
	var p struct {
		Lang string `json:"lang"`
	}
	if code := owner.json("GET", "/api/v1/patients/"+pat.ID, nil, &p); code != 200 || p.Lang != "en" {
		t.Errorf("a link from another site changed the patient's saved language to %q (%d)", p.Lang, code)
	}

	// Hearth's own language link still saves the choice.
	pb.do("the page's own language link", chromedp.Navigate(pb.base+"/me"), chromedp.Evaluate[chromedp.Void](`location.href = '/me?lang=es'`))
	settle(t, pb, "Spanish page", `location.search === '?lang=es' && document.documentElement.lang === 'es'`)
	if code := owner.json("GET", "/api/v1/patients/"+pat.ID, nil, &p); code != 200 || p.Lang != "es" {
		t.Errorf("the patient's own language link did not save it: %q (%d)", p.Lang, code)
	}
	t.Logf("%d cross-origin attempts on %d state-changing routes, all refused; scenario took %v", attacks, len(routes), time.Since(start).Round(time.Millisecond))
}

// csrfSnapshot is what an attack could change, read through the API:
// staff, settings, the patient (language, email replies), the patient's
// devices, every item with its status, assignee and message count, and
// the appointments.
func csrfSnapshot(t *testing.T, owner *client, patientID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	get := func(path string) map[string]any {
		var v map[string]any
		if code := owner.json("GET", path, nil, &v); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		return v
	}
	pick := func(list any, keys ...string) string {
		var rows []string
		items, _ := list.([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
			}
			rows = append(rows, strings.Join(parts, " "))
		}
		sort.Strings(rows)
		return fmt.Sprintf("%d: %s", len(rows), strings.Join(rows, "; "))
	}
	out["staff"] = pick(get("/api/v1/staff")["staff"], "id", "name", "role", "disabled", "totp", "must_change_password")
	set, err := json.Marshal(get("/api/v1/settings"))
	if err != nil {
		t.Fatal(err)
	}
	out["settings"] = string(set)
	p := get("/api/v1/patients/" + patientID)
	pj, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	out["patient"] = string(pj)
	out["patients"] = pick(get("/api/v1/patients?q=Eve")["patients"], "id", "name") + " | " + pick(get("/api/v1/patients?q=Ros")["patients"], "id", "name")
	out["devices"] = pick(get("/api/v1/patients/" + patientID + "/devices")["devices"], "id", "revoked", "expires")
	for _, st := range []string{"new", "open", "waiting", "closed"} {
		out["items "+st] = pick(get("/api/v1/items?status=" + st)["items"], "id", "status", "assignee", "messages", "priority", "queue", "type")
	}
	out["appointments"] = pick(get("/api/v1/appointments")["appointments"], "id", "status", "preferred", "starts_at")
	return out
}
