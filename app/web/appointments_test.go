package web

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAppointmentsEndToEnd(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, pid := e.patient(owner, "Rosa Delgado", "1961-03-14")
	other, _ := e.patient(owner, "Bo Example", "1980-01-01")
	starts := e.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
	book := func(body map[string]any) resp { return owner.req("POST", "/api/v1/appointments", body) }
	r := book(map[string]any{"patient_id": pid, "starts_at": starts, "minutes": 20, "provider": "Dr. Lee", "location": "Room 2", "reason": "Blood pressure check", "external_id": "EHR-991"})
	if r.code != 201 {
		t.Fatalf("book: %d %s", r.code, r.body)
	}
	var out struct{ ID string }
	r.json(t, &out)
	// The same export row again is not a second appointment.
	if r2 := book(map[string]any{"patient_id": pid, "starts_at": starts, "external_id": "EHR-991"}); r2.code != 200 || !strings.Contains(r2.body, out.ID) {
		t.Fatalf("duplicate external id: %d %s", r2.code, r2.body)
	}
	for name, bad := range map[string]map[string]any{
		"past":       {"patient_id": pid, "starts_at": e.clock.Now().Add(-72 * time.Hour).Format(time.RFC3339)},
		"year 9999":  {"patient_id": pid, "starts_at": "9999-01-01T10:00:00Z"},
		"not a time": {"patient_id": pid, "starts_at": "next tuesday"},
		"too long":   {"patient_id": pid, "starts_at": starts, "minutes": 1000},
		"no patient": {"patient_id": "00000000-0000-4000-8000-000000000009", "starts_at": starts},
	} {
		if r := book(bad); r.code != 400 {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
	me := u.get("/me")
	mustContain(t, "/me", me.body, "Your appointments", "Dr. Lee", "Blood pressure check", "Not confirmed yet", `action="/a/`+out.ID+`"`)
	// Another patient cannot answer it.
	if r := other.form("/me", "/a/"+out.ID, url.Values{"action": {"cancel"}}); r.code != 404 {
		t.Fatalf("another patient answered: %d", r.code)
	}
	location(t, u.form("/me", "/a/"+out.ID, url.Values{"action": {"confirm"}}), "/me")
	var list struct {
		Appointments []struct {
			ID, Status, Patient string
		}
	}
	owner.req("GET", "/api/v1/appointments?from="+e.clock.Now().Format("2006-01-02")+"&to="+e.clock.Now().AddDate(0, 0, 4).Format("2006-01-02"), nil).json(t, &list)
	if len(list.Appointments) != 1 || list.Appointments[0].Status != "confirmed" || list.Appointments[0].Patient != "Rosa Delgado" {
		t.Fatalf("board: %+v", list.Appointments)
	}
	// Another time: without preferred times the form asks; with them, the front desk gets an item.
	location(t, u.form("/me", "/a/"+out.ID, url.Values{"action": {"reschedule"}}), "/me?appt=")
	location(t, u.form("/me", "/a/"+out.ID, url.Values{"action": {"reschedule"}, "preferred": {"Thursday mornings"}}), "/me")
	var items struct {
		Items []struct{ Type, Queue string }
	}
	owner.req("GET", "/api/v1/items?queue=frontdesk", nil).json(t, &items)
	found := false
	for _, it := range items.Items {
		found = found || it.Type == "appointment_reply"
	}
	if !found {
		t.Fatalf("no front-desk item for the reschedule request: %+v", items.Items)
	}
	ics := u.get("/a/" + out.ID + ".ics")
	if ics.code != 200 || !strings.HasPrefix(ics.h.Get("Content-Type"), "text/calendar") || !strings.Contains(ics.body, "BEGIN:VEVENT") || !strings.Contains(ics.body, "LOCATION:Room 2") {
		t.Fatalf("ics: %d %s", ics.code, ics.body)
	}
	if r := other.get("/a/" + out.ID + ".ics"); r.code != 404 {
		t.Fatalf("another patient's calendar file: %d", r.code)
	}
}

func TestAppointmentImportAPI(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	e.addPatient(owner, "Ada Example", "1970-06-15")
	file := "Appt ID,Patient,DOB,Date,Time\nX-1,Ada Example,06/15/1970," + e.clock.Now().AddDate(0, 0, 3).Format("2006-01-02") + ",10:15\n"
	mapping := map[string]string{"external_id": "Appt ID", "patient_name": "Patient", "patient_dob": "DOB", "date": "Date", "time": "Time"}
	var out struct {
		Imported int
		Rows     []struct{ Status string }
	}
	r := owner.req("POST", "/api/v1/appointments/import", map[string]any{"csv": file, "mapping": mapping})
	r.json(t, &out)
	if r.code != 200 || out.Imported != 0 || len(out.Rows) != 1 || out.Rows[0].Status != "ok" {
		t.Fatalf("preview: %d %s", r.code, r.body)
	}
	r = owner.req("POST", "/api/v1/appointments/import", map[string]any{"csv": file, "mapping": mapping, "commit": true})
	r.json(t, &out)
	if r.code != 200 || out.Imported != 1 {
		t.Fatalf("import: %d %s", r.code, r.body)
	}
	// The mapping is remembered: next time the file alone is enough.
	file2 := "Appt ID,Patient,DOB,Date,Time\nX-2,Ada Example,06/15/1970," + e.clock.Now().AddDate(0, 0, 4).Format("2006-01-02") + ",11:00\n"
	r = owner.req("POST", "/api/v1/appointments/import", map[string]any{"csv": file2, "commit": true})
	r.json(t, &out)
	if r.code != 200 || out.Imported != 1 {
		t.Fatalf("with the remembered mapping: %d %s", r.code, r.body)
	}
}
