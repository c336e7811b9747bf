package web

import (
	"strings"
	"testing"
	"time"
)

// TestAppointmentTimesAcrossZonesAndDST (checklist 23): a booking names
// one instant whatever zone it is written in, and a wall time that does
// not exist is refused, never moved. The clinic is in America/New_York.
//   - The hour the clocks go forward is refused in the clinic's zone and in
//     another zone the booking names (Europe/London), by the booking API and
//     by the practice-system import alike.
//   - The hour the clocks go back happens twice: 1:30 names its first
//     (daylight) occurrence, 05:30 UTC, and the patient sees 1:30.
//   - An RFC 3339 time with another zone's offset (Tokyo) is the same
//     instant; the patient's page and the .ics show it in the clinic's time.
func TestAppointmentTimesAcrossZonesAndDST(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pat, pid := e.patient(owner, "Rosa Delgado", "1961-03-14")
	type booked struct {
		Appointment struct {
			ID       string    `json:"id"`
			StartsAt time.Time `json:"starts_at"`
		}
	}
	book := func(body map[string]any) (resp, booked) {
		t.Helper()
		body["patient_id"], body["minutes"] = pid, 15
		r := owner.req("POST", "/api/v1/appointments", body)
		var out booked
		if r.code == 201 {
			r.json(t, &out)
		}
		return r, out
	}
	for name, body := range map[string]map[string]any{
		"New York spring forward": {"starts_local": "2027-03-14T02:30"},
		"London spring forward":   {"starts_local": "2027-03-28T01:30", "time_zone": "Europe/London"},
		"Sydney spring forward":   {"starts_local": "2026-10-04T02:15", "time_zone": "Australia/Sydney"},
	} {
		r, _ := book(body)
		var got struct{ Field string }
		r.json(t, &got)
		if r.code != 400 || got.Field != "starts_at" {
			t.Errorf("%s: %d %s, want 400 on starts_at", name, r.code, r.body)
		}
	}
	// The same wall time an hour later exists, in each zone.
	if r, out := book(map[string]any{"starts_local": "2027-03-28T02:30", "time_zone": "Europe/London"}); r.code != 201 ||
		!out.Appointment.StartsAt.Equal(time.Date(2027, 3, 28, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("London 02:30 BST: %d %s", r.code, r.body)
	}

	// Fall back: the first 1:30 (EDT, UTC-4).
	r, back := book(map[string]any{"starts_local": "2027-11-07T01:30", "provider": "Dr Fallback"})
	if r.code != 201 || !back.Appointment.StartsAt.Equal(time.Date(2027, 11, 7, 5, 30, 0, 0, time.UTC)) {
		t.Fatalf("fall back 1:30: %d %s", r.code, r.body)
	}

	// Tokyo's 23:30 on Nov 25 is 14:30 UTC, 9:30 am in New York (EST).
	r, tokyo := book(map[string]any{"starts_at": "2026-11-25T23:30:00+09:00"})
	if r.code != 201 || !tokyo.Appointment.StartsAt.Equal(time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)) {
		t.Fatalf("Tokyo offset: %d %s", r.code, r.body)
	}
	home := pat.get("/me")
	if home.code != 200 || !strings.Contains(home.body, "9:30") || strings.Contains(home.body, "11:30") || strings.Contains(home.body, "2:30 PM") {
		t.Errorf("the patient's page does not show 9:30 (clinic time) for the Tokyo-written booking:\n%s", trunc(home.body))
	}
	ics := pat.get("/a/" + tokyo.Appointment.ID + ".ics")
	if ics.code != 200 || !strings.Contains(ics.body, "DTSTART:20261125T143000Z") {
		t.Errorf(".ics: %d %s", ics.code, ics.body)
	}

	// The import reads wall times in the clinic's zone: a skipped one is a
	// refused row, the others the instants they name.
	file := "Appt ID,Patient,DOB,Date,Time\n" +
		"G-1,Rosa Delgado,03/14/1961,2027-03-14,02:30\n" +
		"G-2,Rosa Delgado,03/14/1961,2027-03-14,03:30\n" +
		"G-3,Rosa Delgado,03/14/1961,2027-11-07,01:30\n"
	mapping := map[string]string{"external_id": "Appt ID", "patient_name": "Patient", "patient_dob": "DOB", "date": "Date", "time": "Time"}
	var imp struct {
		Rows []struct {
			Status, Reason string
			StartsAt       time.Time `json:"starts_at"`
		}
	}
	r = owner.req("POST", "/api/v1/appointments/import", map[string]any{"csv": file, "mapping": mapping})
	r.json(t, &imp)
	if r.code != 200 || len(imp.Rows) != 3 {
		t.Fatalf("import preview: %d %s", r.code, r.body)
	}
	if imp.Rows[0].Status != "error" || !strings.Contains(imp.Rows[0].Reason, "clocks go forward") {
		t.Errorf("the skipped 2:30 was not refused: %+v", imp.Rows[0])
	}
	if !imp.Rows[1].StartsAt.Equal(time.Date(2027, 3, 14, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("3:30 EDT: %+v", imp.Rows[1])
	}
	if !imp.Rows[2].StartsAt.Equal(time.Date(2027, 11, 7, 5, 30, 0, 0, time.UTC)) {
		t.Errorf("fall-back 1:30: %+v", imp.Rows[2])
	}
}
