package web

import (
	"strings"
	"testing"
	"time"
)

// TestMoveItemToAnotherQueue: POST /api/v1/items/{id}/queue over the real
// server. Refusals answer a plain error beside the field; the move answers
// the item in its new queue, and a clinician's websocket (the clinical
// queue's staff) hears item.queue while the front desk's hears only that it
// left theirs.
func TestMoveItemToAnotherQueue(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	carl := e.addStaff(owner, "Carl Clinician", "carl@maple.test", "clinician")
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	ack := e.patientItem(t, pid, "The rash from the new cream is spreading")
	path := "/api/v1/items/" + ack.Item.ID + "/queue"

	type apiErr struct{ Code, Field, Error string }
	for name, c := range map[string]struct {
		body  map[string]any
		field string
	}{
		"no reason":     {map[string]any{"queue": "clinical", "reason": " "}, "reason"},
		"unknown queue": {map[string]any{"queue": "nursing", "reason": "Clinical question"}, "queue"},
		"no queue":      {map[string]any{"reason": "Clinical question"}, "queue"},
	} {
		r := fran.req("POST", path, c.body)
		var got apiErr
		r.json(t, &got)
		if r.code != 400 || got.Code != "invalid" || got.Field != c.field || got.Error == "" {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
	// A clinician cannot see the billing queue: its request stays put.
	bill := owner.req("POST", "/api/v1/items", map[string]any{"type": "billing", "patient_id": pid, "body": "Statement"})
	var bi struct {
		Item struct{ ID, Queue string }
	}
	bill.json(t, &bi)
	if bi.Item.Queue != "billing" {
		t.Fatalf("billing item: %s", bill.body)
	}
	if r := carl.req("POST", "/api/v1/items/"+bi.Item.ID+"/queue", map[string]any{"queue": "clinical", "reason": "Looks clinical"}); r.code != 403 {
		t.Errorf("a clinician moved a request outside their queues: %d %s", r.code, r.body)
	}

	cc := carl.mustDialWS(t)
	fc := fran.mustDialWS(t)
	time.Sleep(50 * time.Millisecond)
	r := fran.req("POST", path, map[string]any{"queue": "clinical", "reason": "Needs a clinician"})
	if r.code != 200 {
		t.Fatalf("move: %d %s", r.code, r.body)
	}
	var moved struct {
		Item struct{ ID, Queue string }
	}
	r.json(t, &moved)
	if moved.Item.Queue != "clinical" {
		t.Fatalf("moved to %s", moved.Item.Queue)
	}
	ev, err := readEvent(t, cc, 2*time.Second)
	for err == nil && ev.Type == "item.queue_left" {
		// A clinician works the front desk too: it heard the item leave.
		ev, err = readEvent(t, cc, 2*time.Second)
	}
	if err != nil || ev.Type != "item.queue" || ev.ItemID != ack.Item.ID || ev.Queue != "clinical" || ev.Seq == 0 {
		t.Fatalf("the clinical queue's alert: %+v %v", ev, err)
	}
	if ev, err := readEvent(t, fc, 2*time.Second); err != nil || ev.Type != "item.queue_left" || ev.Queue != "frontdesk" {
		t.Fatalf("the front desk's event: %+v %v", ev, err)
	}
	if ev, err := readEvent(t, fc, 300*time.Millisecond); err == nil {
		t.Fatalf("the front desk was alerted about a clinical request: %+v", ev)
	}
	// The clinician opens it and reads why; the front desk no longer can.
	v := carl.req("GET", "/api/v1/items/"+ack.Item.ID, nil)
	if v.code != 200 || !strings.Contains(v.body, "moved:frontdesk:clinical:Needs a clinician") {
		t.Fatalf("clinician's view: %d %.300s", v.code, v.body)
	}
	if r := fran.req("GET", "/api/v1/items/"+ack.Item.ID, nil); r.code != 403 {
		t.Errorf("the front desk still opens it: %d", r.code)
	}
	if r := owner.req("GET", "/api/v1/audit?action=item.queue", nil); r.code != 200 || !strings.Contains(r.body, `"item.queue"`) {
		t.Errorf("audit: %d %.300s", r.code, r.body)
	}
}

// TestBookInClinicWallTime: starts_local is a wall time in the clinic's
// zone (or the time_zone given), whatever zone the caller's computer is in.
func TestBookInClinicWallTime(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	_, pid := e.patient(owner, "Rosa Delgado", "1961-03-14")
	book := func(body map[string]any) resp { return owner.req("POST", "/api/v1/appointments", body) }
	var out struct {
		Appointment struct {
			StartsAt time.Time `json:"starts_at"`
		}
	}
	// The clinic is in America/New_York (a new clinic's zone): 2:30 pm on
	// Nov 30 there is 19:30 UTC (EST).
	r := book(map[string]any{"patient_id": pid, "starts_local": "2026-11-30T14:30", "minutes": 15})
	if r.code != 201 {
		t.Fatalf("book: %d %s", r.code, r.body)
	}
	r.json(t, &out)
	if want := time.Date(2026, 11, 30, 19, 30, 0, 0, time.UTC); !out.Appointment.StartsAt.Equal(want) {
		t.Fatalf("starts_at %s, want %s", out.Appointment.StartsAt, want)
	}
	// With the zone said, in it.
	r = book(map[string]any{"patient_id": pid, "starts_local": "2026-11-30T14:30:00", "time_zone": "America/Chicago", "minutes": 15})
	if r.code != 201 {
		t.Fatalf("book in Chicago: %d %s", r.code, r.body)
	}
	r.json(t, &out)
	if want := time.Date(2026, 11, 30, 20, 30, 0, 0, time.UTC); !out.Appointment.StartsAt.Equal(want) {
		t.Fatalf("Chicago starts_at %s, want %s", out.Appointment.StartsAt, want)
	}
	for name, c := range map[string]struct {
		body  map[string]any
		field string
	}{
		"not a time":     {map[string]any{"patient_id": pid, "starts_local": "tuesday 2pm"}, "starts_at"},
		"unknown zone":   {map[string]any{"patient_id": pid, "starts_local": "2026-11-30T14:30", "time_zone": "Mars/Olympus"}, "time_zone"},
		"local zone":     {map[string]any{"patient_id": pid, "starts_local": "2026-11-30T14:30", "time_zone": "Local"}, "time_zone"},
		"skipped by DST": {map[string]any{"patient_id": pid, "starts_local": "2027-03-14T02:30"}, "starts_at"},
	} {
		r := book(c.body)
		var got struct{ Field string }
		r.json(t, &got)
		if r.code != 400 || got.Field != c.field {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
}

// TestAuditDaysAreClinicDays: the audit screen's from and to are the
// clinic's days: a move at 10:30 pm in New York (03:30 UTC the next day)
// is on the 24th there.
func TestAuditDaysAreClinicDays(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	ack := e.patientItem(t, pid, "A question about my bill")
	e.clock.Set(time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC))
	owner = e.owner() // the evening's session
	if r := owner.req("POST", "/api/v1/items/"+ack.Item.ID+"/queue", map[string]any{"queue": "billing", "reason": "Billing question"}); r.code != 200 {
		t.Fatalf("move: %d %s", r.code, r.body)
	}
	for q, want := range map[string]bool{
		"from=2026-11-24&to=2026-11-24": true,
		"from=2026-11-25":               false,
		"to=2026-11-23":                 false,
	} {
		r := owner.req("GET", "/api/v1/audit?action=item.queue&"+q, nil)
		if r.code != 200 || strings.Contains(r.body, `"item.queue"`) != want {
			t.Errorf("%s: %d, want the move listed %v: %.300s", q, r.code, want, r.body)
		}
	}
}
