package clinic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hearth/app/store"
)

var importMapping = map[string]string{"external_id": "Appt ID", "patient_name": "Patient", "patient_dob": "DOB", "date": "Date",
	"time": "Time", "minutes": "Length", "provider": "Provider", "location": "Location", "reason": "Reason"}

func TestImportAppointmentsRealWorldMess(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	// Ada Example 1970-06-15 and Bo Example 1980-01-01 exist (newInbox).
	file := "\xef\xbb\xbfAppt ID;Patient;DOB;Date;Time;Length;Provider;Location;Reason\n" +
		"A-1;Ada Example;06/15/1970;2026-11-30;9:30 AM;20 min;Dr. Lee;\"Room 2; east wing\";\"Check-up, annual\"\n" +
		"A-2;bo  example;1980-01-01;12/01/2026;14:00;15;Dr. Lee;Room 1;Follow-up\n" +
		"A-2;Bo Example;1980-01-01;12/01/2026;14:00;15;Dr. Lee;Room 1;Follow-up\n" +
		"A-3;Nobody Known;1999-09-09;Dec 2, 2026;10:00;15;Dr. Lee;Room 1;New patient\n"
	res, err := ic.c.ImportAppointments(ctx, ic.front, []byte(file), importMapping, false)
	if err != nil {
		t.Fatal(err)
	}
	status := map[int]string{}
	for _, r := range res.Rows {
		status[r.Line] = r.Status
	}
	if status[2] != "ok" || status[3] != "ok" || status[4] != "duplicate" || status[5] != "unmatched" || res.Bad != 0 {
		t.Fatalf("preview: %+v", res.Rows)
	}
	if n := len(mustList(t, ic)); n != 0 {
		t.Fatalf("a preview booked %d appointments", n)
	}
	res, err = ic.c.ImportAppointments(ctx, ic.front, []byte(file), importMapping, true)
	if err != nil || res.Imported != 2 {
		t.Fatalf("import: %d %v", res.Imported, err)
	}
	list := mustList(t, ic)
	if len(list) != 2 || list[0].Location != "Room 2; east wing" || list[0].Reason != "Check-up, annual" || list[0].Minutes != 20 {
		t.Fatalf("imported: %+v", list)
	}
	// The same file again: everything is a duplicate now.
	res, _ = ic.c.ImportAppointments(ctx, ic.front, []byte(file), importMapping, true)
	if res.Imported != 0 {
		t.Fatalf("re-import booked %d more", res.Imported)
	}
	// A broken row: nothing from the file is imported, and the line is named.
	broken := "Appt ID,Patient,DOB,Date,Time,Length,Provider,Location,Reason\n" +
		"B-1,Ada Example,1970-06-15,2026-12-03,09:00,15,Dr. Lee,Room 1,Check\n" +
		"B-2,Ada Example,1970-06-15,the third,09:00,15,Dr. Lee,Room 1,Check\n"
	res, err = ic.c.ImportAppointments(ctx, ic.front, []byte(broken), importMapping, true)
	if err != nil || res.Imported != 0 || res.Bad != 1 || res.Rows[1].Line != 3 || !strings.Contains(res.Rows[1].Reason, "date") {
		t.Fatalf("bad row: %+v %v", res, err)
	}
	if len(mustList(t, ic)) != 2 {
		t.Fatal("a file with a bad row imported something")
	}
	// A line the CSV reader cannot read at all.
	_, err = ic.c.ImportAppointments(ctx, ic.front, []byte("Appt ID,Patient,DOB,Date\nC-1,\"Ada,1970-06-15,2026-12-03\n"), importMapping, true)
	if err == nil || !strings.Contains(err.Error(), "Line") {
		t.Fatalf("unreadable line: %v", err)
	}
	// A mapping naming a column the file lacks.
	if _, err := ic.c.ImportAppointments(ctx, ic.front, []byte(file), map[string]string{"external_id": "Nope"}, false); err == nil {
		t.Fatal("a wrong mapping was accepted")
	}
}

func mustList(t *testing.T, ic *inboxClinic) []ApptRow {
	t.Helper()
	rows, err := ic.c.ListAppointments(context.Background(), ic.front, ic.clock.t.AddDate(0, 0, -1), ic.clock.t.AddDate(0, 0, 30))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// An outside system's appointment number names one visit: booking it again
// for the same patient answers that visit, but for another patient it is
// refused, never answered with someone else's appointment. A visit that has
// passed takes no answers.
func TestAppointmentExternalIDAndPastAnswers(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	when := ic.clock.now().Add(48 * time.Hour)
	first, created, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patA.Patient, StartsAt: when, Minutes: 20, ExternalID: "EHR-77"})
	if err != nil || !created {
		t.Fatalf("book: %v %v", created, err)
	}
	again, created, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patA.Patient, StartsAt: when, Minutes: 20, ExternalID: "EHR-77"})
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("the same number for the same patient: %v %v %v", again.ID, created, err)
	}
	other, _, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patB.Patient, StartsAt: when, Minutes: 20, ExternalID: "EHR-77"})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "external_id" || other.ID != "" {
		t.Fatalf("the same number for another patient answered %q, %v; want an input error on external_id", other.ID, err)
	}

	ic.clock.t = when.Add(48 * time.Hour)
	if _, err := ic.c.AnswerAppointment(ctx, ic.patA, first.ID, "confirm", ""); !errors.As(err, &ie) || ie.Field != "action" {
		t.Fatalf("confirming a visit that has passed: %v", err)
	}
}

// lookupFails is a store whose Lookup in one index fails as a damaged disk
// or a dropped database connection would.
type lookupFails struct {
	store.Store
	index string
}

var errDiskGone = errors.New("test: the disk went away")

func (s lookupFails) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(lookupFailsTx{tx, s.index}) })
}

func (s lookupFails) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(lookupFailsTx{tx, s.index}) })
}

type lookupFailsTx struct {
	store.Tx
	index string
}

func (t lookupFailsTx) Lookup(index string, key []byte) (string, error) {
	if index == t.index {
		return "", errDiskGone
	}
	return t.Tx.Lookup(index, key)
}

// TestImportStoreErrorIsNotANewAppointment: when the store cannot say
// whether an appointment was imported before, the import fails with that
// error and books nothing; it never books the appointment a second time.
func TestImportStoreErrorIsNotANewAppointment(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	file := "Appt ID,Patient,DOB,Date,Time,Length,Provider,Location,Reason\nB-1,Bo Example,1980-01-01,2026-12-01,14:00,15,Dr. Lee,Room 1,Follow-up\n"
	if res, err := ic.c.ImportAppointments(ctx, ic.front, []byte(file), importMapping, true); err != nil || res.Imported != 1 {
		t.Fatalf("first import: %+v %v", res, err)
	}
	broken := fixture(t).Open(t, Deps{Store: lookupFails{ic.st, ixApptExternal}, Vault: ic.c.v, Now: ic.clock.now, Files: ic.c.files})
	for _, commit := range []bool{false, true} {
		if _, err := broken.ImportAppointments(ctx, ic.front, []byte(file), importMapping, commit); !errors.Is(err, errDiskGone) {
			t.Fatalf("import (commit %v) while the index cannot be read: %v, want the store's error", commit, err)
		}
	}
	if _, _, err := broken.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patB.Patient, StartsAt: ic.clock.t.Add(24 * time.Hour), Minutes: 15, ExternalID: "B-1"}); !errors.Is(err, errDiskGone) {
		t.Fatalf("create with an external id while the index cannot be read: %v, want the store's error", err)
	}
	var n int
	if err := ic.st.View(ctx, func(tx store.Tx) (err error) { n, err = tx.Count(bucketAppts); return err }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d appointments after the failed imports, want 1", n)
	}
}
