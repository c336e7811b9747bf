package tests

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"hearth/app/testenv"
)

const chromiumPath = "/usr/bin/chromium"

// browser drives one headless Chromium tab against a running instance and
// collects every script error and CSP violation the page reports.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T, in *instance) *browser {
	t.Helper()
	return newBrowserFor(t, in, 90*time.Second)
}

// newBrowserFor is newBrowser with a longer deadline for the whole browser.
func newBrowserFor(t *testing.T, in *instance, limit time.Duration) *browser {
	t.Helper()
	return newBrowserWith(t, in, limit)
}

// newBrowserWith is newBrowserFor with more Chromium options (a test CA's
// certificate accepted, a test name resolved).
func newBrowserWith(t *testing.T, in *instance, limit time.Duration, more ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Missing(t, fmt.Sprintf("no browser at %s (install Debian's chromium): %v", chromiumPath, err), testenv.RequireBrowser, testenv.CI)
	}
	// One deadline for the whole browser: no scenario step may hang the run.
	root, cancelRoot := context.WithTimeout(context.Background(), limit)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
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
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(root, append(opts, more...)...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelRoot() })
	b := &browser{t: t, ctx: ctx, base: in.base()}
	b.listen()
	b.do("viewport", chromedp.EmulateViewport(1280, 800))
	return b
}

// sibling opens a tab in a new browser context of the same Chromium: its
// own cookies and storage, like a second person's computer.
func (b *browser) sibling() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	o := &browser{t: b.t, ctx: ctx, base: b.base}
	o.listen()
	o.do("viewport", chromedp.EmulateViewport(1280, 800))
	return o
}

// listen collects the tab's script errors and CSP violations.
func (b *browser) listen() {
	t := b.t
	err := chromedp.Listen(b.ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ex := ev.ExceptionDetails.Exception; ex != nil && ex.Description != "" {
				msg += " " + ex.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				msg = "console.error"
				for _, a := range ev.Args {
					msg += " " + string(a.Value) + a.Description
				}
			}
		case *log.EventEntryAdded:
			// 401s from a signed-out GET /api/v1/session and the like are
			// expected network answers; anything else logged as an error
			// (a CSP violation, a failed module) is a bug.
			if ev.Entry.Level == log.EntryLevelError && ev.Entry.Source != log.EntrySourceNetwork {
				msg = fmt.Sprintf("log (%s): %s", ev.Entry.Source, ev.Entry.Text)
			}
		}
		if msg != "" {
			b.mu.Lock()
			b.errors = append(b.errors, msg)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
}

// do runs steps that return nothing, within 15 s.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	for i, a := range actions {
		if err := chromedp.Do(ctx, a); err != nil {
			body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
			b.t.Fatalf("%s (action %d): %v\npage text:\n%s\nscript errors: %v", step, i+1, err, body, b.scriptErrors())
		}
	}
}

// until waits up to 15 s for a JavaScript expression to become true.
func (b *browser) until(step, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("%s: waiting for %s: %v\npage text:\n%s\nscript errors: %v", step, expr, err, body, b.scriptErrors())
	}
}

// clickID clicks the element with this id once it is in the page, in one
// script step: views that redraw on live events (the board's day tabs, the
// inbox's queue tabs) can replace a node between a wait and a separate
// click, which chromedp reports as "could not find node".
func (b *browser) clickID(step, id string) {
	b.t.Helper()
	b.until(step, `(() => { const e = document.getElementById(`+strconv.Quote(id)+`); if (!e) return false; e.click(); return true; })()`)
}

// check evaluates a JavaScript expression that must be true now.
func (b *browser) check(step, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise))
	if err != nil || !ok {
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("%s: %s is not true (err %v)\npage text:\n%s", step, expr, err, body)
	}
}

func (b *browser) scriptErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// clearField empties an input the way a person does: its value, not its
// attribute (chromedp's Clear and SetValue(sel, "") do not).
func clearField(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ''`, id))
}

func (b *browser) signIn(email, password string) {
	b.t.Helper()
	b.do("sign-in form "+email,
		chromedp.WaitVisible(chromedp.ID("signin-email")),
		chromedp.SendKeys(chromedp.ID("signin-email"), email),
		chromedp.SendKeys(chromedp.ID("signin-password"), password),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("nav-patients")),
	)
}

// TestConsoleBrowser walks the staff console in a real browser against the
// real binary: sign-in, staff, patients, audit, lock, unlock, switch user.
func TestConsoleBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()

	// Patients that already exist: one shares a name with the patient the
	// console creates, so its record must warn about the namesake.
	api := in.owner()
	for _, p := range []map[string]string{
		{"name": "Rosa Delgado", "dob": "1988-07-02", "phone": "555-201-7780", "lang": "es"},
		{"name": "Rosalind Chen", "dob": "1954-11-23", "phone": "555-201-4432", "lang": "en"},
		{"name": "Ross Whitaker", "dob": "1972-01-09", "phone": "555-310-0917", "lang": "en"},
	} {
		if code := api.json("POST", "/api/v1/patients", p, nil); code != 201 {
			t.Fatalf("create patient %s: %d", p["name"], code)
		}
	}

	b := newBrowser(t, in)
	start := time.Now()

	// Sign in as the owner.
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.check("clinic name in header", `document.querySelector('.top .clinic').textContent === 'Maple Street Family Clinic'`)
	b.signIn("owner@maple.test", ownerPassword)
	b.until("signed-in person shown", `document.getElementById('me').textContent.includes('Olive Owner')`)

	// Staff: a server error shows next to its field, then a new account.
	b.do("staff view",
		chromedp.Click(chromedp.ID("nav-staff")),
		chromedp.WaitVisible(chromedp.ID("staff-table")),
		chromedp.Click(chromedp.ID("staff-add-toggle")),
		chromedp.WaitVisible(chromedp.ID("staffnew-name")),
		chromedp.Click(chromedp.ID("staffnew-submit")),
		chromedp.WaitVisible(chromedp.ID("staffnew-name-err")),
	)
	b.check("field error is announced", `document.getElementById('staffnew-name-err').getAttribute('role') === 'alert' &&
		document.getElementById('staffnew-name').getAttribute('aria-describedby').includes('staffnew-name-err')`)
	b.do("add staff member",
		chromedp.SendKeys(chromedp.ID("staffnew-name"), "Frank Front"),
		chromedp.SendKeys(chromedp.ID("staffnew-email"), "frank@maple.test"),
		chromedp.SetValue(chromedp.ID("staffnew-role"), "frontdesk"),
		chromedp.SendKeys(chromedp.ID("staffnew-password"), "Maple-Desk-Password-7"),
		chromedp.Click(chromedp.ID("staffnew-submit")),
	)
	b.until("new staff member listed", `(document.getElementById('staff-table')?.textContent || '').includes('frank@maple.test')`)
	// The name patients see (issue 14 item 7): the default shows, the owner sets another.
	b.check("open Frank's panel", `(() => {
		const tr = [...document.querySelectorAll('#staff-table tbody tr')].find(r => r.textContent.includes('frank@maple.test'));
		tr.querySelector('button[id^="manage-btn-"]').click();
		return true;
	})()`)
	b.until("name patients see field", `document.querySelector('[id$="-shown-display_name"]')?.placeholder === 'Frank'`)
	b.do("set the name patients see",
		chromedp.SendKeys(chromedp.CSS(`[id$="-shown-display_name"]`), "Frankie"),
		chromedp.Click(chromedp.CSS(`[id$="-shown-submit"]`)),
	)
	b.until("name patients see saved", `(document.getElementById('staff-table')?.textContent || '').includes('Patients now see Frank Front as Frankie.') &&
		document.querySelector('[id$="-shown-display_name"]')?.value === 'Frankie'`)

	// Patients: a bad birth date is refused next to its field; then create
	// and find the patient.
	b.do("new patient form",
		chromedp.Click(chromedp.ID("nav-patients")),
		chromedp.Click(chromedp.ID("patient-new")),
		chromedp.WaitVisible(chromedp.ID("patientnew-name")),
		chromedp.SendKeys(chromedp.ID("patientnew-name"), "Rosa Delgado"),
		chromedp.SendKeys(chromedp.ID("patientnew-dob"), "13/45/1961"),
		chromedp.Click(chromedp.ID("patientnew-submit")),
		chromedp.WaitVisible(chromedp.ID("patientnew-dob-err")),
		clearField("patientnew-dob"),
		chromedp.SendKeys(chromedp.ID("patientnew-dob"), "03/14/1961"),
		chromedp.SendKeys(chromedp.ID("patientnew-phone"), "555-201-3344"),
		chromedp.SendKeys(chromedp.ID("patientnew-email"), "rosa.d@example.com"),
		chromedp.Click(chromedp.ID("patientnew-submit")),
		chromedp.WaitVisible(chromedp.ID("patient-banner")),
	)
	b.until("patient record shown", `document.getElementById('patient-name').textContent === 'Rosa Delgado'`)
	b.until("same-name warning", `(document.getElementById('same-name')?.textContent || '').includes('same name')`)
	b.check("birth date shown", `document.getElementById('patient-banner').textContent.includes('Mar 14, 1961')`)
	b.do("search patients",
		chromedp.Click(chromedp.CSS(".back")),
		chromedp.WaitVisible(chromedp.ID("psearch-q")),
		chromedp.SendKeys(chromedp.ID("psearch-q"), "Ros"),
	)
	b.until("search finds the patients", `(() => {
		const rows = [...document.querySelectorAll('#patient-table tbody tr')].map(r => r.textContent);
		return rows.length === 4 && rows.some(r => r.includes('Rosa Delgado') && r.includes('Mar 14, 1961') && r.includes('555-201-3344'));
	})()`)
	b.screenshot("console-patients.png")

	// Audit: the sign-in and the patient events are there.
	b.do("audit view",
		chromedp.Click(chromedp.ID("nav-audit")),
		chromedp.WaitVisible(chromedp.ID("audit-table")),
	)
	b.until("audit shows sign-in and patient events", `(() => {
		const t = document.querySelector('#audit-table tbody').textContent;
		return t.includes('staff.signin') && t.includes('patient.create') && t.includes('patient.read') && t.includes('Olive Owner');
	})()`)
	b.check("CSV export carries the filters", `document.getElementById('audit-export').getAttribute('href') === '/api/v1/audit?format=csv'`)

	// Lock: the app is gone from the DOM, and the server refuses the session.
	b.do("lock", chromedp.Click(chromedp.ID("btn-lock")), chromedp.WaitVisible(chromedp.ID("lock-password")))
	b.check("app content removed while locked", `!document.getElementById('shell') && !document.querySelector('nav') &&
		!document.body.textContent.includes('Rosa') && !document.body.textContent.includes('staff.signin') &&
		document.getElementById('lock-who').textContent.includes('Olive Owner')`)
	b.until("server holds the lock", `(async () => (await fetch('/api/v1/patients?q=Rosa', {credentials: 'same-origin'})).status === 401)()`)
	b.do("wrong password",
		chromedp.SendKeys(chromedp.ID("lock-password"), "not-my-password"),
		chromedp.Click(chromedp.ID("lock-submit")),
		chromedp.WaitVisible(chromedp.ID("lock-password-err")),
	)
	b.do("unlock with password",
		clearField("lock-password"),
		chromedp.SendKeys(chromedp.ID("lock-password"), ownerPassword),
		chromedp.Click(chromedp.ID("lock-submit")),
		chromedp.WaitVisible(chromedp.ID("view-audit")),
	)

	// Switch user: nothing of the owner remains; the front desk sees no
	// owner views.
	b.do("switch user", chromedp.Click(chromedp.ID("btn-switch")), chromedp.WaitVisible(chromedp.ID("signin-email")))
	b.check("previous person gone", `!document.getElementById('shell') && !document.body.textContent.includes('Olive') && location.hash === ''`)
	// A new account must replace the owner-chosen password before anything
	// else: the API refuses other calls (403 setup_required) until then.
	b.do("sign in with the owner-chosen password",
		chromedp.WaitVisible(chromedp.ID("signin-email")),
		chromedp.SendKeys(chromedp.ID("signin-email"), "frank@maple.test"),
		chromedp.SendKeys(chromedp.ID("signin-password"), "Maple-Desk-Password-7"),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("newpw-new")),
	)
	b.check("gate shows no console", `!document.getElementById('shell') && !document.getElementById('newpw-current') &&
		document.getElementById('gate-title').textContent.includes('Choose your own password')`)
	b.check("server holds the gate", `(async () => (await fetch('/api/v1/patients?q=Ros', {credentials: 'same-origin'})).status === 403)()`)
	b.do("mismatched new passwords",
		chromedp.SendKeys(chromedp.ID("newpw-new"), "Frank-Own-Secret-2026"),
		chromedp.SendKeys(chromedp.ID("newpw-new_again"), "Frank-Own-Secret-2025"),
		chromedp.Click(chromedp.ID("newpw-submit")),
		chromedp.WaitVisible(chromedp.ID("newpw-new_again-err")),
	)
	b.do("choose own password",
		clearField("newpw-new_again"),
		chromedp.SendKeys(chromedp.ID("newpw-new_again"), "Frank-Own-Secret-2026"),
		chromedp.Click(chromedp.ID("newpw-submit")),
		chromedp.WaitVisible(chromedp.ID("nav-patients")),
	)
	b.until("front desk signed in", `document.getElementById('me').textContent.includes('Frank Front')`)
	b.check("owner views absent", `!document.getElementById('nav-staff') && !document.getElementById('nav-audit') &&
		!document.getElementById('nav-settings') && !!document.getElementById('nav-account') && !!document.getElementById('nav-inbox') &&
		location.hash === '#/inbox'`)
	if code := in.newClient().json("POST", "/api/v1/login", map[string]string{"email": "frank@maple.test", "password": "Frank-Own-Secret-2026"}, nil); code != 200 {
		t.Errorf("sign-in with the new password: %d", code)
	}

	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("browser scenario took %v", time.Since(start).Round(time.Millisecond))
}

// TestConsoleSealedBrowser: the owner protects the clinic key with a
// passphrase from Settings; after a restart, sign-in leads to the "Unlock
// Hearth" screen, a wrong passphrase is refused, and the right one lets
// staff sign in again.
func TestConsoleSealedBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	b := newBrowser(t, in)
	const passphrase = "maple syrup lantern orbit"
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("settings", chromedp.Click(chromedp.ID("nav-settings")), chromedp.Click(chromedp.ID("settings-tab-passphrase")), chromedp.WaitVisible(chromedp.ID("passphrase-passphrase")),
		chromedp.SendKeys(chromedp.ID("passphrase-password"), ownerPassword),
		chromedp.SendKeys(chromedp.ID("passphrase-passphrase"), "too short"),
		chromedp.SendKeys(chromedp.ID("passphrase-passphrase_again"), "too short"),
		chromedp.Click(chromedp.ID("passphrase-submit")),
		chromedp.WaitVisible(chromedp.ID("passphrase-passphrase-err")),
		clearField("passphrase-passphrase"), clearField("passphrase-passphrase_again"),
		chromedp.SendKeys(chromedp.ID("passphrase-passphrase"), passphrase),
		chromedp.SendKeys(chromedp.ID("passphrase-passphrase_again"), passphrase),
		chromedp.Click(chromedp.ID("passphrase-submit")),
	)
	b.until("passphrase on", `(document.getElementById('passphrase-status')?.textContent || '').includes('protected by the passphrase')`)

	in.stop()
	in.start()
	b.do("reload after restart", chromedp.Navigate(b.base+"/staff/"))
	b.do("unlock screen", chromedp.WaitVisible(chromedp.ID("vault-passphrase")))
	b.check("says why", `document.getElementById('vault-title').textContent === 'Hearth is locked'`)
	b.do("wrong passphrase",
		chromedp.SendKeys(chromedp.ID("vault-passphrase"), "not the passphrase"),
		chromedp.Click(chromedp.ID("vault-submit")),
		chromedp.WaitVisible(chromedp.ID("vault-passphrase-err")),
		clearField("vault-passphrase"),
		chromedp.SendKeys(chromedp.ID("vault-passphrase"), passphrase),
		chromedp.Click(chromedp.ID("vault-submit")),
		chromedp.WaitVisible(chromedp.ID("signin-email")),
	)
	b.check("unlocked notice", `document.body.textContent.includes('Hearth is unlocked')`)
	b.signIn("owner@maple.test", ownerPassword)
	b.until("inbox after unlock", `location.hash === '#/inbox' && !!document.getElementById('inbox-table')`)
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
