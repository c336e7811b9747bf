package web

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBookFromRequestAPI: POST /api/v1/items/{id}/book over the real
// server. Only staff who may open the request book it, only with the CSRF
// token; a past time, another patient and a closed day answer a plain
// error beside the field (the closed day until confirmed); the booking
// answers the appointment and the closed request, the board lists it with
// its request, and the patient's own page (server-rendered, no script)
// says when, in their language.
func TestBookFromRequestAPI(t *testing.T) {
	e := newEnv(t) // Tuesday Nov 24, 10:00 in New York
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	rosa := e.spanishPatient(owner, "Rosa Delgado", "1961-03-14")
	id, _ := rosa.send("appointment", url.Values{"reason": {"Dolor de rodilla"}, "preferred": {"miércoles por la tarde"}})
	path := "/api/v1/items/" + id + "/book"
	v := fran.req("GET", "/api/v1/items/"+id, nil)
	var view struct {
		Item struct {
			PatientID string `json:"patient_id"`
			Status    string
		}
	}
	v.json(t, &view)
	pid := view.Item.PatientID
	other := e.addPatient(owner, "Ada Example", "1970-06-15")
	good := map[string]any{"patient_id": pid, "starts_local": "2026-11-25T14:30", "minutes": 20, "provider": "Dr. Patel", "reason": "Knee pain"}
	with := func(k string, val any) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = val
		return m
	}

	type apiErr struct{ Code, Field, Error string }
	for name, c := range map[string]struct {
		body        map[string]any
		status      int
		code, field string
	}{
		"past":          {with("starts_local", "2026-11-24T08:00"), 400, "invalid", "starts_at"},
		"not a time":    {with("starts_local", "tomorrow"), 400, "invalid", "starts_at"},
		"other patient": {with("patient_id", other), 400, "invalid", "patient_id"},
		"closed day":    {with("starts_local", "2026-11-28T10:00"), 409, "closed_day", "starts_at"},
		"too long":      {with("minutes", 600), 400, "invalid", "minutes"},
	} {
		r := fran.req("POST", path, c.body)
		var got apiErr
		r.json(t, &got)
		if r.code != c.status || got.Code != c.code || got.Field != c.field || got.Error == "" {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
	// No token, no booking; a patient's browser is not staff.
	noToken := *fran
	noToken.csrf = ""
	if r := noToken.req("POST", path, good); r.code != 403 || !strings.Contains(r.body, `"csrf"`) {
		t.Errorf("without the CSRF token: %d %s", r.code, r.body)
	}
	if r := rosa.req("POST", path, good); r.code != 401 {
		t.Errorf("a patient's browser: %d %s", r.code, r.body)
	}
	if r := fran.req("GET", "/api/v1/appointments?from=2026-11-24&to=2026-12-01", nil); r.code != 200 || strings.Contains(r.body, `"id"`) {
		t.Fatalf("refusals booked something: %d %s", r.code, r.body)
	}

	// The booking.
	r := fran.req("POST", path, good)
	if r.code != 201 {
		t.Fatalf("book: %d %s", r.code, r.body)
	}
	var out struct {
		ID          string
		Appointment struct {
			StartsAt  time.Time `json:"starts_at"`
			RequestID string    `json:"request_id"`
		}
		Item struct {
			Status, Outcome string
			Booking         struct {
				ApptID string `json:"appt_id"`
			}
		}
	}
	r.json(t, &out)
	if want := time.Date(2026, 11, 25, 19, 30, 0, 0, time.UTC); !out.Appointment.StartsAt.Equal(want) || out.Appointment.RequestID != id ||
		out.Item.Status != "closed" || out.Item.Outcome != "booked" || out.Item.Booking.ApptID != out.ID {
		t.Fatalf("booked: %s", r.body)
	}
	if r := fran.req("GET", "/api/v1/appointments?from=2026-11-24&to=2026-12-01", nil); r.code != 200 || !strings.Contains(r.body, `"request_id":"`+id+`"`) {
		t.Fatalf("the board does not know the request: %d %s", r.code, r.body)
	}
	if r := fran.req("POST", path, good); r.code != 400 || !strings.Contains(r.body, `"field":"status"`) {
		t.Errorf("booked twice: %d %s", r.code, r.body)
	}
	// The patient's page, in Spanish, without script.
	page := rosa.get("/t/" + id)
	if page.code != 200 || !strings.Contains(page.body, "Programamos su cita para mañana a las 2:30\u00a0p.\u00a0m.; puede confirmarla") {
		t.Fatalf("the patient's thread: %d %s", page.code, page.body)
	}
	if r := owner.req("GET", "/api/v1/audit?action=item.book", nil); r.code != 200 || !strings.Contains(r.body, `"item.book"`) {
		t.Errorf("audit: %d %.300s", r.code, r.body)
	}

	// A request outside the person's queues is not theirs to book.
	ada := e.signIn(owner, other, "1970-06-15", "")
	id2, _ := ada.send("appointment", url.Values{"reason": {"Check-up"}})
	if r := owner.req("POST", "/api/v1/items/"+id2+"/queue", map[string]any{"queue": "clinical", "reason": "Needs a clinician first"}); r.code != 200 {
		t.Fatalf("move: %d %s", r.code, r.body)
	}
	if r := fran.req("POST", "/api/v1/items/"+id2+"/book", with("patient_id", other)); r.code != 403 {
		t.Errorf("the front desk booked a clinical request: %d %s", r.code, r.body)
	}
	// A closed day, confirmed, books; the English thread says when.
	if r := owner.req("POST", "/api/v1/items/"+id2+"/book", map[string]any{"starts_local": "2026-11-28T10:00", "confirm_closed_day": true}); r.code != 201 {
		t.Fatalf("a confirmed closed day: %d %s", r.code, r.body)
	}
	if page := ada.get("/t/" + id2); !strings.Contains(page.body, "Your appointment is booked. It is on Saturday, November 28 at 10\u00a0am; you can confirm it") {
		t.Fatalf("the English thread: %s", page.body)
	}
}
