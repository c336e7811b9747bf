package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"hearth/app/testenv"
)

// TestQueueMoveBrowser: at the front desk, Maria moves a patient's message
// to the clinical queue from the request's view, with a reason. The view
// says where it went, and it leaves her inbox list; Sam, a clinician with
// the console open in another browser, is alerted (the title counts it)
// and finds it in his clinical queue with the reason in the thread.
func TestQueueMoveBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	var week [7][]map[string]string
	for d := range week {
		week[d] = []map[string]string{{"open": "00:00", "close": "24:00"}}
	}
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"hours": map[string]any{"weekly": week, "holidays": []string{}},
		"phone": "555-201-0000"}, nil)
	inboxStaff(t, in, owner, "Maria Lopez", "maria@maple.test", "frontdesk", "Maria-Front-Desk-2026")
	inboxStaff(t, in, owner, "Sam Patel", "sam@maple.test", "clinician", "Sam-Clinician-2026")
	var made struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14", "phone": "555-201-3344", "lang": "en"}, &made)
	var inv struct {
		Code string `json:"code"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients/"+made.ID+"/invites", nil, &inv)
	rosa := inboxPatientSignIn(t, in, "Rosa Delgado", inv.Code, "1961-03-14")
	rash := rosa.send("message", map[string]string{"body": "The rash from the new cream is spreading to my arms."})
	other := rosa.send("message", map[string]string{"body": "Can I get a copy of my vaccination record?"})

	maria := newBrowserFor(t, in, 90*time.Second)
	sam := maria.sibling()
	sam.do("open console", chromedp.Navigate(sam.base+"/staff/"))
	sam.signIn("sam@maple.test", "Sam-Clinician-2026")
	// The inbox redraws its tabs as it loads, so the tab is clicked in the
	// page once it is there (a node found by WaitVisible may be replaced
	// before a Click reaches it).
	sam.until("the clinical tab", `!!document.getElementById('tab-clinical')`)
	sam.do("clinical queue", chromedp.Evaluate[chromedp.Void](`document.getElementById('tab-clinical').click()`))
	sam.until("live, nothing clinical yet", `document.getElementById('live').classList.contains('up') &&
		!document.querySelector('#inbox-table tr[data-id="`+rash+`"]') && !/^\(\d+\) /.test(document.title)`)

	maria.do("open console", chromedp.Navigate(maria.base+"/staff/"))
	maria.signIn("maria@maple.test", "Maria-Front-Desk-2026")
	maria.until("both in her inbox", `!!document.querySelector('#inbox-table tr[data-id="`+rash+`"]') && !!document.querySelector('#inbox-table tr[data-id="`+other+`"]')`)
	maria.do("open the request", chromedp.Click(chromedp.CSS(`#inbox-table a.row-link[data-id="`+rash+`"]`)),
		chromedp.WaitVisible(chromedp.ID("queue-now")))
	maria.check("in the front desk queue", `document.getElementById('queue-now').textContent === 'In Front desk' &&
		[...document.querySelectorAll('#move-queue option')].map(o => o.value).join() === ',clinical,refills,billing'`)
	maria.do("open the move form", chromedp.Click(chromedp.CSS(`#move-details summary`)), chromedp.WaitVisible(chromedp.ID("move-queue")))
	// Without a reason: a plain error beside the field, nothing moves.
	maria.do("choose clinical", chromedp.SetValue(chromedp.ID("move-queue"), "clinical"), chromedp.Click(chromedp.ID("move-submit")))
	maria.until("reason asked for", `(document.getElementById('move-reason-err')?.textContent || '').includes('Write why')`)
	maria.do("give the reason", chromedp.SendKeys(chromedp.ID("move-reason"), "Needs a clinician to look at the rash"),
		chromedp.Click(chromedp.ID("move-submit")))
	maria.until("moved, out of her queues", `(document.getElementById('move-done')?.textContent || '').includes('Moved to Clinical')`)
	maria.do("back to the inbox", chromedp.Click(chromedp.ID("move-back")))
	maria.until("it left her inbox list", `location.hash === '#/inbox' && !!document.querySelector('#inbox-table tr[data-id="`+other+`"]') &&
		!document.querySelector('#inbox-table tr[data-id="`+rash+`"]')`)

	sam.until("alerted: in his clinical queue, counted in the title", `!!document.querySelector('#inbox-table tr[data-id="`+rash+`"]') &&
		/^\(1\) /.test(document.title)`)
	sam.do("open it", chromedp.Click(chromedp.CSS(`#inbox-table a.row-link[data-id="`+rash+`"]`)), chromedp.WaitVisible(chromedp.ID("queue-now")))
	sam.until("the thread says why", `document.getElementById('queue-now').textContent === 'In Clinical' &&
		[...document.querySelectorAll('.msg.system')].some(m => m.textContent.includes('Moved from Front desk to Clinical by Maria Lopez: Needs a clinician to look at the rash'))`)
	for name, b := range map[string]*browser{"Maria": maria, "Sam": sam} {
		if errs := b.scriptErrors(); len(errs) > 0 {
			t.Errorf("%s's page reported errors:\n%s", name, strings.Join(errs, "\n"))
		}
	}
}

// TestBoardClinicZoneBrowser: the clinic is in New York, the computer's
// clock in Tokyo. A 10:15 visit shows as 10:15 on the board, under the
// clinic's day; booking 2:30 pm in the form makes a visit at 14:30 New York
// time; nothing says "this computer's time".
func TestBoardClinicZoneBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	const zone = "America/New_York"
	loc, err := time.LoadLocation(zone)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("no time zone data: %v", err), testenv.CI)
	}
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"time_zone": zone, "phone": "555-201-0000"}, nil)
	ids := map[string]string{}
	for _, p := range [][2]string{{"Rosa Delgado", "1961-03-14"}, {"Henry Okafor", "1975-12-07"}} {
		var made struct {
			ID string `json:"id"`
		}
		inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": p[0], "dob": p[1], "lang": "en"}, &made)
		ids[p[0]] = made.ID
	}
	now := time.Now().In(loc)
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc)
	at := func(hh, mm int) time.Time {
		return time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), hh, mm, 0, 0, loc)
	}
	var rosa struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/appointments", map[string]any{"patient_id": ids["Rosa Delgado"], "starts_at": at(10, 15).Format(time.RFC3339),
		"minutes": 20, "provider": "Dr. Amara Lee", "reason": "Blood pressure check"}, &rosa)

	b := newBrowserFor(t, in, 60*time.Second)
	b.do("the computer is in Tokyo", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	b.check("the browser's own zone is Tokyo", `Intl.DateTimeFormat().resolvedOptions().timeZone === 'Asia/Tokyo'`)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("board", chromedp.Click(chromedp.ID("nav-appointments")), chromedp.WaitVisible(chromedp.ID("board-days")))
	wantDay := at(12, 0).Format("Monday, Jan 2")
	b.until("tomorrow is the clinic's tomorrow", `(document.getElementById('board-day-tomorrow')?.textContent || '').includes('`+wantDay+`')`)
	b.clickID("tomorrow", "board-day-tomorrow")
	b.until("10:15 on the board", `(document.querySelector('#board-table tr[data-id="`+rosa.ID+`"] .c-time time')?.textContent || '') === '10:15 AM'`)
	b.check("the form speaks of the clinic's time", `(() => {
		const hint = document.getElementById('book-starts_at-hint').textContent;
		return hint.includes('clinic') && hint.includes('America/New York') && !document.body.textContent.includes('computer\u2019s time');
	})()`)

	b.do("pick the patient", chromedp.SendKeys(chromedp.ID("book-patient_id"), "Henry"),
		chromedp.WaitVisible(chromedp.CSS(`#book-results button[data-id="`+ids["Henry Okafor"]+`"]`)),
		chromedp.Click(chromedp.CSS(`#book-results button[data-id="`+ids["Henry Okafor"]+`"]`)),
		chromedp.WaitVisible(chromedp.ID("book-picked")))
	b.do("2:30 pm tomorrow", chromedp.SetValue(chromedp.ID("book-starts_at"), tomorrow.Format("2006-01-02")+"T14:30"),
		chromedp.SendKeys(chromedp.ID("book-reason"), "Review lab results"),
		chromedp.Click(chromedp.ID("book-submit")))
	b.until("booked, said in the clinic's time", `(document.getElementById('book-ok')?.textContent || '').includes('Henry Okafor') &&
		document.getElementById('book-ok').textContent.includes('2:30 PM')`)
	var list struct {
		Appointments []struct {
			ID        string `json:"id"`
			PatientID string `json:"patient_id"`
			StartsAt  string `json:"starts_at"`
		} `json:"appointments"`
	}
	inboxAPI(t, owner, "GET", "/api/v1/appointments", nil, &list)
	var henry string
	for _, a := range list.Appointments {
		if a.PatientID == ids["Henry Okafor"] {
			henry = a.ID
			if want := at(14, 30).Format(time.RFC3339); !sameInstant(a.StartsAt, want) {
				t.Errorf("booked for %s; want %s (2:30 pm in New York)", a.StartsAt, want)
			}
		}
	}
	if henry == "" {
		t.Fatalf("the booking made no appointment for Henry: %+v", list)
	}
	b.until("2:30 on the board", `(document.querySelector('#board-table tr[data-id="`+henry+`"] .c-time time')?.textContent || '') === '2:30 PM'`)
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
