package clinic

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hearth/app/audit"
)

// listEvents is the whole trail's events with action, oldest first.
func listEvents(t *testing.T, ic *inboxClinic, action string) []AuditEntry {
	t.Helper()
	evs, err := ic.c.AuditLog(context.Background(), ic.owner, audit.Filter{Action: action, Limit: 5000}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// accessCount counts a patient's access-report events with action.
func accessCount(t *testing.T, ic *inboxClinic, patient, action string) int {
	t.Helper()
	rep, err := ic.c.AccessReport(context.Background(), ic.owner, patient)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range rep {
		if e.Action == action {
			n++
		}
	}
	return n
}

// TestListViewsOneEventPerPage (issue 14 item 19): refreshing the inbox N
// times with M patients on it writes N audit events, not N×M, each naming
// all M patients; every patient's trail still lists every refresh. The
// appointment board and patient search work the same way, and the trail
// still verifies.
func TestListViewsOneEventPerPage(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	const N, M = 4, 5
	pats := []string{ic.patA.Patient, ic.patB.Patient}
	for i := len(pats); i < M; i++ {
		p, err := ic.c.CreatePatient(ctx, ic.owner, PatientInput{Name: fmt.Sprintf("Cy%c Example", 'a'+i), DOB: "1990-02-0" + fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		pats = append(pats, p.ID)
	}
	for _, p := range pats {
		if _, err := ic.c.CreateItem(ctx, Actor{Kind: ActorPatient, ID: p, Patient: p}, NewItem{Type: TypeMessage, Body: "A question about my visit"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(listEvents(t, ic, "item.list")); n != 0 {
		t.Fatalf("%d list events before any list was shown", n)
	}
	for i := 0; i < N; i++ {
		rows, err := ic.c.ListItems(ctx, ic.front, ItemFilter{})
		if err != nil || len(rows) != M {
			t.Fatalf("inbox: %d rows, %v", len(rows), err)
		}
	}
	evs := listEvents(t, ic, "item.list")
	if len(evs) != N {
		t.Fatalf("%d refreshes of %d patients wrote %d list events, want %d", N, M, len(evs), N)
	}
	for _, e := range evs {
		if len(e.Patients) != M || e.Patient != "" || e.Actor != ic.front.String() {
			t.Fatalf("list event: %+v", e.Event)
		}
		for _, p := range pats {
			if !e.Touches(p) {
				t.Fatalf("list event %d does not name patient %s", e.Seq, p)
			}
		}
	}
	for _, p := range pats {
		if n := accessCount(t, ic, p, "item.list"); n != N {
			t.Errorf("patient %s's trail lists %d of the %d refreshes", p, n, N)
		}
		byPatient := listFilterPatient(t, ic, p, "item.list")
		if byPatient != N {
			t.Errorf("the owner's patient filter finds %d of %d list events for %s", byPatient, N, p)
		}
	}

	// The board: two refreshes of a day with two patients' visits.
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, hoursNY(t))
	for i, p := range pats[:2] {
		if _, _, err := ic.c.CreateAppointment(ctx, ic.owner, ApptInput{PatientID: p, StartsAt: day.Add(time.Duration(9+i) * time.Hour), Minutes: 15, Provider: "Dr. Raj Patel"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if rows, err := ic.c.ListAppointments(ctx, ic.front, day, day.AddDate(0, 0, 1)); err != nil || len(rows) != 2 {
			t.Fatalf("board: %d rows, %v", len(rows), err)
		}
	}
	if evs := listEvents(t, ic, "appointment.list"); len(evs) != 2 || len(evs[0].Patients) != 2 {
		t.Fatalf("board: %d events (%+v), want 2 naming 2 patients each", len(evs), evs)
	}
	// A search that finds every patient: one event naming them all.
	found, err := ic.c.SearchPatients(ctx, ic.front, "Example", 20)
	if err != nil || len(found) != M {
		t.Fatalf("search: %d, %v", len(found), err)
	}
	if evs := listEvents(t, ic, "patient.search_result"); len(evs) != 1 || len(evs[0].Patients) != M {
		t.Fatalf("search: %d events, want 1 naming %d patients", len(evs), M)
	}
	// Opening one record is still its own event.
	if _, err := ic.c.Patient(ctx, ic.front, pats[0]); err != nil {
		t.Fatal(err)
	}
	if evs := listEvents(t, ic, "patient.read"); len(evs) != 1 || evs[0].Patient != pats[0] || len(evs[0].Patients) != 0 {
		t.Fatalf("patient.read: %+v", evs)
	}
	rep, err := ic.c.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// listFilterPatient counts the owner's newest-first events for patient
// with action (the owner screen's patient filter).
func listFilterPatient(t *testing.T, ic *inboxClinic, patient, action string) int {
	t.Helper()
	evs, err := ic.c.AuditLog(context.Background(), ic.owner, audit.Filter{Patient: patient, Action: action, Limit: 5000}, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestAccessGrouping (issue 14 item 19): the patient's report groups
// repeats per person, action and clinic day, newest first, with the names
// staff sign with.
func TestAccessGrouping(t *testing.T) {
	ny := hoursNY(t)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	e := func(actor, name, action, when string) AuditEntry {
		return AuditEntry{Event: audit.Event{Actor: actor, Action: action, At: at(when)}, ActorName: name, ActorRole: RoleFrontDesk}
	}
	rep := []AuditEntry{ // oldest first, as AccessReport gives them
		e("staff:m1", "Maria", "item.list", "2026-12-06T14:00:00Z"),
		e("staff:m1", "Maria", "item.list", "2026-12-06T15:00:00Z"),
		e("staff:m2", "Maria", "item.list", "2026-12-06T15:30:00Z"), // another Maria
		e("staff:m1", "Maria", "item.read", "2026-12-06T16:00:00Z"),
		e("staff:m1", "Maria", "item.list", "2026-12-07T02:00:00Z"), // 9 pm on Dec 6 in New York
		e("staff:m1", "Maria", "item.list", "2026-12-07T14:00:00Z"), // Dec 7
	}
	lines := groupAccess(rep, ny)
	type want struct {
		actor  string
		action string
		day    int
		count  int
	}
	got := make([]want, 0, len(lines))
	for _, l := range lines {
		got = append(got, want{l.Name, l.Action, l.Day.Day(), l.Count})
		if l.Day.Location() != ny || l.Day.Hour() != 0 {
			t.Errorf("day %v is not a clinic day", l.Day)
		}
	}
	exp := []want{{"Maria", "item.list", 7, 1}, {"Maria", "item.list", 6, 3}, {"Maria", "item.read", 6, 1}, {"Maria", "item.list", 6, 1}}
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("grouped:\n got %v\nwant %v", got, exp)
	}

	// Through the clinic: three refreshes by the front desk are one line.
	ic := newInbox(t)
	ctx := context.Background()
	if _, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "A question"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := ic.c.ListItems(ctx, ic.front, ItemFilter{}); err != nil {
			t.Fatal(err)
		}
		ic.clock.t = ic.clock.t.Add(10 * time.Minute)
	}
	sum, err := ic.c.AccessSummary(ctx, ic.patA, ic.patA.Patient)
	if err != nil {
		t.Fatal(err)
	}
	var list *AccessLine
	for i := range sum {
		if sum[i].Action == "item.list" {
			if list != nil {
				t.Fatalf("two inbox lines: %+v", sum)
			}
			list = &sum[i]
		}
	}
	if list == nil || list.Count != 3 || list.Name != "Maria" || list.Role != RoleFrontDesk || list.Day.Day() != 23 {
		t.Fatalf("inbox line: %+v of %+v", list, sum)
	}
	if sum[0].Last.Before(sum[len(sum)-1].Last) {
		t.Fatalf("not newest first: %+v", sum)
	}
}

// TestAuditActionsHaveWords: every action of the owner's picker is listed
// once and has plain words in every language.
func TestAuditActionsHaveWords(t *testing.T) {
	ic := newInbox(t)
	seen := map[string]bool{}
	for _, a := range AuditActions {
		if seen[a] {
			t.Errorf("%s is listed twice", a)
		}
		seen[a] = true
		for _, lang := range ic.c.Words().Langs() {
			if w, ok := ic.c.Words().Text(lang, "audit.action."+a); !ok || w == "" {
				t.Errorf("%s has no words in %s", a, lang)
			}
		}
	}
	if got := ic.c.AuditActionList("es"); len(got) != len(AuditActions) || got[0].Words != "Abrió el expediente de un paciente" {
		t.Errorf("Spanish list: %+v", got[:1])
	}
}
