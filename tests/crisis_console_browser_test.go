package tests

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleCrisisLineBrowser: the owner sees the crisis line in force
// (988, the emergency number being 911) in Settings, and changes it and
// the after-hours line there.
func TestConsoleCrisisLineBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	b := newBrowser(t, in)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("settings", chromedp.Click(chromedp.ID("nav-settings")), chromedp.Click(chromedp.ID("settings-tab-safety")), chromedp.WaitVisible(chromedp.ID("urgent-crisis_line")))
	b.check("default crisis line", `document.getElementById('urgent-crisis_line').value === '988'`)
	b.do("change the lines", clearField("urgent-crisis_line"),
		chromedp.SendKeys(chromedp.ID("urgent-crisis_line"), "1-800-273-8255"),
		chromedp.SendKeys(chromedp.ID("urgent-after_hours_phone"), "(555) 201-9999"),
		chromedp.Click(chromedp.ID("urgent-submit")))
	b.until("saved", `(document.querySelector('#set-words .form-msg')?.textContent || '').includes('Saved')`)
	var got struct {
		CrisisLine      string `json:"crisis_line"`
		AfterHoursPhone string `json:"after_hours_phone"`
	}
	if code := in.owner().json("GET", "/api/v1/settings", nil, &got); code != 200 || got.CrisisLine != "1-800-273-8255" || got.AfterHoursPhone != "(555) 201-9999" {
		t.Fatalf("settings after saving: %d %+v", code, got)
	}
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors: %v", errs)
	}
}
