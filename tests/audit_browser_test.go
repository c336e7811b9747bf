package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAuditScreenBrowser (issue 14 item 19): the owner's audit screen in a
// real browser. Maria's three inbox refreshes with two patients on it are
// three rows, each naming both patients (no ids); the action picker lists
// actions in words from the server; the patient picker searches by name
// and shows only that patient's events; a name in a row picks that
// patient; the days still filter; the export follows the filters; and
// looking at the screen is itself recorded.
func TestAuditScreenBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	var week [7][]map[string]string
	for d := range week {
		week[d] = []map[string]string{{"open": "00:00", "close": "24:00"}}
	}
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"hours": map[string]any{"weekly": week, "holidays": []string{}},
		"phone": "555-201-0000", "time_zone": "America/New_York"}, nil)
	inboxStaff(t, in, owner, "Maria Lopez", "maria@maple.test", "frontdesk", "Maria-Front-Desk-2026")
	ids := map[string]string{}
	for _, p := range [][2]string{{"Rosa Delgado", "1961-03-14"}, {"Henry Okafor", "1975-12-07"}} {
		var made struct {
			ID string `json:"id"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": p[0], "dob": p[1], "lang": "en"}, &made)
		ids[p[0]] = made.ID
		var inv struct {
			Code string `json:"code"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/patients/"+made.ID+"/invites", nil, &inv)
		inboxPatientSignIn(t, in, p[0], inv.Code, p[1]).send("message", map[string]string{"body": "A question about my visit."})
	}
	maria := in.login("maria@maple.test", "Maria-Front-Desk-2026")
	for range 3 {
		inboxAPI(t, maria, "GET", "/api/v1/items", nil, nil)
	}

	b := newBrowserFor(t, in, 90*time.Second)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("audit view", chromedp.Click(chromedp.ID("nav-audit")), chromedp.WaitVisible(chromedp.ID("audit-table")))
	// Maria's rows: who, what in words, and both patients by name.
	const mariaRows = `[...document.querySelectorAll('#audit-table tbody tr')].filter(r => r.cells[1].textContent.startsWith('Maria Lopez') &&
		r.cells[2].textContent.includes('item.list'))`
	b.until("Maria's three refreshes, named", `(() => {
		const rows = `+mariaRows+`;
		return rows.length === 3 && rows.every(r => r.cells[2].textContent.startsWith('Saw names in the inbox list') &&
			r.cells[3].textContent.includes('Rosa Delgado') && r.cells[3].textContent.includes('Henry Okafor'));
	})()`)
	b.check("no patient shown as an id", `![...document.querySelectorAll('#audit-table tbody td.audit-patients')].some(td => /[0-9a-f]{8}/.test(td.textContent))`)

	// The action picker: the server's actions, in words.
	b.until("action picker filled", `[...document.querySelectorAll('#audit-action option')].some(o => o.value === 'item.list' && o.textContent === 'Saw names in the inbox list') &&
		[...document.querySelectorAll('#audit-action option')].some(o => o.value === 'patient.create' && o.textContent === "Created a patient's record")`)
	b.do("pick an action", chromedp.SetValue(chromedp.ID("audit-action"), "patient.create"), chromedp.Click(chromedp.ID("audit-submit")))
	b.until("only that action", `(() => {
		const rows = [...document.querySelectorAll('#audit-table tbody tr')];
		return rows.length === 2 && rows.every(r => r.cells[2].textContent.includes('patient.create'));
	})()`)

	// The patient picker: search by name, choose, only their events.
	b.do("every action again", chromedp.SetValue(chromedp.ID("audit-action"), ""))
	b.do("search a patient", chromedp.SendKeys(chromedp.ID("audit-patient"), "Henry"))
	b.until("Henry found", `!!document.querySelector('#audit-patient-results button[data-id="`+ids["Henry Okafor"]+`"]')`)
	b.do("choose Henry", chromedp.Click(chromedp.CSS(`#audit-patient-results button[data-id="`+ids["Henry Okafor"]+`"]`)))
	b.until("only Henry's events", `(() => {
		const rows = [...document.querySelectorAll('#audit-table tbody tr')];
		return document.getElementById('audit-patient-name').textContent === 'Henry Okafor' &&
			rows.length >= 5 && rows.every(r => r.cells[3].textContent.includes('Henry Okafor')) &&
			rows.some(r => r.cells[2].textContent.startsWith("Created a patient's record")) &&
			`+mariaRows+`.length === 3;
	})()`)
	b.check("the export follows the filters", `document.getElementById('audit-export').getAttribute('href') === '/api/v1/audit?patient=`+ids["Henry Okafor"]+`&format=csv'`)

	// The days: a day after today has nothing; clearing brings all back.
	tomorrow := time.Now().Add(48 * time.Hour).Format("2006-01-02")
	b.do("a later day", chromedp.SetValue(chromedp.ID("audit-from"), tomorrow), chromedp.Click(chromedp.ID("audit-submit")))
	b.until("nothing that day", `document.getElementById('audit-status').textContent === 'No events match these filters.'`)
	b.do("clear", chromedp.Click(chromedp.ID("audit-clear")))
	b.until("everything back", `!document.getElementById('audit-patient-chosen').textContent && `+mariaRows+`.length === 3 &&
		[...document.querySelectorAll('#audit-table tbody tr')].some(r => r.cells[3].textContent.includes('Rosa Delgado') && !r.cells[3].textContent.includes('Henry'))`)

	// A name in a row picks that patient.
	b.do("pick Rosa from a row", chromedp.Click(chromedp.CSS(`#audit-table tbody button[data-patient="`+ids["Rosa Delgado"]+`"]`)))
	b.until("only Rosa's events", `(() => {
		const rows = [...document.querySelectorAll('#audit-table tbody tr')];
		return document.getElementById('audit-patient-name')?.textContent === 'Rosa Delgado' && rows.length > 0 &&
			rows.every(r => r.cells[3].textContent.includes('Rosa Delgado'));
	})()`)

	axe, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	b.axeCheck("audit log", string(axe))
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}

	// Each page the screen showed was recorded as the owner's look.
	var reads struct {
		Events []struct {
			ActorName string   `json:"actor_name"`
			Patients  []string `json:"patients"`
		} `json:"events"`
	}
	inboxAPI(t, owner, "GET", "/api/v1/audit?action=audit.read", nil, &reads)
	named := 0
	for _, e := range reads.Events {
		if e.ActorName == "Olive Owner" && len(e.Patients) > 0 {
			named++
		}
	}
	if named < 5 {
		t.Errorf("the owner's looks at the screen: %d recorded with patients, want at least 5", named)
	}
}
