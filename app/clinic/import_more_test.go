package clinic

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// idMapping is for files with an id, patient, birth date, date and time.
var idMapping = map[string]string{"external_id": "Appt ID", "patient_name": "Patient", "patient_dob": "DOB", "date": "Date", "time": "Time"}

// The usual practice-system export writes "Brooks, Eleanor": that is
// Eleanor Brooks, and "Brooks, Eleanor Jane" is Eleanor Jane Brooks.
func TestImportMatchesLastCommaFirst(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	eleanor, err := ic.c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Eleanor Brooks", DOB: "1948-09-02"})
	if err != nil {
		t.Fatal(err)
	}
	jane, err := ic.c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Eleanor Jane Brooks", DOB: "1950-03-04"})
	if err != nil {
		t.Fatal(err)
	}
	file := "Appt ID,Patient,DOB,Date,Time\n" +
		"E-1,\"Brooks, Eleanor\",09/02/1948,2026-12-01,09:30\n" +
		"E-2,\"Brooks,Eleanor\",1948-09-02,2026-12-02,09:30\n" +
		"E-3,\"Brooks, Eleanor Jane\",03/04/1950,2026-12-01,10:00\n" +
		"E-4,Eleanor Brooks,09/02/1948,2026-12-03,09:30\n" +
		"E-5,\"Brooks, Eleanor\",03/04/1950,2026-12-01,11:00\n"
	res, err := ic.c.ImportAppointments(ctx, ic.front, []byte(file), idMapping, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{2: eleanor.ID, 3: eleanor.ID, 4: jane.ID, 5: eleanor.ID, 6: ""}
	for _, r := range res.Rows {
		if r.PatientID != want[r.Line] {
			t.Errorf("line %d (%q): patient %q, status %s (%s); want %q", r.Line, r.Name, r.PatientID, r.Status, r.Reason, want[r.Line])
		}
	}
	// Eleanor Brooks' birth date with Eleanor Jane's: nobody, never a guess.
	if r := res.Rows[4]; r.Status != "unmatched" {
		t.Errorf("a name and a birth date of two different patients: %+v", r)
	}

	for name, forms := range map[string][]string{
		"Brooks, Eleanor":      {"brooks eleanor", "eleanor brooks"},
		"Brooks, Eleanor Jane": {"brooks eleanor jane", "eleanor jane brooks"},
		"Eleanor Brooks":       {"eleanor brooks"},
		"Brooks, Jr., Eleanor": {"brooks jr eleanor"},
		", Eleanor":            {"eleanor"},
	} {
		if got := nameForms(name); !slices.Equal(got, forms) {
			t.Errorf("nameForms(%q) = %q, want %q", name, got, forms)
		}
	}
}

// A file with no appointment-id column imports; the same file again books
// nothing more, because each row's key comes from the patient, the start
// and the provider. The key is a hash: no name, date or provider in it.
func TestImportWithoutAppointmentID(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	mapping := map[string]string{"patient_name": "Patient", "patient_dob": "DOB", "date": "Date", "time": "Time", "provider": "Provider"}
	file := "Patient,DOB,Date,Time,Provider\n" +
		"Ada Example,1970-06-15,2026-11-30,09:30,Dr. Lee\n" +
		"\"Example, Bo\",1980-01-01,2026-11-30,09:30,Dr. Lee\n" +
		"Ada Example,1970-06-15,2026-11-30,09:30,Dr. Okafor\n" +
		"ada  example,06/15/1970,11/30/2026,9:30 AM,dr lee\n" +
		"Nobody Known,1999-09-09,2026-11-30,10:00,Dr. Lee\n"
	res, err := ic.c.ImportAppointments(ctx, ic.front, []byte(file), mapping, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, r.Status)
	}
	if want := []string{"ok", "ok", "ok", "duplicate", "unmatched"}; !slices.Equal(got, want) || res.Bad != 0 {
		t.Fatalf("preview: %v, want %v (%+v)", got, want, res.Rows)
	}
	res, err = ic.c.ImportAppointments(ctx, ic.front, []byte(file), mapping, true)
	if err != nil || res.Imported != 3 {
		t.Fatalf("import: %d %v", res.Imported, err)
	}
	list := mustList(t, ic)
	if len(list) != 3 {
		t.Fatalf("%d appointments after the import, want 3", len(list))
	}
	for _, a := range list {
		ap := mustAppt(t, ic, a.ID)
		// Nothing but 64 lowercase hex digits after the prefix: no name,
		// date or provider can be in it. (Words made of hex letters, such
		// as "Ada", or digits such as "2026", turn up in a random hash now
		// and then, so only what has other characters is looked for.)
		hexPart, ok := strings.CutPrefix(ap.ExternalID, "sha256:")
		if !ok || len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
			t.Errorf("derived key %q is not a SHA-256 in hex", ap.ExternalID)
		}
		for _, plain := range []string{"Example", "Lee", "Okafor", "09:30", ap.PatientID} {
			if strings.Contains(strings.ToLower(ap.ExternalID), strings.ToLower(plain)) {
				t.Errorf("derived key %q shows %q", ap.ExternalID, plain)
			}
		}
	}
	res, err = ic.c.ImportAppointments(ctx, ic.front, []byte(file), mapping, true)
	if err != nil || res.Imported != 0 {
		t.Fatalf("second import: %d %v", res.Imported, err)
	}
	for _, r := range res.Rows[:4] {
		if r.Status != "duplicate" {
			t.Errorf("second import, line %d: %s %s", r.Line, r.Status, r.Reason)
		}
	}
	if n := len(mustList(t, ic)); n != 3 {
		t.Fatalf("%d appointments after importing the same file twice, want 3", n)
	}

	// An id column with an empty cell: that row gets the derived key too.
	withIDs := "Appt ID,Patient,DOB,Date,Time,Provider\n,Ada Example,1970-06-15,2026-11-30,09:30,Dr. Lee\nZ-1,Bo Example,1980-01-01,2026-12-01,09:00,Dr. Lee\n"
	mapping["external_id"] = "Appt ID"
	res, err = ic.c.ImportAppointments(ctx, ic.front, []byte(withIDs), mapping, false)
	if err != nil || res.Rows[0].Status != "duplicate" || res.Rows[1].Status != "ok" {
		t.Fatalf("an empty id cell: %+v %v", res.Rows, err)
	}
}

func mustAppt(t *testing.T, ic *inboxClinic, id string) Appointment {
	t.Helper()
	var ap Appointment
	if err := ic.st.View(context.Background(), func(tx store.Tx) error {
		return ic.c.open(tx, vault.RefAnyPatient(bucketAppts, id), &ap)
	}); err != nil {
		t.Fatal(err)
	}
	return ap
}

// A row on a day the clinic is closed (a Sunday, a holiday) is imported,
// with "the clinic is closed that day" beside it in the preview and in the
// result; a row on an open day has no warning.
func TestImportWarnsOnClosedDays(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	s, err := ic.c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := DefaultHours()
	h.Holidays = []string{"2026-12-25"}
	s.Hours = &h
	if err := ic.c.SaveSettings(ctx, ic.owner, s); err != nil {
		t.Fatal(err)
	}
	file := "Appt ID,Patient,DOB,Date,Time\n" +
		"S-1,Ada Example,1970-06-15,2026-11-29,10:00\n" + // Sunday
		"S-2,Ada Example,1970-06-15,2026-11-30,10:00\n" + // Monday
		"S-3,Bo Example,1980-01-01,2026-12-25,10:00\n" + // Friday, a holiday
		"S-4,Bo Example,1980-01-01,2026-12-05,23:30\n" // Saturday night
	want := map[int]bool{2: true, 3: false, 4: true, 5: true}
	for _, commit := range []bool{false, true} {
		res, err := ic.c.ImportAppointments(ctx, ic.front, []byte(file), idMapping, commit)
		if err != nil {
			t.Fatal(err)
		}
		if commit && res.Imported != 4 {
			t.Fatalf("imported %d, want 4 (a closed day is a warning, not an error)", res.Imported)
		}
		if res.Warned != 3 || res.Bad != 0 {
			t.Errorf("commit %v: %d warned, %d bad; want 3 and 0", commit, res.Warned, res.Bad)
		}
		for _, r := range res.Rows {
			if r.Status != "ok" {
				t.Errorf("commit %v, line %d: %s (%s)", commit, r.Line, r.Status, r.Reason)
			}
			if got := r.Warning == "the clinic is closed that day"; got != want[r.Line] {
				t.Errorf("commit %v, line %d: warning %q", commit, r.Line, r.Warning)
			}
		}
	}

	loc := hoursNY(t)
	for _, c := range []struct {
		when   time.Time
		closed bool
	}{
		{time.Date(2026, 11, 29, 12, 0, 0, 0, loc), true},                    // Sunday
		{time.Date(2026, 11, 30, 3, 0, 0, 0, loc), false},                    // Monday before opening: the day is open
		{time.Date(2026, 12, 25, 9, 0, 0, 0, loc), true},                     // the holiday
		{time.Date(2026, 12, 26, 4, 0, 0, 0, time.UTC), true},                // 23:00 on the 25th in New York
		{time.Date(2026, 12, 24, 23, 0, 0, 0, time.UTC), false},              // 18:00 on the 24th in New York
		{time.Date(2026, 11, 28, 23, 59, 0, 0, loc).AddDate(0, 0, 2), false}, // Monday night
	} {
		if got := h.ClosedAllDay(c.when, loc); got != c.closed {
			t.Errorf("ClosedAllDay(%s) = %v, want %v", c.when.In(loc).Format("Mon 2006-01-02 15:04"), got, c.closed)
		}
	}
}
