package tests

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Stored XSS in a real browser (checklist line 18): every text a patient,
// a visitor, a staff member or the owner can store is filled with markup
// and template syntax, then every console view and every patient page is
// opened in Chromium. Nothing may run (no dialog), nothing may be injected
// (no element of the corpus, no event-handler attribute, no javascript:
// URL, no inline script) and the CSP must report no violation; and the
// corpus must be on screen as text, so a view that drops the text instead
// of escaping it fails too.

// xssCorpus are the payloads, each also a piece of text that must show.
var xssCorpus = []string{
	`<img src=x onerror=alert(1)>`,
	`<svg onload=alert(1)>`,
	`javascript:alert(1)`,
	`</script><script>alert(1)</script>`,
	`{{.}}`,
	`{{template "x"}}`,
	`"><b id=pwned>`,
	"Ro\u202Esa\u202C",
}

// xssAll is the whole corpus in one text (for bodies and other long text).
var xssAll = strings.Join(xssCorpus, " ")

// xssShort fits the fields limited to 100 characters (names).
const xssShort = "\u202Eq\u202C <img src=x onerror=alert(1)><svg onload=alert(1)>\"><b id=pwned>{{.}}"

// xssName is xssShort without the RTL override, for the fields that
// refuse direction controls (patient names, appointment fields).
const xssName = "<img src=x onerror=alert(1)><svg onload=alert(1)>\"><b id=pwned>{{.}}"

// xssNoRTL is the corpus without the RTL override.
var xssNoRTL = strings.Join(xssCorpus[:len(xssCorpus)-1], " ")

// xssFile is an attachment's name: no slash (a path is cut to its base).
const xssFile = `<img src=x onerror=alert(1)><svg onload=alert(1)>{{.}}><b id=pwned>.pdf`

func TestXSSBrowser(t *testing.T) {
	start := time.Now()
	in := newClinic(t)
	in.start()
	owner := in.owner()

	// The owner's free text: clinic name, phone, after-hours text, urgent
	// words, a reply template and a queue.
	var set map[string]any
	if code := owner.json("GET", "/api/v1/settings", nil, &set); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	set["clinic_name"] = "Maple " + xssShort
	set["phone"] = "555-0100 " + `"><b id=pwned>`
	set["after_hours_text"] = xssAll
	set["urgent_words"] = []string{"chest_pain: " + xssAll}
	set["templates"] = append(set["templates"].([]any), map[string]any{"id": "xss", "name": "Tpl " + xssShort, "body": xssAll})
	set["queues"] = append(set["queues"].([]any), map[string]any{"id": "xssq", "name": "Queue " + xssShort, "roles": []string{"frontdesk", "clinician"}})
	if code, b, err := owner.do("PUT", "/api/v1/settings", set); err != nil || code != 200 {
		t.Fatalf("save settings: %d %v %s", code, err, b)
	}

	// A staff member with a marked-up name, who answers a patient.
	var sam struct {
		ID string `json:"id"`
	}
	if code := owner.json("POST", "/api/v1/staff", map[string]string{"name": "Sam " + xssShort, "email": "sam@maple.test",
		"role": "clinician", "password": "Sam-First-Password-42"}, &sam); code != 201 {
		t.Fatalf("create staff: %d", code)
	}
	samAPI := in.login("sam@maple.test", "Sam-First-Password-42")
	if code, b, err := samAPI.do("POST", "/api/v1/me/password", map[string]string{"current": "Sam-First-Password-42", "new": "Sam-Own-Password-2026"}); err != nil || code >= 300 {
		t.Fatalf("sam's own password: %d %v %s", code, err, b)
	}
	samAPI = in.login("sam@maple.test", "Sam-Own-Password-2026")

	// A patient with a marked-up name. An RTL override inside a name is
	// refused (line 19: rejected consistently, never stored to confuse).
	if code, b, err := owner.do("POST", "/api/v1/patients", map[string]string{"name": "Rosa " + xssShort, "dob": "1961-03-14", "lang": "en"}); err != nil || code != 400 || !strings.Contains(string(b), `"name"`) {
		t.Fatalf("a patient name with an RTL override: %d %v %s (want 400 on the name)", code, err, b)
	}
	patName := "Rosa " + xssName
	var pat struct {
		ID string `json:"id"`
	}
	if code := owner.json("POST", "/api/v1/patients", map[string]string{"name": patName, "dob": "1961-03-14",
		"phone": "555-201-3344", "email": "rosa@example.com", "lang": "en"}, &pat); code != 201 {
		t.Fatalf("create patient: %d", code)
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

	// The patient writes (without a browser: the file name is one no file
	// system allows) a message with an attachment and a refill request.
	pw := newFormPatient(t, in)
	pw.signIn(invite(), "3", "14", "1961")
	pdf := plainPDF()
	_, loc := pw.postFiles("/new?type=message", "/new", url.Values{"type": {"message"}, "subject": {"Subj " + xssShort}, "body": {xssAll}}, xssFile, pdf)
	m := regexp.MustCompile(`^/t/([0-9a-f-]{36})\?sent=1$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after sending, sent to %q", loc)
	}
	msgID := m[1]
	_, loc = pw.post("/new?type=refill", "/new", url.Values{"type": {"refill"}, "medication": {xssShort}, "dose": {xssShort},
		"pharmacy": {xssShort}, "body": {xssAll}})
	m = regexp.MustCompile(`^/t/([0-9a-f-]{36})\?sent=1$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after the refill request, sent to %q", loc)
	}
	refillID := m[1]

	// Staff answer, note internally, assign; the patient answers back.
	if code := samAPI.json("POST", "/api/v1/items/"+msgID+"/messages", map[string]any{"body": "Reply " + xssAll, "internal": false}, nil); code != 201 {
		t.Fatalf("staff reply: %d", code)
	}
	if code := owner.json("POST", "/api/v1/items/"+msgID+"/messages", map[string]any{"body": "Note " + xssAll, "internal": true}, nil); code != 201 {
		t.Fatalf("internal note: %d", code)
	}
	if code := owner.json("POST", "/api/v1/items/"+msgID+"/assign", map[string]string{"staff_id": sam.ID}, nil); code != 200 {
		t.Fatalf("assign: %d", code)
	}
	pw.post("/t/"+msgID, "/t/"+msgID+"/reply", url.Values{"body": {"Answer " + xssAll}})
	// The refill is closed with a reason the patient reads.
	if code, b, err := owner.do("POST", "/api/v1/items/"+refillID+"/status", map[string]any{"status": "closed", "outcome": "declined", "reason": "Closed " + xssAll}); err != nil || code != 200 {
		t.Fatalf("close with a reason: %d %v %s", code, err, b)
	}
	// A caregiver with a marked-up name signs in with their own letter.
	var cg struct {
		Code string `json:"code"`
	}
	if code := owner.json("POST", "/api/v1/patients/"+pat.ID+"/invites", map[string]string{"caregiver": "Cara " + xssName}, &cg); code != 201 {
		t.Fatalf("caregiver invite: %d", code)
	}
	newFormPatient(t, in).signIn(cg.Code, "3", "14", "1961")

	// Appointments: one booked through the API, one imported from the
	// practice system's CSV, both with marked-up provider, place and reason.
	when := time.Now().Add(26 * time.Hour).Truncate(time.Hour)
	if code, b, err := owner.do("POST", "/api/v1/appointments", map[string]any{"patient_id": pat.ID, "starts_at": when.Format(time.RFC3339),
		"minutes": 20, "provider": "Dr " + xssName, "location": "Room " + xssName, "reason": xssNoRTL}); err != nil || code != 201 {
		t.Fatalf("book: %d %v %s", code, err, b)
	}
	csvField := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	later := when.Add(2 * time.Hour).In(time.Local)
	csv := "external_id,patient_name,patient_dob,date,time,minutes,provider,location,reason\n" +
		strings.Join([]string{"X-1", csvField(patName), "03/14/1961", later.Format("2006-01-02"), later.Format("15:04"), "15",
			csvField("Imp " + xssName), csvField("Loc " + xssName), csvField("Why " + xssNoRTL)}, ",") + "\n"
	var imp struct {
		Imported int `json:"imported"`
		Rows     []struct {
			Status, Reason string
		} `json:"rows"`
	}
	if code := owner.json("POST", "/api/v1/appointments/import", map[string]any{"csv": csv, "commit": true, "mapping": map[string]string{
		"external_id": "external_id", "patient_name": "patient_name", "patient_dob": "patient_dob", "date": "date", "time": "time",
		"minutes": "minutes", "provider": "provider", "location": "location", "reason": "reason"}}, &imp); code != 200 || imp.Imported != 1 {
		t.Fatalf("import: %d %+v", code, imp)
	}

	// A visitor without an account asks for a letter.
	visitor := newFormPatient(t, in)
	visitor.post("/letter", "/letter", url.Values{"name": {"Vic " + xssName}, "dob_month": {"5"}, "dob_day": {"6"}, "dob_year": {"1970"},
		"phone": {"555-777-1212"}, "body": {xssAll}})
	t.Logf("seeded in %v", time.Since(start).Round(time.Millisecond))

	// The console, as the owner.
	b := newBrowserFor(t, in, 5*time.Minute)
	g := guardTab(t, b.ctx)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	g.selfCheck()
	takeSelfCheckLog(t, b)
	g.sweep("console sign-in page")
	b.signIn("owner@maple.test", ownerPassword)
	view := func(hash, ready string) {
		t.Helper()
		b.do("open "+hash, chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString(hash)))
		b.until("view "+hash, ready)
		// Late answers (counts, presence, live events) settle.
		b.do("settle", chromedp.Sleep(300*time.Millisecond))
		g.sweep("console " + hash)
	}
	has := func(sel, text string) string {
		return fmt.Sprintf(`(document.querySelector(%s)?.textContent || '').includes(%s)`, jsString(sel), jsString(text))
	}
	view("#/inbox", has("#inbox-table", "Subj "))
	view("#/inbox/"+msgID, has("#thread", "Answer "))
	// The item view shows the corpus as text: bodies, note, names. (The
	// console lists no attachments; the patient's thread does, below.)
	for _, want := range append(append([]string{}, xssCorpus...), "Reply ", "Note ", "Answer ", "Sam ", "Rosa ", "Subj ") {
		b.check("item shows "+want, `document.body.textContent.includes(`+jsString(want)+`)`)
	}
	// The reply template: its name in the menu, its text in the box, then
	// sent through the console to the patient.
	b.until("template menu", `[...document.querySelectorAll('#reply-template option')].some(o => o.value === 'xss' && o.textContent.startsWith('Tpl '))`)
	b.do("insert the template", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('reply-template'); s.value = 'xss'; s.dispatchEvent(new Event('change')); })()`))
	b.until("template text in the box", `document.getElementById('reply-body').value.includes(`+jsString(xssAll)+`)`)
	b.do("send the template", chromedp.Click(chromedp.ID("reply-submit")))
	b.until("template reply in the thread", `[...document.querySelectorAll('#thread *')].filter(e => e.children.length === 0 && e.textContent.trim().startsWith('<img src=x')).length >= 2`)
	g.sweep("console item after the template reply")
	view("#/inbox/"+refillID, has("#item-details", "<svg onload=alert(1)>"))
	view("#/appointments", `!!document.getElementById('board-day-tomorrow')`)
	b.clickID("tomorrow's board", "board-day-tomorrow")
	b.until("tomorrow's appointments", has("#board-table", "Dr ")+` && `+has("#board-table", "Imp "))
	g.sweep("console appointments tomorrow")
	// The import preview shows the file's own columns and names.
	if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.getElementById('import-csv')`)); err == nil && ok {
		bad := "external_id,patient_name,patient_dob,date,time," + csvField("<svg onload=alert(1)>") + "\nX-9," + csvField("Nobody "+xssName) +
			",01/02/1950," + later.Format("2006-01-02") + ",09:00," + csvField(xssAll) + "\n"
		b.do("paste an export", chromedp.Evaluate[chromedp.Void](`document.getElementById('import-csv').value = `+jsString(bad)),
			chromedp.Click(chromedp.ID("import-read")), chromedp.WaitVisible(chromedp.ID("import-preview")),
			chromedp.Click(chromedp.ID("import-preview")))
		b.until("import preview", has("#import-table", "Nobody "))
		g.sweep("console import preview")
	} else {
		t.Errorf("the appointments view has no import box (#import-csv): %v", err)
	}
	view("#/sweep", `!!document.getElementById('sweep-status') || !!document.getElementById('sweep-table')`)
	view("#/workload", has("#workload", "Queue "))
	view("#/patients", `!!document.getElementById('psearch-q')`)
	b.do("search", chromedp.SendKeys(chromedp.ID("psearch-q"), "Rosa"))
	b.until("patient found", has("#patient-table", "Rosa "))
	g.sweep("console patients list")
	view("#/patients/"+pat.ID, has("#patient-banner", "Rosa ")+` && `+has("#patient-extras", "Subj ")+` && `+has("#patient-extras", "Cara "))
	// The invite letter the console prints (it needs the address patients
	// use: the letter test checks the refusal without it).
	if code := owner.json("PUT", "/api/v1/settings", map[string]any{"public_url": in.base()}, nil); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	b.do("print invite letter", chromedp.Click(chromedp.ID("invite-print")), chromedp.WaitVisible(chromedp.ID("letter")))
	b.check("letter names the patient and clinic", has("#letter", "Rosa ")+` && `+has("#letter", "Maple "))
	g.sweep("console invite letter")
	view("#/staff", has("#staff-table", "Sam "))
	view("#/audit", has("#audit-table", "Sam "))
	view("#/settings", `!!document.getElementById('set-clinic')`)
	view("#/settings/queues", `!!document.getElementById('queue-list') && `+has("#queue-list", "Queue "))
	view("#/settings/templates", `!!document.getElementById('templates-form')`)
	b.check("settings show the template", `document.body.textContent.includes('Tpl ') || [...document.querySelectorAll('input, textarea')].some(e => e.value.includes('Tpl '))`)
	view("#/account", `!!document.getElementById('account-who')`)

	// Sam's console: his own name in the top bar, his queue, his item.
	sb := b.sibling()
	sg := guardTab(t, sb.ctx)
	sb.do("open console", chromedp.Navigate(sb.base+"/staff/"))
	sb.signIn("sam@maple.test", "Sam-Own-Password-2026")
	sb.until("sam's inbox", `(document.getElementById('inbox-table')?.textContent || '').includes('Subj ')`)
	sb.do("settle", chromedp.Sleep(300*time.Millisecond))
	sg.sweep("sam's inbox")
	sb.do("sam's item", chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString("#/inbox/"+msgID)))
	sb.until("sam's item", `(document.getElementById('thread')?.textContent || '').includes('Answer ')`)
	sg.sweep("sam's item")

	// The patient's pages, in a browser of their own.
	pb := b.sibling()
	pg := guardTab(t, pb.ctx)
	code := invite()
	pb.do("invite page", chromedp.Navigate(pb.base+"/i/"+code))
	pg.selfCheck()
	takeSelfCheckLog(t, pb)
	pg.sweep("patient invite page")
	pb.do("sign in",
		chromedp.SendKeys(chromedp.ID("dob_month"), "3"),
		chromedp.SendKeys(chromedp.ID("dob_day"), "14"),
		chromedp.SendKeys(chromedp.ID("dob_year"), "1961"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	settle(t, pb, "signed in", `location.pathname === '/me'`)
	patientPage := func(path, want string) {
		t.Helper()
		pb.do("open "+path, chromedp.Navigate(pb.base+path))
		if want != "" {
			settle(t, pb, path+" shows "+want, `document.body.textContent.includes(`+jsString(want)+`)`)
		}
		pg.sweep("patient " + path)
	}
	patientPage("/", "Maple ")
	patientPage("/me", "Subj ")
	pb.check("appointments on /me", `document.body.textContent.includes('Dr <img') && document.body.textContent.includes('Imp <img')`)
	patientPage("/me/access", "Cara ")
	patientPage("/new?type=message", "Maple ")
	patientPage("/new?type=refill", "")
	patientPage("/new?type=appointment", "")
	patientPage("/t/"+msgID+"?sent=1", "Subj ")
	patientPage("/t/"+refillID, "Closed ")
	patientPage("/t/"+msgID, "Answer ")
	for _, want := range append(append([]string{}, xssCorpus...), "Reply ", "Answer ", "Subj ", `<svg onload=alert(1)>{{.}}><b id=pwned>.pdf`) {
		pb.check("thread shows "+want, `document.body.textContent.includes(`+jsString(want)+`)`)
	}
	pb.check("the internal note stays internal", `!document.body.textContent.includes('Note ')`)
	patientPage("/contact", "Maple ")
	patientPage("/letter", "")

	// A visitor without an account: the contact form, its acknowledgement,
	// the urgent words typed live, and the start page signed out.
	vb := b.sibling()
	vg := guardTab(t, vb.ctx)
	vb.do("contact form", chromedp.Navigate(vb.base+"/contact"))
	fill := func(id, v string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`document.getElementById(` + jsString(id) + `).value = ` + jsString(v))
	}
	vb.do("fill the contact form", fill("name", "Val "+xssName), fill("dob_month", "7"), fill("dob_day", "8"), fill("dob_year", "1980"),
		fill("phone", "555-888-1313"), fill("email", "val@example.com"))
	vb.do("type urgent words", chromedp.SendKeys(chromedp.ID("body"), "I have chest pain "+xssAll))
	vb.do("settle", chromedp.Sleep(500*time.Millisecond))
	vg.sweep("contact form while typing")
	vb.do("send", chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	settle(t, vb, "contact acknowledged", `document.body.textContent.includes('Maple ') && !document.getElementById('body')`)
	vg.sweep("contact acknowledgement")
	vb.do("start page", chromedp.Navigate(vb.base+"/"))
	vg.sweep("visitor start page")

	// The visitor's request and the letter request in the owner's inbox.
	for _, who := range []string{"Val ", "Vic "} {
		view("#/inbox", has("#inbox-table", who))
		b.do("open "+who, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#inbox-table tbody tr')].find(r => r.textContent.includes(`+jsString(who)+`)).click()`))
		b.until(who+"item", has("#item-banner", who)+` || `+has("#item-details", who)+` || `+has("#thread", who))
		b.until(who+"thread", has("#thread", "javascript:alert(1)"))
		b.do("settle", chromedp.Sleep(300*time.Millisecond))
		g.sweep("console item of " + who)
	}

	for name, br := range map[string]*browser{"owner": b, "sam": sb, "patient": pb, "visitor": vb} {
		if errs := br.scriptErrors(); len(errs) > 0 {
			t.Errorf("the %s's pages reported errors (a CSP violation is one):\n%s", name, strings.Join(errs, "\n"))
		}
	}
	t.Logf("stored XSS scenario took %v", time.Since(start).Round(time.Millisecond))
}

// settle waits up to 15 s for expr to be true across a page load (a
// navigation ends chromedp's own polling).
func settle(t *testing.T, b *browser, step, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s is not true after 15 s (last error %v)", step, expr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// takeSelfCheckLog waits for the guard self-check's inline script to show
// in the browser's log as a CSP violation (the second channel the test
// reads), then forgets it.
func takeSelfCheckLog(t *testing.T, b *browser) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.mu.Lock()
		kept := b.errors[:0]
		found := false
		for _, e := range b.errors {
			if strings.Contains(e, "Executing inline script violates") {
				found = true
				continue
			}
			kept = append(kept, e)
		}
		b.errors = kept
		b.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the self-check's CSP violation never reached the browser log")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
