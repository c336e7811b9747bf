package tests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hearth/app/testenv"
)

// TestApptPatientBrowser: a patient on a phone with JavaScript off signs in
// from an invite letter, sees tomorrow's appointment on /me and confirms it;
// an open staff websocket hears "appointment.status" within 2 s and the
// staff API shows the appointment confirmed. With scripts on, /me passes
// axe-core, and the README picture of the card is taken.
func TestApptPatientBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()

	var pat struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14",
		"phone": "555-201-3344", "lang": "en"}, &pat)
	var inv struct {
		Code string `json:"code"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv)
	// Tomorrow at 9:30 in the clinic's own time zone, as the card shows it.
	const zone = "America/Chicago"
	loc, err := time.LoadLocation(zone)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("no time zone data: %v", err), testenv.CI)
	}
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"time_zone": zone, "phone": "555-201-0000"}, nil)
	tomorrow := time.Now().In(loc).AddDate(0, 0, 1)
	when := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 9, 30, 0, 0, loc)
	var appt struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/appointments", map[string]any{"patient_id": pat.ID, "starts_at": when.Format(time.RFC3339),
		"minutes": 20, "provider": "Dr. Amara Lee", "location": "Room 2", "reason": "Blood pressure follow-up"}, &appt)
	if appt.ID == "" {
		t.Fatal("the booking answered no appointment id")
	}

	// The front desk's live channel, with the owner's cookies.
	ws := staffSocket(t, in, owner)
	type seen struct {
		typ, item string
		at        time.Time
	}
	events := make(chan seen, 64)
	go func() {
		defer close(events)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var e struct {
				Type   string `json:"type"`
				ItemID string `json:"item_id"`
			}
			if json.Unmarshal(b, &e) == nil {
				events <- seen{e.Type, e.ItemID, time.Now()}
			}
		}
	}()

	// The patient, 360×640, JavaScript off.
	p := newPatientTab(t, in)
	p.scripts(false)
	p.do("invite", chromedp.Navigate(p.base+"/i/"+url.PathEscape(inv.Code)))
	p.sees("invite form", "Date of birth")
	p.do("birth date",
		chromedp.SendKeys(chromedp.ID("dob_month"), "3"),
		chromedp.SendKeys(chromedp.ID("dob_day"), "14"),
		chromedp.SendKeys(chromedp.ID("dob_year"), "1961"),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
	)
	card := "#appt-" + appt.ID
	p.sees("appointment card", "Hello, Rosa", "Your appointments", "Not confirmed yet", "9:30", "Dr. Amara Lee", "Room 2", "Blood pressure follow-up")

	// Drop anything the socket heard before the tap (a hello, presence).
	for drained := false; !drained; {
		select {
		case <-events:
		default:
			drained = true
		}
	}
	tapped := time.Now()
	p.do("confirm", chromedp.Click(chromedp.CSS(card+` button[name="action"][value="confirm"]`)))
	p.sees("confirmed", "Your appointments", "Confirmed")
	if loc := p.location(); strings.TrimPrefix(loc, p.base) != "/me" && !strings.HasPrefix(strings.TrimPrefix(loc, p.base), "/me?") &&
		!strings.HasPrefix(strings.TrimPrefix(loc, p.base), "/me#") {
		t.Errorf("after confirming, the page is %s; want /me", loc)
	}
	if txt := p.text(); strings.Contains(txt, "Not confirmed yet") {
		t.Errorf("/me still says Not confirmed yet after confirming:\n%s", txt)
	}

	timeout := time.After(time.Until(tapped.Add(2 * time.Second)))
	got := false
	for !got {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the staff websocket closed before the appointment.status event")
			}
			if e.typ == "appointment.status" {
				got = true
				if e.item != "" && e.item != appt.ID {
					t.Errorf("appointment.status names %s; want %s", e.item, appt.ID)
				}
				t.Logf("the staff websocket heard appointment.status %v after the tap", e.at.Sub(tapped).Round(time.Millisecond))
			}
		case <-timeout:
			t.Fatal("the staff websocket did not hear appointment.status within 2 s of the patient's tap")
		}
	}

	var list struct {
		Appointments []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"appointments"`
	}
	inboxAPI(t, owner, "GET", "/api/v1/appointments", nil, &list)
	status := ""
	for _, a := range list.Appointments {
		if a.ID == appt.ID {
			status = a.Status
		}
	}
	if status != "confirmed" {
		t.Errorf("the staff API shows the appointment as %q; want confirmed (%+v)", status, list)
	}

	// Accessibility of /me with the confirmed card, scripts on.
	axeSrc, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v (see tests/testdata/README.md)", err)
	}
	p.scripts(true)
	p.do("reopen /me", chromedp.Navigate(p.base+"/me"))
	p.sees("/me with scripts", "Your appointments", "Confirmed")
	for _, v := range p.axe(string(axeSrc)) {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		t.Errorf("axe %s on /me: %s (%s): %s", v.Impact, v.ID, v.Help, strings.Join(targets, ", "))
	}

	// The README picture: the card, scrolled into view.
	p.show("#appointments")
	p.shot("patient-appointment.png")
}
