package tests

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"hearth/app/testenv"
)

// TestBoardBrowser walks the front-desk appointments board against the
// real binary: staff book a visit through the board's form, the patient
// confirms it from their own page and the open board shows it without a
// reload; an import preview lists a good and an unmatched row; the board
// passes axe-core; and the README picture is taken.
func TestBoardBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	const zone = "America/Chicago"
	loc, err := time.LoadLocation(zone)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("no time zone data: %v", err), testenv.CI)
	}
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"time_zone": zone, "phone": "555-201-0000"}, nil)

	type person struct{ name, dob, phone, email string }
	people := []person{
		{"Rosa Delgado", "1961-03-14", "555-201-3344", "rosa@example.test"},
		{"Walter Brooks", "1948-09-02", "555-310-7781", ""},
		{"Priya Nair", "1990-05-21", "555-402-1190", "priya@example.test"},
		{"Henry Okafor", "1975-12-07", "555-118-6042", "henry@example.test"},
		{"Lucy Brennan", "2001-02-11", "555-733-2085", "lucy@example.test"},
		{"Tomás Herrera", "1983-07-30", "555-640-2218", ""},
		{"Grace Kim", "1956-11-19", "555-822-4410", "grace@example.test"},
	}
	ids := map[string]string{}
	pats := map[string]*inboxPatient{}
	for _, p := range people {
		var made struct {
			ID string `json:"id"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": p.name, "dob": p.dob, "phone": p.phone, "email": p.email, "lang": "en"}, &made)
		ids[p.name] = made.ID
		var inv struct {
			Code string `json:"code"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/patients/"+made.ID+"/invites", nil, &inv)
		pats[p.name] = inboxPatientSignIn(t, in, p.name, inv.Code, p.dob)
	}
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	tomorrow := today.AddDate(0, 0, 1)
	at := func(day time.Time, hh, mm int) string {
		return time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, loc).Format(time.RFC3339)
	}
	book := func(name, when string, minutes int, provider, location, reason string) string {
		var out struct {
			ID string `json:"id"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/appointments", map[string]any{"patient_id": ids[name], "starts_at": when, "minutes": minutes,
			"provider": provider, "location": location, "reason": reason}, &out)
		return out.ID
	}
	// answer is the patient's tap on /me: the form's hidden inputs plus action.
	answer := func(name, id, action, preferred string) {
		t.Helper()
		p := pats[name]
		_, page := p.get("/me")
		v := url.Values{"action": {action}}
		if preferred != "" {
			v.Set("preferred", preferred)
		}
		status, final, body := p.post("/a/"+id, page, v)
		if status != 200 || final != "/me" {
			t.Fatalf("%s answers %s to %s: %d at %s\n%s", name, action, id, status, final, body)
		}
	}
	// Demo board: a realistic front-desk day.
	a1 := book("Rosa Delgado", at(today, 8, 30), 20, "Dr. Amara Lee", "Room 2", "Blood pressure follow-up")
	book("Walter Brooks", at(today, 9, 15), 30, "Dr. Amara Lee", "Room 2", "Diabetes check and A1c")
	a3 := book("Priya Nair", at(today, 10, 0), 45, "Dr. Sam Patel", "Room 4", "Annual physical")
	a4 := book("Lucy Brennan", at(today, 11, 30), 15, "Nurse Kate Moss", "Lab", "Flu shot")
	book("Tomás Herrera", at(today, 14, 0), 20, "Dr. Sam Patel", "Room 4", "Sore knee")
	a6 := book("Grace Kim", at(today, 15, 40), 30, "Dr. Amara Lee", "Room 1", "Medication review")
	a7 := book("Rosa Delgado", at(tomorrow, 9, 0), 15, "Nurse Kate Moss", "Lab", "Blood draw")
	answer("Rosa Delgado", a1, "confirm", "")
	answer("Priya Nair", a3, "reschedule", "Thursday or Friday mornings")
	answer("Lucy Brennan", a4, "cancel", "")
	answer("Grace Kim", a6, "confirm", "")
	answer("Rosa Delgado", a7, "confirm", "")

	b := newBrowserFor(t, in, 60*time.Second)
	b.do("clinic time zone", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	}))
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("board", chromedp.Click(chromedp.ID("nav-appointments")), chromedp.WaitVisible(chromedp.ID("board-table")))
	b.until("live", `document.getElementById('live').classList.contains('up')`)
	b.until("today's board", `document.querySelectorAll('#board-table tbody tr').length === 6`)
	b.check("sorted by time, badges, call marker", `(() => {
		const r = [...document.querySelectorAll('#board-table tbody tr')];
		const ts = r.map(x => x.querySelector('time').getAttribute('datetime'));
		return ts.join() === [...ts].sort().join() &&
			r[0].textContent.includes('Confirmed') && r[1].textContent.includes('Not confirmed yet') &&
			r[1].textContent.includes('No reminder channel') && r[1].textContent.includes('Call to remind') && r[1].textContent.includes('555-310-7781') &&
			r[2].textContent.includes('Thursday or Friday mornings') && r[3].textContent.includes('Cancelled') &&
			document.getElementById('board-asked').querySelector('a[href^="#/inbox/"]') !== null;
	})()`)

	// Book through the form, for tomorrow at 10:30 in the browser's time.
	day := tomorrow.Format("2006-01-02")
	b.do("pick the patient", chromedp.SendKeys(chromedp.ID("book-patient_id"), "Henry"),
		chromedp.WaitVisible(chromedp.CSS(`#book-results button[data-id="`+ids["Henry Okafor"]+`"]`)),
		chromedp.Click(chromedp.CSS(`#book-results button[data-id="`+ids["Henry Okafor"]+`"]`)),
		chromedp.WaitVisible(chromedp.ID("book-picked")))
	b.do("fill the visit", chromedp.SetValue(chromedp.ID("book-starts_at"), day+"T10:30"),
		chromedp.SendKeys(chromedp.ID("book-provider"), "Dr. Sam Patel"),
		chromedp.SendKeys(chromedp.ID("book-location"), "Room 4"),
		chromedp.SendKeys(chromedp.ID("book-reason"), "Review lab results"),
		chromedp.Click(chromedp.ID("book-submit")))
	b.until("booked", `(document.getElementById('book-ok')?.textContent || '').includes('Henry Okafor')`)
	var list struct {
		Appointments []struct {
			ID        string `json:"id"`
			PatientID string `json:"patient_id"`
			StartsAt  string `json:"starts_at"`
		} `json:"appointments"`
	}
	var henry string
	inboxAPI(t, owner, "GET", "/api/v1/appointments", nil, &list)
	for _, a := range list.Appointments {
		if a.PatientID == ids["Henry Okafor"] {
			henry = a.ID
			if want := at(tomorrow, 10, 30); !sameInstant(a.StartsAt, want) {
				t.Errorf("booked for %s; want %s (the browser's 10:30)", a.StartsAt, want)
			}
		}
	}
	if henry == "" {
		t.Fatalf("the booking made no appointment for Henry: %+v", list)
	}
	b.clickID("tomorrow", "board-day-tomorrow")
	b.until("Henry on the board, not confirmed", `(document.querySelector('#board-table tr[data-id="`+henry+`"]')?.textContent || '').includes('Not confirmed yet')`)

	// The patient confirms from their page: the open board follows.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__page = performance.timeOrigin`))
	sent := time.Now()
	answer("Henry Okafor", henry, "confirm", "")
	deadline := time.Now().Add(3 * time.Second)
	for {
		ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(document.querySelector('#board-table tr[data-id="`+henry+`"] .appt-status')?.textContent || '') === 'Confirmed'`))
		if ok {
			t.Logf("the board showed Confirmed %v after the patient's tap", time.Since(sent).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the board did not show Confirmed within 3 s of the patient's confirmation")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.check("no reload", `window.__page === performance.timeOrigin`)

	// Import: one good row and one nobody matches.
	csv := "Appt ID,Patient,DOB,Appt Date,Start Time,Duration,Doctor,Room,Visit Reason\n" +
		"PM-1001,Walter Brooks,09/02/1948," + tomorrow.Format("01/02/2006") + ",2:15 PM,20,Dr. Amara Lee,Room 2,Foot exam\n" +
		"PM-1002,Jon Smyth,04/04/1970," + tomorrow.Format("01/02/2006") + ",3:00 PM,15,Dr. Amara Lee,Room 1,New patient visit\n"
	b.do("paste the export", chromedp.SetValue(chromedp.ID("import-csv"), csv), chromedp.Click(chromedp.ID("import-read")),
		chromedp.WaitVisible(chromedp.ID("map-patient_name")))
	b.check("columns guessed", `document.getElementById('map-external_id').value === 'Appt ID' && document.getElementById('map-patient_name').value === 'Patient' &&
		document.getElementById('map-patient_dob').value === 'DOB' && document.getElementById('map-date').value === 'Appt Date' &&
		document.getElementById('map-time').value === 'Start Time' && document.getElementById('map-minutes').value === 'Duration'`)
	b.do("preview", chromedp.Click(chromedp.ID("import-preview")), chromedp.WaitVisible(chromedp.ID("import-table")))
	b.check("row statuses", `(() => {
		const ok = document.querySelector('#import-table tr[data-line="2"]'), un = document.querySelector('#import-table tr[data-line="3"]');
		return ok && ok.classList.contains('ir-ok') && ok.textContent.includes('Ready') &&
			un && un.classList.contains('ir-unmatched') && un.textContent.includes('To resolve') &&
			document.getElementById('import-resolve').textContent.includes('Jon Smyth') &&
			document.getElementById('import-commit').textContent === 'Import 1 appointment';
	})()`)

	axe, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	b.axeCheck("appointments board", string(axe))

	b.do("import", chromedp.Click(chromedp.ID("import-commit")), chromedp.WaitVisible(chromedp.ID("import-ok")))
	b.until("imported row on the board", `[...document.querySelectorAll('#board-table tbody tr')].some(r => r.textContent.includes('Foot exam'))`)

	b.clickID("today for the picture", "board-day-today")
	b.do("settle for the picture", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`))
	b.screenshot("console-board.png")
	b.extraShot("board.jpg")
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

func sameInstant(a, b string) bool {
	x, err1 := time.Parse(time.RFC3339, a)
	y, err2 := time.Parse(time.RFC3339, b)
	return err1 == nil && err2 == nil && x.Equal(y)
}
