package web

import (
	"testing"
	"time"
)

// The import endpoint over the real server: "Last, First" names match, a
// file with no appointment-id column imports and importing it again books
// nothing more, and a Sunday row carries "the clinic is closed that day" in
// the preview and in the result.
func TestAppointmentImportWithoutIDAPI(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Eleanor Brooks", "1948-09-02")
	day := e.clock.Now().AddDate(0, 0, 3)
	for day.Weekday() != time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	monday := day.AddDate(0, 0, 1)
	file := "Patient,DOB,Date,Time,Provider\n" +
		"\"Brooks, Eleanor\",09/02/1948," + day.Format("01/02/2006") + ",10:15 AM,Dr. Lee\n" +
		"\"Brooks, Eleanor\",09/02/1948," + monday.Format("01/02/2006") + ",10:15 AM,Dr. Lee\n"
	mapping := map[string]string{"patient_name": "Patient", "patient_dob": "DOB", "date": "Date", "time": "Time", "provider": "Provider"}
	type result struct {
		Imported int
		Warned   int
		Rows     []struct {
			Line      int
			Status    string
			Warning   string
			PatientID string `json:"patient_id"`
		}
	}
	check := func(what string, commit bool, wantStatus string, wantImported, wantWarned int) {
		t.Helper()
		var out result
		r := owner.req("POST", "/api/v1/appointments/import", map[string]any{"csv": file, "mapping": mapping, "commit": commit})
		r.json(t, &out)
		if r.code != 200 || out.Imported != wantImported || out.Warned != wantWarned || len(out.Rows) != 2 {
			t.Fatalf("%s: %d %s", what, r.code, r.body)
		}
		for _, row := range out.Rows {
			if row.Status != wantStatus || (wantStatus == "ok" && row.PatientID != pid) {
				t.Fatalf("%s, line %d: %s", what, row.Line, r.body)
			}
		}
		if wantWarned > 0 && (out.Rows[0].Warning != "the clinic is closed that day" || out.Rows[1].Warning != "") {
			t.Fatalf("%s: the Sunday row is not the one warned: %s", what, r.body)
		}
	}
	check("preview", false, "ok", 0, 1)
	check("import", true, "ok", 2, 1)
	check("the same file again", true, "duplicate", 0, 0)

	var list struct{ Appointments []struct{ ID string } }
	r := owner.req("GET", "/api/v1/appointments?from="+day.AddDate(0, 0, -1).Format(time.RFC3339)+"&to="+monday.AddDate(0, 0, 2).Format(time.RFC3339), nil)
	r.json(t, &list)
	if r.code != 200 || len(list.Appointments) != 2 {
		t.Fatalf("after importing the file twice: %d %s", r.code, r.body)
	}
}
