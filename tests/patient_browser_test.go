package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"hearth/app/testenv"
)

// The patient side in a real browser against the real binary: a phone-sized
// screen with JavaScript turned off walks an invite letter, a message, the
// acknowledgement, a staff reply and the patient's answer; then axe-core
// checks every patient page for serious accessibility problems, and the
// README screenshots are taken.

const patientChromium = "/usr/bin/chromium"

// patientTab is one headless Chromium tab at 360×640, like an old phone.
type patientTab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newPatientTab(t *testing.T, in *instance) *patientTab {
	t.Helper()
	if _, err := os.Stat(patientChromium); err != nil {
		testenv.Missing(t, fmt.Sprintf("no browser at %s (install Debian's chromium): %v", patientChromium, err), testenv.RequireBrowser, testenv.CI)
	}
	root, cancelRoot := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(patientChromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelRoot() })
	p := &patientTab{t: t, ctx: ctx, base: in.base()}
	// The first run starts the browser and binds it to its context: it gets
	// the tab's own context, never a shorter-lived one.
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 360, Height: 640, DeviceScaleFactor: 2, Mobile: true})
		return err
	}))
	if err != nil {
		t.Fatalf("start chromium at 360×640: %v", err)
	}
	return p
}

// scripts turns the page's JavaScript off or on.
func (p *patientTab) scripts(on bool) {
	p.t.Helper()
	p.do("scripts", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
}

func (p *patientTab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	for i, a := range actions {
		if err := chromedp.Do(ctx, a); err != nil {
			p.t.Fatalf("%s (action %d): %v\npage text:\n%s", step, i+1, err, p.text())
		}
	}
}

// text is the page's visible text, read through the DOM (it works with
// the page's own scripts off).
func (p *patientTab) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	return s
}

// sees waits until the page's text contains every one of wants.
func (p *patientTab) sees(step string, wants ...string) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		txt := p.text()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(txt, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: the page does not show %q\npage text:\n%s", step, missing, txt)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *patientTab) location() string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		p.t.Fatalf("location: %v", err)
	}
	return loc
}

// show scrolls an element to the top of the screen and puts the focus
// away, for a screenshot. DevTools can do this with the page's scripts off.
func (p *patientTab) show(sel string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement && document.activeElement.blur();
		document.querySelector(`+"`"+sel+"`"+`).scrollIntoView(); window.scrollBy(0, -12); true`)); err != nil {
		p.t.Fatalf("scroll to %s: %v", sel, err)
	}
}

// shot saves the viewport as assets/screenshots/name.
func (p *patientTab) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	screenshot(p.t, ctx, name)
}

// axeViolation is one failed axe-core rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axe runs axe-core on the current page (scripts must be on) and returns
// the serious and critical violations.
func (p *patientTab) axe(src string) []axeViolation {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](src+";true")); err != nil {
		p.t.Fatalf("inject axe: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
		resultTypes: ['violations']
	}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("run axe: %v", err)
	}
	var all, bad []axeViolation
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		p.t.Fatalf("axe result: %v", err)
	}
	for _, v := range all {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v)
		} else {
			p.t.Logf("axe (%s, not failing): %s: %s", v.Impact, v.ID, v.Help)
		}
	}
	return bad
}

func TestPatientBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	api := in.owner()
	// Open around the clock, so the acknowledgement's promise does not
	// depend on when the test runs (TestPatientAckClosedBrowser is the
	// closed clinic).
	if code := api.json("PUT", "/api/v1/settings", map[string]any{"phone": "(555) 201-0000", "hours": hoursOpenOn(allDays...)}, nil); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	var pat struct {
		ID string `json:"id"`
	}
	if code := api.json("POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14",
		"phone": "555-201-3344", "lang": "en"}, &pat); code != 201 {
		t.Fatalf("create patient: %d", code)
	}
	invite := func() string {
		var inv struct {
			Code string `json:"code"`
		}
		if code := api.json("POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv); code != 201 {
			t.Fatalf("invite: %d", code)
		}
		return inv.Code
	}
	code := invite()

	p := newPatientTab(t, in)
	start := time.Now()
	p.scripts(false)

	// The landing page on a phone, without JavaScript.
	p.do("landing", chromedp.Navigate(p.base+"/"))
	p.sees("landing", "Maple Street Family Clinic", "If this is an emergency,", "call 911", "Send a message",
		"Request a refill", "Request an appointment", "Ask for a call back", "I have a letter with a code", "Opening hours")
	p.shot("patient-landing.png")
	if js, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`typeof document.body.dataset === 'object'`)); err == nil && js {
		t.Logf("note: DevTools evaluation still runs with page scripts off (expected)")
	}

	// The letter: type the code on the landing page, then the birth date.
	p.do("code", chromedp.SendKeys(chromedp.ID("code"), strings.ToLower(code[:4])+" "+code[4:]),
		chromedp.Click(chromedp.CSS(`form[action="/i"] button`)))
	p.sees("invite form", "Confirm it is you", "Date of birth", "This is a shared or public computer")
	p.do("birth date",
		chromedp.SendKeys(chromedp.ID("dob_month"), "3"),
		chromedp.SendKeys(chromedp.ID("dob_day"), "14"),
		chromedp.SendKeys(chromedp.ID("dob_year"), "1961"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
	)
	p.sees("signed in", "Hello, Rosa", "My requests", "You haven't sent anything yet")

	// Compose a message.
	p.do("compose", chromedp.Click(chromedp.CSS(`a.action[href="/new?type=message"]`)))
	p.sees("compose page", "Send a message", "If you send this now, a person will answer by")
	p.do("type message",
		chromedp.SendKeys(chromedp.ID("subject"), "Blood pressure readings"),
		chromedp.SendKeys(chromedp.ID("body"), "My home readings were 150/95 this week. Should I change my dose of lisinopril?"),
	)
	p.show(".sos")
	p.shot("patient-compose.png")
	p.do("send", chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	p.sees("acknowledgement", "We got your message", "A person at Maple Street Family Clinic will answer by", "If it gets worse before then")
	p.shot("patient-ack.png")
	m := regexp.MustCompile(`/t/([0-9a-f-]{36})\?sent=1$`).FindStringSubmatch(p.location())
	if m == nil {
		t.Fatalf("after sending, the page is %s", p.location())
	}
	id := m[1]

	// The front desk reads it and answers.
	if code := api.json("GET", "/api/v1/items/"+id, nil, nil); code != 200 {
		t.Fatalf("staff read: %d", code)
	}
	if code := api.json("POST", "/api/v1/items/"+id+"/messages", map[string]any{
		"body": "Thanks for sending these, Rosa. Please keep taking 10 mg for now and come in on Thursday at 9:30 so Dr. Lee can recheck it.", "internal": false}, nil); code != 201 {
		t.Fatalf("staff reply: %d", code)
	}
	p.do("reload thread", chromedp.Navigate(p.base+"/t/"+id))
	p.sees("staff reply", "Dr. Lee can recheck it", "Olive, clinic manager", "Answered")

	// The patient answers.
	p.do("reply",
		chromedp.SendKeys(chromedp.ID("body"), "Thursday at 9:30 works. Thank you!"),
		chromedp.Click(chromedp.CSS(`form[action$="/reply"] button[type="submit"]`)),
	)
	p.sees("patient reply", "Your reply was sent.", "Thursday at 9:30 works. Thank you!")
	p.do("thread for the screenshot", chromedp.Navigate(p.base+"/t/"+id))
	p.show(".t-title")
	p.shot("patient-thread.png")

	// Accessibility: axe-core on every patient page, with scripts on.
	axeSrc, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v (see tests/testdata/README.md)", err)
	}
	p.scripts(true)
	urgent := func() string {
		p.do("urgent", chromedp.Navigate(p.base+"/new?type=message"))
		p.do("urgent text", chromedp.SendKeys(chromedp.ID("body"), "I have crushing chest pain"),
			chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
		p.sees("urgent guidance", "can be an emergency")
		return strings.TrimPrefix(p.location(), p.base)
	}()
	pages := []string{"/", "/?lang=es", "/me", "/me/access", "/new?type=message", "/new?type=refill", "/new?type=appointment",
		"/new?type=callback", "/t/" + id, "/t/" + id + "?sent=1", urgent, "/new?type=refill&lang=es", "/me?lang=en"}
	// Pages of people who are not signed in, and a form with errors.
	anonPages := []string{"/i/" + invite(), "/contact", "/contact?type=callback", "/letter", "/i/NOTACODE"}
	failed := false
	check := func(path string) {
		p.do("open "+path, chromedp.Navigate(p.base+path))
		for _, v := range p.axe(string(axeSrc)) {
			failed = true
			var targets []string
			for _, n := range v.Nodes {
				targets = append(targets, fmt.Sprint(n.Target...))
			}
			t.Errorf("axe %s on %s: %s (%s): %s", v.Impact, path, v.ID, v.Help, strings.Join(targets, ", "))
		}
	}
	for _, path := range pages {
		check(path)
	}
	// Errors next to fields: an empty refill form.
	p.do("refill errors", chromedp.Navigate(p.base+"/new?type=refill"), chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	p.sees("refill errors", "Please check this", "Write the name of the medicine.")
	for _, v := range p.axe(string(axeSrc)) {
		failed = true
		t.Errorf("axe %s on the refill form with errors: %s (%s)", v.Impact, v.ID, v.Help)
	}
	p.do("sign out", chromedp.Navigate(p.base+"/me"), chromedp.Click(chromedp.CSS(`form.signout button`)))
	p.sees("signed out", "You are signed out")
	for _, path := range anonPages {
		check(path)
	}
	if !failed {
		t.Logf("axe-core: no serious or critical violations on %d pages", len(pages)+len(anonPages)+1)
	}
	t.Logf("patient browser scenario took %v", time.Since(start).Round(time.Millisecond))
}

var allDays = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}

// hoursOpenOn is weekly hours open around the clock on days, closed on the
// others, as the settings API takes them.
func hoursOpenOn(days ...time.Weekday) map[string]any {
	weekly := make([][]map[string]string, 7)
	for i := range weekly {
		weekly[i] = []map[string]string{}
	}
	for _, d := range days {
		weekly[d] = []map[string]string{{"open": "00:00", "close": "24:00"}}
	}
	return map[string]any{"weekly": weekly, "holidays": []string{}}
}

// TestPatientAckClosedBrowser: on a phone with JavaScript off, while the
// clinic is closed (the binary's clock is the real one, so the hours leave
// out today and tomorrow), the acknowledgement of an urgent message shows
// the emergency guidance first, then that the clinic is closed, when it
// opens and a person reads it, and the after-hours line, never an answer
// time before the opening; the same in Spanish, for a plain message and
// on the no-account form. Self-harm wording shows the crisis line, and a
// call back nobody answered is shown as tried, never "Answered".
func TestPatientAckClosedBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	api := in.owner()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Open only from the day after tomorrow, clinic time, for three days:
	// closed now, whatever the time.
	today := time.Now().In(ny).Weekday()
	open := []time.Weekday{(today + 2) % 7, (today + 3) % 7, (today + 4) % 7}
	if code := api.json("PUT", "/api/v1/settings", map[string]any{"phone": "(555) 201-0000", "after_hours_phone": "(555) 201-9999",
		"hours": hoursOpenOn(open...)}, nil); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	var pat struct {
		ID string `json:"id"`
	}
	if code := api.json("POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14",
		"phone": "555-201-3344", "lang": "en"}, &pat); code != 201 {
		t.Fatalf("create patient: %d", code)
	}
	var inv struct {
		Code string `json:"code"`
	}
	if code := api.json("POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	p := newPatientTab(t, in)
	p.scripts(false)
	p.do("invite", chromedp.Navigate(p.base+"/i/"+inv.Code),
		chromedp.SendKeys(chromedp.ID("dob_month"), "3"),
		chromedp.SendKeys(chromedp.ID("dob_day"), "14"),
		chromedp.SendKeys(chromedp.ID("dob_year"), "1961"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	p.sees("signed in", "Hello, Rosa")

	send := func(lang, body string) string {
		p.do("compose "+lang, chromedp.Navigate(p.base+"/new?type=message&lang="+lang),
			chromedp.SendKeys(chromedp.ID("body"), body),
			chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
		p.sees("acknowledgement "+lang, map[string]string{"en": "We got your message", "es": "Recibimos su mensaje"}[lang])
		return p.text()
	}
	order := func(step, txt string, first ...string) {
		t.Helper()
		at := -1
		for _, w := range first {
			i := strings.Index(txt, w)
			if i < 0 || i < at {
				t.Errorf("%s: %q missing or out of order\npage text:\n%s", step, w, txt)
				return
			}
			at = i
		}
	}

	txt := send("en", "I have chest pain and can't breathe")
	order("urgent, closed", txt, "can be an emergency", "Call 911", "We're closed now. We open", "will read your message when we open",
		"call our after-hours line: (555) 201-9999", "In an emergency, call 911")
	if strings.Contains(txt, "will answer by") {
		t.Errorf("urgent, closed: an answer time is promised\n%s", txt)
	}
	p.shot("patient-ack-closed.png")

	txt = send("es", "Una pregunta sobre mis análisis")
	order("plain, closed, Spanish", txt, "Ahora estamos cerrados. Abrimos", "leerá su mensaje cuando abramos",
		"llame a nuestra línea fuera de horario: (555) 201-9999", "En una emergencia, llame al 911")
	if strings.Contains(txt, "a más tardar") || strings.Contains(txt, "puede ser una emergencia") {
		t.Errorf("plain, closed, Spanish: an answer time or the emergency box\n%s", txt)
	}

	txt = send("en", "I keep thinking about ending my life")
	order("self-harm", txt, "Call 911", "call the crisis line at 988", "Call the crisis line, 988", "We're closed now.")

	// A call back nobody answered: the list and the thread say so.
	p.do("call back", chromedp.Navigate(p.base+"/new?type=callback&lang=en"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	p.sees("call back sent", "We got your message")
	m := regexp.MustCompile(`/t/([0-9a-f-]{36})\?sent=1$`).FindStringSubmatch(p.location())
	if m == nil {
		t.Fatalf("after asking for a call, the page is %s", p.location())
	}
	for _, outcome := range []string{"Left a voicemail", "No answer"} {
		if code := api.json("POST", "/api/v1/items/"+m[1]+"/attempts", map[string]string{"outcome": outcome}, nil); code != 200 {
			t.Fatalf("log attempt: %d", code)
		}
	}
	p.do("list", chromedp.Navigate(p.base+"/me"))
	p.sees("list after the calls", "We called: no answer", "and left a voicemail.", ". No answer.")
	p.do("thread", chromedp.Navigate(p.base+"/t/"+m[1]))
	p.sees("thread after the calls", "and left a voicemail.", ". No answer.", "We called: no answer")
	if txt := p.text(); strings.Contains(txt, "Answered") {
		t.Errorf("a call nobody answered shows as answered\n%s", txt)
	}
	p.shot("patient-call-tried.png")

	// The no-account form, urgent, in Spanish.
	p.do("sign out", chromedp.Navigate(p.base+"/me"), chromedp.Click(chromedp.CSS(`form.signout button`)))
	p.sees("signed out", "You are signed out")
	p.do("contact", chromedp.Navigate(p.base+"/contact?type=message&lang=es"),
		chromedp.SendKeys(chromedp.ID("name"), "Ana Torres"),
		chromedp.SendKeys(chromedp.ID("dob_day"), "2"),
		chromedp.SendKeys(chromedp.ID("dob_month"), "5"),
		chromedp.SendKeys(chromedp.ID("dob_year"), "1980"),
		chromedp.SendKeys(chromedp.ID("phone"), "555-201-4455"),
		chromedp.SendKeys(chromedp.ID("body"), "Tengo dolor de pecho y no puedo respirar"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	p.sees("contact acknowledgement", "Recibimos su mensaje")
	txt = p.text()
	order("contact, urgent, closed, Spanish", txt, "puede ser una emergencia", "Llamar al 911", "Ahora estamos cerrados. Abrimos",
		"leerá su mensaje cuando abramos", "(555) 201-9999")
	if strings.Contains(txt, "a más tardar") {
		t.Errorf("contact, closed: an answer time is promised\n%s", txt)
	}
}

// TestUrgentWarningWhileTyping: with JavaScript on, the emergency guidance
// appears on the no-account form as soon as the text reads like one, with
// the crisis line when it reads as self-harm.
func TestUrgentWarningWhileTyping(t *testing.T) {
	in := newClinic(t)
	in.start()
	p := newPatientTab(t, in)
	p.scripts(true)
	p.do("contact form", chromedp.Navigate(p.base+"/contact"))
	hidden := func() bool {
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.getElementById('urgent-live').hidden`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if !hidden() {
		t.Fatal("the emergency box shows before anything was typed")
	}
	p.do("type", chromedp.SendKeys(chromedp.ID("body"), "Since this morning I have crushing chest pain"))
	deadline := time.Now().Add(5 * time.Second)
	for hidden() {
		if time.Now().After(deadline) {
			t.Fatal("typing urgent words did not show the emergency guidance")
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.sees("guidance", "can be an emergency", "Call 911")
	crisisHidden := func() bool {
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.getElementById('urgent-crisis').hidden`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if !crisisHidden() {
		t.Fatal("chest pain shows the crisis line")
	}
	// Self-harm wording adds the crisis line.
	p.do("type self-harm", chromedp.SendKeys(chromedp.ID("body"), ". I want to end my life"))
	deadline = time.Now().Add(5 * time.Second)
	for crisisHidden() {
		if time.Now().After(deadline) {
			t.Fatal("typing self-harm words did not show the crisis line")
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.sees("crisis line", "call the crisis line at 988", "Call the crisis line, 988")
}
