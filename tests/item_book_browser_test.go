package tests

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"hearth/app/testenv"
)

// TestBookFromRequestBrowser: a Spanish-speaking patient asks for an
// appointment ("el jueves a las 3 de la tarde"); on a computer whose clock
// is in Tokyo, the front desk opens the request, finds "Book this" filled
// in from it in the clinic's time (Chicago), is warned beside the time
// that Saturday is a closed day, books Thursday instead, and sees the
// request closed with "Booked: …" linking to the board. The patient's own
// page, on a phone with JavaScript off, says when, in Spanish.
func TestBookFromRequestBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	const zone = "America/Chicago"
	loc, err := time.LoadLocation(zone)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("no time zone data: %v", err), testenv.CI)
	}
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"time_zone": zone}, nil)
	var made struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14", "phone": "555-201-3344", "lang": "es"}, &made)
	invite := func() string {
		var inv struct {
			Code string `json:"code"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/patients/"+made.ID+"/invites", nil, &inv)
		return inv.Code
	}
	rosa := inboxPatientSignIn(t, in, "Rosa Delgado", invite(), "1961-03-14")
	id := rosa.send("appointment", map[string]string{"reason": "Dolor de rodilla", "preferred": "el jueves a las 3 de la tarde", "provider": "Dr. Amara Lee"})

	// The Thursday after today, and the Saturday after that, in Chicago.
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	thu := today.AddDate(0, 0, (int(time.Thursday)-int(today.Weekday())+7)%7)
	if !thu.After(today) {
		thu = thu.AddDate(0, 0, 7)
	}
	sat := thu.AddDate(0, 0, 2)

	b := newBrowserFor(t, in, 60*time.Second)
	b.do("a computer in Tokyo", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("the request", chromedp.Navigate(b.base+"/staff/#/inbox/"+url.PathEscape(id)), chromedp.WaitVisible(chromedp.ID("itembook")))
	want := thu.Format("2006-01-02") + "T15:00"
	b.check("filled in from the request", `(() => {
		const v = (id) => document.getElementById(id).value;
		return v('itembook-starts_at') === '`+want+`' && v('itembook-provider') === 'Dr. Amara Lee' && v('itembook-reason') === 'Dolor de rodilla' &&
			v('itembook-patient_id').includes('Rosa Delgado') && document.getElementById('itembook-patient_id').readOnly &&
			document.getElementById('itembook-starts_at-hint').textContent.includes('el jueves a las 3 de la tarde') &&
			document.getElementById('itembook-starts_at-hint').textContent.includes('Chicago');
	})()`)

	// Saturday: the clinic is closed. The warning shows beside the time.
	b.do("a Saturday", chromedp.SetValue(chromedp.ID("itembook-starts_at"), sat.Format("2006-01-02")+"T10:00"),
		chromedp.Click(chromedp.ID("itembook-submit")))
	b.until("closed-day warning", `(document.getElementById('itembook-starts_at-err')?.textContent || '').includes('closed that day') &&
		!document.getElementById('itembook-closed').hidden`)
	// Thursday at 3 pm instead.
	b.do("Thursday", chromedp.SetValue(chromedp.ID("itembook-starts_at"), want), chromedp.Click(chromedp.ID("itembook-submit")))
	b.until("booked", `(document.getElementById('itembook-ok')?.textContent || '').includes('Booked for')`)
	b.check("the request is closed and the thread links the visit", `(() => {
		const link = document.getElementById('booked-link');
		return !document.getElementById('itembook') && document.getElementById('item-status').textContent === 'Closed' &&
			link && link.getAttribute('href') === '#/appointments' && link.closest('li').textContent.startsWith('Booked: ') &&
			link.textContent.includes('3:00');
	})()`)

	var list struct {
		Appointments []struct {
			ID        string    `json:"id"`
			StartsAt  time.Time `json:"starts_at"`
			RequestID string    `json:"request_id"`
		} `json:"appointments"`
	}
	inboxAPI(t, owner, "GET", "/api/v1/appointments?from="+today.Format("2006-01-02")+"&to="+today.AddDate(0, 0, 14).Format("2006-01-02"), nil, &list)
	wantAt := time.Date(thu.Year(), thu.Month(), thu.Day(), 15, 0, 0, 0, loc)
	if len(list.Appointments) != 1 || !list.Appointments[0].StartsAt.Equal(wantAt) || list.Appointments[0].RequestID != id {
		t.Fatalf("appointments: %+v, want one at %s from request %s", list.Appointments, wantAt, id)
	}
	// The thread repaints when the live event of the booking arrives: click
	// the link as it is now, not a node found a moment before.
	b.do("to the board", chromedp.Evaluate[chromedp.Void](`document.getElementById('booked-link').click()`))
	b.until("the board shows the visit or says where it is", `document.querySelector('#board-table tr.hl a') === document.activeElement ||
		(document.getElementById('board-elsewhere')?.textContent || '').includes('not today or tomorrow')`)

	// The patient's page, JavaScript off, in Spanish.
	p := newPatientTab(t, in)
	p.scripts(false)
	code := invite()
	p.do("invite", chromedp.Navigate(p.base+"/i/"+url.PathEscape(code)))
	p.do("birth date",
		chromedp.SendKeys(chromedp.ID("dob_month"), "3"),
		chromedp.SendKeys(chromedp.ID("dob_day"), "14"),
		chromedp.SendKeys(chromedp.ID("dob_year"), "1961"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)))
	p.sees("signed in", "Rosa")
	p.do("the thread", chromedp.Navigate(p.base+"/t/"+url.PathEscape(id)))
	p.sees("booked, in Spanish", "Programamos su cita para", "a las 3")
	if txt := p.text(); !strings.Contains(txt, "jueves") && !strings.Contains(txt, "mañana a las 3") {
		t.Errorf("the thread does not name the day:\n%s", txt)
	}
}
