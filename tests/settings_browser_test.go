package tests

import (
	"reflect"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSettingsSectionsBrowser: Settings shows one section at a time, the
// sections are links, each has one Save that changes only its own fields,
// leaving a section with unsaved changes asks first (and leaving discards
// them), and the clinic's time zone is picked from the server's IANA list,
// narrowed by a search.
func TestSettingsSectionsBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	settings := func() map[string]any {
		t.Helper()
		var s map[string]any
		if code := owner.json("GET", "/api/v1/settings", nil, &s); code != 200 {
			t.Fatalf("GET settings: %d", code)
		}
		return s
	}
	// same treats an empty list and none as the same setting.
	same := func(a, b any) bool {
		if l, ok := a.([]any); ok && len(l) == 0 && b == nil {
			return true
		}
		return reflect.DeepEqual(a, b)
	}
	// onlyChanged fails unless after differs from before in exactly want.
	onlyChanged := func(step string, before, after map[string]any, want map[string]any) {
		t.Helper()
		for k, v := range after {
			if w, ok := want[k]; ok {
				if !reflect.DeepEqual(v, w) {
					t.Errorf("%s: %s = %v, want %v", step, k, v, w)
				}
			} else if !same(v, before[k]) {
				t.Errorf("%s: %s changed from %v to %v", step, k, before[k], v)
			}
		}
	}

	b := newBrowserFor(t, in, 60*time.Second)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("settings", chromedp.Click(chromedp.ID("nav-settings")), chromedp.WaitVisible(chromedp.ID("settings-time_zone")))
	b.check("one section, sections as links", `(() => {
		const tabs = [...document.querySelectorAll('.settings-nav a')];
		return tabs.length >= 8 && tabs.every((a) => a.getAttribute('href').startsWith('#/settings/')) &&
			document.getElementById('settings-tab-clinic').getAttribute('aria-current') === 'page' &&
			!document.getElementById('hours-form') && !document.getElementById('backups') && !document.getElementById('urgent') &&
			document.querySelectorAll('.view-body button[type="submit"]').length === 1;
	})()`)

	// The time zone: from the list, narrowed by a search.
	b.check("the clinic's zone is chosen", `document.getElementById('settings-time_zone').value === 'America/New_York' &&
		document.querySelectorAll('#settings-time_zone option').length > 250`)
	b.do("search the zones", chromedp.SendKeys(chromedp.ID("settings-tz-search"), "chicago"))
	b.until("narrowed", `(() => {
		const opts = [...document.querySelectorAll('#settings-time_zone option')].map((o) => o.value);
		const g = document.querySelector('#settings-time_zone option[value="America/Chicago"]');
		return opts.length <= 3 && g && g.parentElement.tagName === 'OPTGROUP' && g.parentElement.label === 'America' &&
			g.textContent.includes('Chicago') && g.textContent.includes('US');
	})()`)
	before := settings()
	b.do("pick Chicago, change the phone", chromedp.SetValue(chromedp.ID("settings-time_zone"), "America/Chicago"),
		clearField("settings-phone"), chromedp.SendKeys(chromedp.ID("settings-phone"), "555-201-7000"))

	// Switching away asks; staying keeps what was typed.
	b.do("to hours", chromedp.Click(chromedp.ID("settings-tab-hours")), chromedp.WaitVisible(chromedp.ID("settings-unsaved")))
	b.do("stay", chromedp.Click(chromedp.ID("settings-stay")))
	b.until("still on Clinic, with the changes", `!document.getElementById('settings-unsaved') && location.hash === '#/settings' &&
		document.getElementById('settings-time_zone').value === 'America/Chicago' && document.getElementById('settings-phone').value === '555-201-7000'`)
	b.do("save the clinic", chromedp.Click(chromedp.ID("settings-submit")))
	b.until("saved", `(document.getElementById('settings-msg')?.textContent || '').includes('saved')`)
	onlyChanged("clinic save", before, settings(), map[string]any{"time_zone": "America/Chicago", "phone": "555-201-7000"})

	// Saved: moving on asks nothing.
	b.do("to backups", chromedp.Click(chromedp.ID("settings-tab-backups")), chromedp.WaitVisible(chromedp.ID("backups-backup_keep")))
	b.check("backups alone", `location.hash === '#/settings/backups' && !document.getElementById('settings-time_zone') &&
		document.getElementById('settings-tab-backups').getAttribute('aria-current') === 'page'`)
	// Leaving unsaved changes discards them.
	before = settings()
	b.do("change backups", clearField("backups-backup_keep"), chromedp.SendKeys(chromedp.ID("backups-backup_keep"), "30"),
		chromedp.Click(chromedp.ID("settings-tab-safety")), chromedp.WaitVisible(chromedp.ID("settings-unsaved")),
		chromedp.Click(chromedp.ID("settings-leave")), chromedp.WaitVisible(chromedp.ID("urgent-crisis_line")))
	onlyChanged("left without saving", before, settings(), nil)
	b.do("back to backups", chromedp.Click(chromedp.ID("settings-tab-backups")), chromedp.WaitVisible(chromedp.ID("backups-backup_keep")))
	b.check("the unsaved change is gone", `document.getElementById('backups-backup_keep').value === '14'`)
	b.do("save backups", clearField("backups-backup_keep"), chromedp.SendKeys(chromedp.ID("backups-backup_keep"), "30"),
		chromedp.Click(chromedp.ID("backups-submit")))
	b.until("backups saved", `(document.getElementById('backups-msg')?.textContent || '').includes('saved')`)
	onlyChanged("backups save", before, settings(), map[string]any{"backup_keep": float64(30)})
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("script errors: %v", errs)
	}
}
