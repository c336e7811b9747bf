package tests

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hearth/app/testenv"
)

// TestOutreachBrowser walks reaching out in real browsers against the real
// binary: the owner writes to a patient from the patient's page (identity
// banner, a template in the patient's language); the patient, on a phone
// with JavaScript off, finds it marked new on /me and reads it, and the
// console then says when; a notice to tomorrow's three patients is
// previewed and sent, and its report shows three conversations; the
// on-call rota editor shows a field's error and saves.
func TestOutreachBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	loc, err := time.LoadLocation("America/New_York") // the clinic's zone by default
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("no time zone data: %v", err), testenv.CI)
	}
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"phone": "555-201-0000"}, nil)
	var pat struct{ ID string }
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14", "phone": "555-201-3344", "lang": "en"}, &pat)
	var others [2]struct{ ID string }
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Luis Ortega", "dob": "1970-05-06", "lang": "es"}, &others[0])
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Ann Baker", "dob": "1950-01-02", "lang": "en"}, &others[1])
	tomorrow := time.Now().In(loc).AddDate(0, 0, 1)
	for i, id := range []string{pat.ID, others[0].ID, others[1].ID} {
		at := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 9+i, 0, 0, 0, loc)
		inboxAPI(t, owner, "POST", "/api/v1/appointments", map[string]any{"patient_id": id, "starts_at": at.Format(time.RFC3339), "minutes": 20,
			"provider": "Dr. Lee"}, nil)
	}
	var clin struct{ ID string }
	inboxAPI(t, owner, "POST", "/api/v1/staff", map[string]string{"name": "Dr. Casey Park", "email": "casey@maple.test", "role": "clinician",
		"password": "Casey-First-Password-42"}, &clin)
	var staff struct{ Staff []struct{ ID, Email string } }
	inboxAPI(t, owner, "GET", "/api/v1/staff", nil, &staff)
	ownerID := ""
	for _, s := range staff.Staff {
		if s.Email == "owner@maple.test" {
			ownerID = s.ID
		}
	}

	b := newBrowserFor(t, in, 150*time.Second)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)

	// Write to a patient, from their page.
	b.do("patient page", chromedp.Navigate(b.base+"/staff/#/patients/"+pat.ID), chromedp.WaitVisible(chromedp.ID("patient-write")),
		chromedp.Click(chromedp.ID("patient-write")), chromedp.WaitVisible(chromedp.ID("write-subject")))
	b.until("identity banner", `(document.getElementById('write-banner')?.innerText || '').includes('Rosa Delgado') &&
		document.getElementById('write-banner').innerText.includes('Mar 14, 1961')`)
	b.until("no channel, said before sending", `(document.getElementById('write-channels')?.textContent || '').includes('call them')`)
	b.until("templates", `document.querySelectorAll('#write-template option').length > 1`)
	b.do("write",
		chromedp.SetValue(chromedp.ID("write-type"), "results"),
		chromedp.SendKeys(chromedp.ID("write-subject"), "Your results are in"),
		chromedp.Evaluate[chromedp.Void](`{ const s = document.getElementById('write-template'); s.value = 'call-us'; s.dispatchEvent(new Event('change')); }`))
	b.until("template filled in", `document.getElementById('write-body').value.startsWith('Hi Rosa, please call us')`)
	b.screenshot("console-write.png")
	b.do("send", chromedp.Click(chromedp.ID("write-submit")))
	b.until("sent", `(document.querySelector('#write-done .ok-msg')?.textContent || '').startsWith('Sent.')`)
	b.check("no channel said", `document.querySelector('#write-done .ok-msg').textContent.includes('Call them')`)
	b.do("open it", chromedp.Click(chromedp.ID("write-open")), chromedp.WaitVisible(chromedp.ID("item-read")))
	b.check("not read yet", `document.getElementById('item-read').textContent === 'Not read by the patient yet.'`)
	itemID, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.hash.split('/').pop()`))
	if err != nil || len(itemID) != 36 {
		t.Fatalf("the conversation's id from %q: %v", itemID, err)
	}

	// The patient, 360×640, JavaScript off.
	var inv struct{ Code string }
	inboxAPI(t, owner, "POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv)
	p := newPatientTab(t, in)
	p.scripts(false)
	p.do("invite", chromedp.Navigate(p.base+"/i/"+url.PathEscape(inv.Code)))
	p.do("birth date",
		chromedp.SendKeys(chromedp.ID("dob_month"), "3"),
		chromedp.SendKeys(chromedp.ID("dob_day"), "14"),
		chromedp.SendKeys(chromedp.ID("dob_year"), "1961"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	p.sees("/me", "Your results are in", "New")
	p.show(".item.unread")
	p.shot("patient-conversation.png")
	p.do("open", chromedp.Click(chromedp.CSS(`a[href="/t/`+itemID+`"]`)))
	p.sees("the message", "Hi Rosa, please call us")
	p.do("back", chromedp.Navigate(p.base+"/me"))
	p.sees("/me again", "Your results are in")
	if txt := p.text(); strings.Contains(txt, "New") {
		t.Errorf("/me still marks it new after reading it:\n%s", txt)
	}
	b.do("reload item", chromedp.Navigate(b.base+"/staff/#/inbox"), chromedp.WaitVisible(chromedp.ID("inbox-table")),
		chromedp.Navigate(b.base+"/staff/#/inbox/"+itemID), chromedp.WaitVisible(chromedp.ID("item-read")))
	b.until("read receipt", `document.getElementById('item-read').textContent.startsWith('Read by the patient at')`)

	// A notice to tomorrow's patients: preview, send, report.
	b.do("notices", chromedp.Click(chromedp.ID("nav-notices")), chromedp.WaitVisible(chromedp.ID("notice-subject")),
		chromedp.SendKeys(chromedp.ID("notice-subject"), "Parking lot closed tomorrow"),
		chromedp.SendKeys(chromedp.ID("notice-body"), "Please park on Elm Street."),
		chromedp.Click(chromedp.ID("notice-submit")))
	b.until("preview", `(document.getElementById('np-title')?.textContent || '') === 'Preview: 3 patients'`)
	b.check("renderings per language", `[...document.querySelectorAll('.rendering')].map((r) => r.dataset.lang).join() === 'en,es'`)
	b.check("no channel listed", `document.getElementById('notice-nochannel').textContent.includes('Ann Baker')`)
	b.do("send notice", chromedp.Click(chromedp.ID("notice-send")))
	b.until("report", `(document.getElementById('notice-made')?.textContent || '') === '3'`)
	b.check("needs calls", `document.getElementById('notice-needcall').textContent === '3'`)

	// The on-call rota.
	b.do("rota", chromedp.Click(chromedp.ID("nav-oncall")), chromedp.WaitVisible(chromedp.ID("oncall-0-staff_id")),
		chromedp.SetValue(chromedp.ID("oncall-0-staff_id"), ownerID),
		chromedp.SendKeys(chromedp.ID("oncall-0-phone"), "555-201-3344"),
		clearField("oncall-0-to"), chromedp.SendKeys(chromedp.ID("oncall-0-to"), "17:00"),
		chromedp.Click(chromedp.ID("oncall-save")))
	b.until("field error", `!document.getElementById('oncall-0-err').hidden && document.activeElement.id === 'oncall-0-to'`)
	b.do("fix", clearField("oncall-0-to"), chromedp.SendKeys(chromedp.ID("oncall-0-to"), "24:00"),
		chromedp.SetValue(chromedp.ID("oncall-fallback-0"), clin.ID), chromedp.Click(chromedp.ID("oncall-save")))
	b.until("saved", `(document.querySelector('#oncall-msg .ok-msg')?.textContent || '') === 'Rota saved: 1 row.'`)
	var oc struct {
		Rota []struct {
			StaffID string `json:"staff_id"`
			Days    []int
			From    string
			To      string
		}
		Fallbacks []string
	}
	inboxAPI(t, owner, "GET", "/api/v1/oncall", nil, &oc)
	if len(oc.Rota) != 1 || oc.Rota[0].StaffID != ownerID || oc.Rota[0].From != "17:00" || oc.Rota[0].To != "24:00" || len(oc.Rota[0].Days) != 5 ||
		len(oc.Fallbacks) != 1 || oc.Fallbacks[0] != clin.ID {
		t.Fatalf("rota after saving: %+v", oc)
	}
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the console reported errors: %v", errs)
	}
}
