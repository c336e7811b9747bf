package tests

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// inboxPatient is a patient's browser, played by a plain HTTP client that
// submits the patient pages' HTML forms (their hidden inputs included).
type inboxPatient struct {
	t    *testing.T
	in   *instance
	hc   *http.Client
	name string
}

var inboxHiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)

// inboxPatientSignIn redeems an invite the way a patient does: GET /i/{code},
// then POST the birth date with the form's hidden inputs. Anything else
// fails the test: the patient pages are part of Hearth.
func inboxPatientSignIn(t *testing.T, in *instance, name, code, dob string) *inboxPatient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &inboxPatient{t: t, in: in, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: in.httpClient().Transport}, name: name}
	status, body := p.get("/i/" + url.PathEscape(code))
	if status != 200 {
		t.Fatalf("GET /i/{code}: %d\n%s", status, body)
	}
	status, final, body := p.post("/i/"+url.PathEscape(code), body, url.Values{"dob": {dob}})
	if status != 200 || !strings.HasSuffix(final, "/me") {
		t.Fatalf("invite sign-in for %s: %d at %s\n%s", name, status, final, body)
	}
	return p
}

func (p *inboxPatient) get(path string) (int, string) {
	p.t.Helper()
	resp, err := p.hc.Get(p.in.base() + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, readBody(p.t, resp)
}

// post submits a form found in page (its hidden inputs) with fields added.
func (p *inboxPatient) post(path, page string, fields url.Values) (int, string, string) {
	p.t.Helper()
	form := url.Values{}
	for _, m := range inboxHiddenRe.FindAllStringSubmatch(page, -1) {
		if form.Get(m[1]) == "" {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	for k, v := range fields {
		form[k] = v
	}
	resp, err := p.hc.PostForm(p.in.base()+path, form)
	if err != nil {
		p.t.Fatalf("POST %s: %v", path, err)
	}
	return resp.StatusCode, resp.Request.URL.Path, readBody(p.t, resp)
}

// send composes a request at /new and returns the new item's id.
func (p *inboxPatient) send(typ string, fields map[string]string) string {
	p.t.Helper()
	status, page := p.get("/new?type=" + typ)
	if status != 200 {
		p.t.Fatalf("GET /new?type=%s: %d", typ, status)
	}
	v := url.Values{"type": {typ}}
	for k, x := range fields {
		v.Set(k, x)
	}
	status, final, body := p.post("/new", page, v)
	if status != 200 || !strings.HasPrefix(final, "/t/") {
		p.t.Fatalf("%s sends a %s: %d at %s\n%s", p.name, typ, status, final, body)
	}
	return strings.TrimPrefix(final, "/t/")
}

// inboxAPI is a staff API call that must succeed.
func inboxAPI(t *testing.T, c *client, method, path string, body, out any) {
	t.Helper()
	code, b, err := c.do(method, path, body)
	if err != nil || code >= 300 {
		t.Fatalf("%s %s: %d %v %s", method, path, code, err, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// inboxStaff creates a staff account and replaces its first password, the
// way the person would at first sign-in.
func inboxStaff(t *testing.T, in *instance, owner *client, name, email, role, password string) string {
	t.Helper()
	var st struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/staff", map[string]string{"name": name, "email": email, "role": role, "password": "First-Password-" + role}, &st)
	c := in.login(email, "First-Password-"+role)
	inboxAPI(t, c, "POST", "/api/v1/me/password", map[string]string{"current": "First-Password-" + role, "new": password}, nil)
	return st.ID
}

type inboxAxeResult struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// axeCheck runs axe-core on the page as it is and fails on serious or
// critical violations.
func (b *browser) axeCheck(screen, src string) {
	b.t.Helper()
	b.do("inject axe into "+screen, chromedp.Evaluate[chromedp.Void](src+"\n;void 0"))
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", screen, err)
	}
	var vs []inboxAxeResult
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("axe on %s: %v", screen, err)
	}
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target)+" "+n.HTML)
		}
		b.t.Errorf("%s: axe %s (%s): %s\n  %s", screen, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
	}
}

// extraShot keeps a picture of a screen for a person to look at, when
// HEARTH_EXTRA_SHOTS names a folder (README pictures are fixed below).
func (b *browser) extraShot(name string) {
	b.t.Helper()
	dir := os.Getenv("HEARTH_EXTRA_SHOTS")
	if dir == "" {
		return
	}
	b.do("settle", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur && document.activeElement.blur()`))
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(90))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), shot, 0o644)
	}
	if err != nil {
		b.t.Errorf("extra screenshot %s: %v", name, err)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	screenshot(b.t, b.ctx, name)
}

// TestInboxBrowser walks the shared inbox against the real binary: a
// patient's message appears in an open console within a second without a
// reload; staff open it and reply; the patient reads the reply; two staff
// on the same request see each other; and the console's main screens pass
// axe-core.
func TestInboxBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()

	// Open around the clock, so due times (and one overdue item) do not
	// depend on when the test runs.
	var week [7][]map[string]string
	for d := range week {
		week[d] = []map[string]string{{"open": "00:00", "close": "24:00"}}
	}
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"hours": map[string]any{"weekly": week, "holidays": []string{}},
		"phone": "555-201-0000", "time_zone": "America/Chicago", "targets": map[string]int{"callback": 1}}, nil)

	mariaID := inboxStaff(t, in, owner, "Maria Lopez", "maria@maple.test", "frontdesk", "Maria-Front-Desk-2026")
	samID := inboxStaff(t, in, owner, "Sam Patel", "sam@maple.test", "clinician", "Sam-Clinician-2026")

	type person struct{ name, dob, phone string }
	people := []person{
		{"Rosa Delgado", "1961-03-14", "555-201-3344"},
		{"Walter Brooks", "1948-09-02", "555-310-7781"},
		{"Priya Nair", "1990-05-21", "555-402-1190"},
		{"Henry Okafor", "1975-12-07", "555-118-6042"},
		{"Lucy Brennan", "2001-02-11", "555-733-2085"},
	}
	pats := map[string]*inboxPatient{}
	for _, p := range people {
		var made struct {
			ID string `json:"id"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": p.name, "dob": p.dob, "phone": p.phone, "lang": "en"}, &made)
		var inv struct {
			Code string `json:"code"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/patients/"+made.ID+"/invites", nil, &inv)
		pats[p.name] = inboxPatientSignIn(t, in, p.name, inv.Code, p.dob)
	}

	// Demo inbox: one call-back that will be overdue within a minute, one
	// urgent message, and requests of each kind, some answered.
	callback := pats["Henry Okafor"].send("callback", map[string]string{"phone": "555-118-6042", "best_time": "Weekdays after 3 pm",
		"body": "Calling about my lab results from last week."})
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"targets": map[string]int{"callback": 240}}, nil)
	urgent := pats["Walter Brooks"].send("message", map[string]string{"body": "I have had chest pains since this morning and feel short of breath when I climb stairs. Should I come in?"})
	refill := pats["Walter Brooks"].send("refill", map[string]string{"medication": "Lisinopril 10 mg", "dose": "One tablet daily",
		"pharmacy": "Walgreens, 410 Oak Street", "body": "I have three tablets left."})
	appt := pats["Priya Nair"].send("appointment", map[string]string{"reason": "Annual physical and blood work", "preferred": "Tuesday or Thursday mornings",
		"body": "Any doctor is fine."})
	lucy := pats["Lucy Brennan"].send("message", map[string]string{"body": "Can I get a copy of my vaccination record for school?"})
	inboxAPI(t, owner, "POST", "/api/v1/items/"+urgent+"/assign", map[string]string{"staff_id": samID}, nil)
	inboxAPI(t, owner, "POST", "/api/v1/items/"+appt+"/assign", map[string]string{"staff_id": mariaID}, nil)
	inboxAPI(t, owner, "POST", "/api/v1/items/"+appt+"/messages", map[string]any{"body": "Hi Priya, we have Tuesday at 9:40 or Thursday at 8:20. Which works for you? — Olive"}, nil)
	inboxAPI(t, owner, "POST", "/api/v1/items/"+appt+"/status", map[string]string{"status": "waiting"}, nil)
	inboxAPI(t, owner, "POST", "/api/v1/items/"+refill+"/messages", map[string]any{"body": "Last BP 128/82 in March. OK to renew for 90 days.", "internal": true}, nil)
	inboxAPI(t, owner, "POST", "/api/v1/items/"+lucy+"/assign", map[string]string{"staff_id": mariaID}, nil)
	done := pats["Rosa Delgado"].send("refill", map[string]string{"medication": "Metformin 500 mg", "pharmacy": "CVS, 12 Main Street"})
	inboxAPI(t, owner, "POST", "/api/v1/items/"+done+"/messages", map[string]any{"body": "Hi Rosa, your refill was sent to CVS on Main Street. — Olive"}, nil)
	inboxAPI(t, owner, "POST", "/api/v1/items/"+done+"/status", map[string]string{"status": "closed", "outcome": "sent_to_pharmacy"}, nil)
	// Colleagues have opened some requests already (read receipts).
	maria, sam := in.login("maria@maple.test", "Maria-Front-Desk-2026"), in.login("sam@maple.test", "Sam-Clinician-2026")
	inboxAPI(t, sam, "GET", "/api/v1/items/"+urgent, nil, nil)
	inboxAPI(t, sam, "POST", "/api/v1/items/"+urgent+"/messages", map[string]any{"body": "Called Walter, no answer. Trying again in 10 min; ED advice sent.", "internal": true}, nil)
	inboxAPI(t, maria, "GET", "/api/v1/items/"+appt, nil, nil)
	inboxAPI(t, maria, "GET", "/api/v1/items/"+lucy, nil, nil)

	b := newBrowserFor(t, in, 170*time.Second)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.until("inbox is the first view", `location.hash === '#/inbox' && document.querySelectorAll('#inbox-table tbody tr').length === 5`)
	b.check("urgent first", `document.querySelector('#inbox-table tbody tr').classList.contains('urgent') &&
		document.querySelector('#inbox-table tbody tr').textContent.includes('Walter Brooks')`)
	b.check("queue tabs with counts", `document.getElementById('tab-all').textContent.includes('5') && !!document.getElementById('tab-clinical')`)
	b.until("live", `document.getElementById('live').classList.contains('up')`)

	// A patient writes while the console is open: the row appears without
	// a reload. The browser notes when; the clock is the same machine's.
	b.do("watch for the row", chromedp.Evaluate[chromedp.Void](`window.__seenAt = 0; window.__page = performance.timeOrigin;
		new MutationObserver(() => {
			if (!window.__seenAt && [...document.querySelectorAll('#inbox-table tbody tr')].some(r => r.textContent.includes('blood pressure readings'))) window.__seenAt = Date.now();
		}).observe(document.body, {subtree: true, childList: true, characterData: true})`))
	sent := time.Now()
	msg := pats["Rosa Delgado"].send("message", map[string]string{"body": "Question about my blood pressure readings: the morning ones are higher. Is that normal?"})
	b.until("new row without reload", `window.__seenAt > 0`)
	seenAt, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`window.__seenAt`))
	if err != nil {
		t.Fatal(err)
	}
	latency := time.UnixMilli(int64(seenAt)).Sub(sent)
	t.Logf("new row appeared %v after the patient's POST /new began", latency.Round(time.Millisecond))
	if latency > time.Second {
		t.Errorf("the new row took %v to appear; want under 1 s", latency)
	}
	b.check("same page, no reload", `window.__page === performance.timeOrigin`)
	b.check("new row is unread and the title counts it", `(() => {
		const r = document.querySelector('#inbox-table tr[data-id="`+msg+`"]');
		return r && r.classList.contains('unread') && /^\(1\) /.test(document.title);
	})()`)

	// Keyboard: j selects the first row, a assigns it to me.
	b.do("keyboard select and assign", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`),
		chromedp.KeyEvent("j"), chromedp.KeyEvent("a"))
	b.until("assigned to me by keyboard", `(document.querySelector('#inbox-table tbody tr')?.textContent || '').includes('You')`)
	b.do("shortcuts", chromedp.KeyEvent("?"), chromedp.WaitVisible(chromedp.ID("keys-dialog")), chromedp.Click(chromedp.ID("keys-close")))

	// Open it and reply.
	b.do("open the new message", chromedp.Click(chromedp.CSS(`#inbox-table a.row-link[data-id="`+msg+`"]`)),
		chromedp.WaitVisible(chromedp.ID("reply-body")))
	b.until("thread shows the message", `document.getElementById('thread').textContent.includes('morning ones are higher') &&
		document.getElementById('item-banner').textContent.includes('Mar 14, 1961')`)
	reply := "Hi Rosa, that is common. Please bring your readings to your visit next week. — Olive"
	b.do("reply", chromedp.SendKeys(chromedp.ID("reply-body"), reply), chromedp.Click(chromedp.ID("reply-submit")))
	b.until("reply in the thread", `[...document.querySelectorAll('#thread .msg.staff')].some(m => m.textContent.includes('bring your readings'))`)
	if _, page := pats["Rosa Delgado"].get("/t/" + msg); !strings.Contains(page, "bring your readings to your visit") {
		t.Errorf("the patient's thread does not show the reply:\n%s", page)
	}
	b.do("internal note", chromedp.Click(chromedp.ID("reply-internal")),
		chromedp.SendKeys(chromedp.ID("reply-body"), "Readings log scanned to chart."), chromedp.Click(chromedp.ID("reply-submit")))
	b.until("note marked internal", `(document.querySelector('#thread .msg.note')?.textContent || '').includes('the patient never sees this')`)
	if _, page := pats["Rosa Delgado"].get("/t/" + msg); strings.Contains(page, "Readings log scanned") {
		t.Errorf("the patient sees an internal note")
	}

	// Collision guard: Maria opens the same request in her own browser.
	m := b.sibling()
	m.do("maria opens console", chromedp.Navigate(m.base+"/staff/"))
	m.signIn("maria@maple.test", "Maria-Front-Desk-2026")
	m.do("maria opens the item", chromedp.Navigate(m.base+"/staff/#/inbox/"+msg), chromedp.WaitVisible(chromedp.ID("reply-body")))
	b.until("owner sees Maria viewing", `document.getElementById('presence').textContent.includes('Maria is viewing')`)
	m.until("Maria sees Olive viewing", `document.getElementById('presence').textContent.includes('Olive is viewing')`)
	m.do("maria types", chromedp.SendKeys(chromedp.ID("reply-body"), "Hi Rosa"))
	b.until("owner sees Maria replying", `document.getElementById('presence').textContent.includes('Maria is replying')`)
	b.do("settle for the picture", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`))
	b.screenshot("console-item.png")
	m.do("maria leaves", chromedp.Navigate(m.base+"/staff/#/workload"), chromedp.WaitVisible(chromedp.ID("wl-staff-table")))
	b.until("Maria gone", `!document.getElementById('presence').textContent.includes('Maria')`)
	if errs := m.scriptErrors(); len(errs) > 0 {
		t.Errorf("Maria's page reported errors:\n%s", strings.Join(errs, "\n"))
	}

	// Someone writes without an account: the row says unverified; staff
	// compare both identities side by side and link the contact.
	jar, _ := cookiejar.New(nil)
	visitor := &inboxPatient{t: t, in: in, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}, name: "visitor"}
	_, page := visitor.get("/contact?type=message")
	if status, _, body := visitor.post("/contact", page, url.Values{"name": {"Lucy Brennan"}, "dob": {"02/11/2001"}, "phone": {"555-733-2085"},
		"type": {"message"}, "body": {"I lost the letter with my code. Is my flu shot record ready?"}}); status != 200 {
		t.Fatalf("POST /contact: %d\n%s", status, body)
	}
	b.do("unverified filter", chromedp.Click(chromedp.ID("nav-inbox")), chromedp.WaitVisible(chromedp.ID("if-unverified")),
		chromedp.Click(chromedp.ID("if-unverified")))
	b.until("unverified row", `(() => { const r = document.querySelectorAll('#inbox-table tbody tr');
		return r.length === 1 && r[0].textContent.includes('Unverified') && r[0].textContent.includes('Lucy Brennan'); })()`)
	b.do("open unverified", chromedp.Click(chromedp.CSS(`#inbox-table a.row-link`)), chromedp.WaitVisible(chromedp.ID("link-card")),
		chromedp.Click(chromedp.ID("link-search")), chromedp.WaitVisible(chromedp.CSS(`#link-results button`)),
		chromedp.Click(chromedp.CSS(`#link-results button`)), chromedp.WaitVisible(chromedp.ID("link-table")))
	b.check("side by side, all the same", `document.querySelectorAll('#link-table tr.same').length === 3`)
	b.do("link", chromedp.Click(chromedp.ID("link-submit")))
	b.until("linked", `(document.getElementById('item-flash')?.textContent || '').includes('1 request moved') &&
		document.getElementById('item-banner').textContent.includes('Verified')`)
	b.do("clear filter", chromedp.Click(chromedp.ID("nav-inbox")), chromedp.WaitVisible(chromedp.ID("if-unverified")),
		chromedp.Click(chromedp.ID("if-unverified")))

	// Close the refill with its outcome.
	b.do("open the refill", chromedp.WaitVisible(chromedp.CSS(`#inbox-table a.row-link[data-id="`+refill+`"]`)),
		chromedp.Click(chromedp.CSS(`#inbox-table a.row-link[data-id="`+refill+`"]`)), chromedp.WaitVisible(chromedp.ID("fields-title")))
	b.check("structured fields", `document.getElementById('item-details').textContent.includes('Walgreens, 410 Oak Street')`)
	b.do("close it", chromedp.SetValue(chromedp.ID("status-select"), "closed"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('status-select').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.ID("outcome-sent_to_pharmacy")), chromedp.Click(chromedp.ID("status-submit")),
		chromedp.WaitVisible(chromedp.ID("status-msg")))
	b.until("outcome required", `document.getElementById('status-msg').textContent.includes('Choose how it ends')`)
	b.do("choose outcome", chromedp.Click(chromedp.ID("outcome-sent_to_pharmacy")), chromedp.Click(chromedp.ID("status-submit")))
	b.until("closed", `document.getElementById('item-status').textContent === 'Closed' &&
		document.getElementById('item-details').textContent.includes('Sent to the pharmacy')`)
	if _, page := pats["Walter Brooks"].get("/t/" + refill); !strings.Contains(strings.ToLower(page), "closed") && !strings.Contains(strings.ToLower(page), "pharmacy") {
		t.Errorf("the patient's thread does not show the closed refill")
	}

	// axe-core on the console's main screens.
	axe, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	src := string(axe)
	b.axeCheck("item view", src)
	b.extraShot("item.jpg")
	b.do("inbox", chromedp.Click(chromedp.ID("nav-inbox")), chromedp.WaitVisible(chromedp.ID("inbox-table")))
	b.axeCheck("inbox", src)
	b.extraShot("inbox.jpg")
	b.do("patients", chromedp.Click(chromedp.ID("nav-patients")), chromedp.WaitVisible(chromedp.ID("psearch-q")),
		chromedp.SendKeys(chromedp.ID("psearch-q"), "Rosa"), chromedp.WaitVisible(chromedp.ID("patient-table")))
	b.axeCheck("patient search", src)
	b.do("patient page", chromedp.Click(chromedp.CSS("#patient-table a")), chromedp.WaitVisible(chromedp.ID("patient-items-table")),
		chromedp.WaitVisible(chromedp.ID("access-table")))
	// A printed letter needs the address patients use (the letter test
	// checks the refusal without it).
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"public_url": in.base()}, nil)
	b.do("invite letter", chromedp.Click(chromedp.ID("invite-print")), chromedp.WaitVisible(chromedp.ID("letter-code")))
	b.axeCheck("patient page", src)
	b.extraShot("patient.jpg")
	b.do("workload", chromedp.Click(chromedp.ID("nav-workload")), chromedp.WaitVisible(chromedp.ID("wl-staff-table")))
	b.axeCheck("workload", src)
	b.extraShot("workload.jpg")
	b.do("sweep", chromedp.Click(chromedp.ID("nav-sweep")), chromedp.WaitVisible(chromedp.ID("sweep-table")))
	b.axeCheck("end of day", src)
	b.extraShot("sweep.jpg")
	b.do("settings", chromedp.Click(chromedp.ID("nav-settings")), chromedp.WaitVisible(chromedp.ID("settings-time_zone")))
	b.axeCheck("settings", src)
	b.extraShot("settings.jpg")
	b.do("audit", chromedp.Click(chromedp.ID("nav-audit")), chromedp.WaitVisible(chromedp.ID("audit-table")))
	b.until("audit newest first", `(() => {
		const rows = [...document.querySelectorAll('#audit-table tbody tr')];
		return rows.length > 1 && rows[0].querySelector('time').getAttribute('datetime') >= rows[rows.length - 1].querySelector('time').getAttribute('datetime');
	})()`)
	b.axeCheck("audit", src)
	b.extraShot("audit.jpg")

	// Screenshots for the README, once the call-back is overdue.
	b.do("back to inbox", chromedp.Click(chromedp.ID("nav-inbox")), chromedp.WaitVisible(chromedp.ID("inbox-table")))
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(document.querySelector('#inbox-table tr[data-id="`+callback+`"]')?.textContent || '').includes('overdue') &&
			(document.getElementById('tab-frontdesk')?.textContent || '').includes('overdue')`))
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call-back never showed as overdue")
		}
		time.Sleep(time.Second)
		b.do("refresh inbox", chromedp.Evaluate[chromedp.Void](`document.getElementById('tab-all').click()`))
	}
	b.do("settle", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`))
	b.screenshot("console-inbox.png")
	b.do("workload", chromedp.Click(chromedp.ID("nav-workload")), chromedp.WaitVisible(chromedp.ID("wl-staff-table")),
		chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`))
	b.screenshot("console-workload.png")

	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
