package web

import (
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/app/clinic"
)

// inboxRefreshes has Maria (front desk) refresh the inbox: twice in the
// afternoon of Tuesday, November 24 and once at 10:30 pm that day in the
// clinic's time zone (03:30 UTC on the 25th), then once the next day. Her
// screen locks while idle, so she signs in again for each.
func inboxRefreshes(t *testing.T, e *env) {
	t.Helper()
	for _, at := range []time.Time{
		time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC),
	} {
		e.clock.Set(at)
		maria := e.login("maria@maple.test", "Staff-Password-frontdesk")
		if r := maria.req("GET", "/api/v1/items", nil); r.code != 200 {
			t.Fatalf("inbox: %d %s", r.code, r.body)
		}
	}
}

// TestAccessPageGroupsRepeats (issue 14 item 19): "who looked at my
// record" says each person, action and clinic day once, with a count,
// newest first, in English and Spanish, with the name staff sign with.
func TestAccessPageGroupsRepeats(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	en, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	es := e.spanishPatient(owner, "Lucía Ramos", "1975-08-02")
	if _, r := en.send("message", url.Values{"body": {"A question about my refill"}}); r.code >= 400 {
		t.Fatalf("send: %d", r.code)
	}
	if _, r := es.send("message", url.Values{"body": {"Una pregunta"}}); r.code >= 400 {
		t.Fatalf("send: %d", r.code)
	}
	e.addStaff(owner, "Maria Front", "maria@maple.test", "frontdesk")
	inboxRefreshes(t, e)

	// The next day: today's look and yesterday's three.
	body := en.get("/me/access").body
	today := "<strong>Maria, front desk</strong> saw your name in the inbox list today"
	before := "<strong>Maria, front desk</strong> saw your name in the inbox list 3 times yesterday"
	mustContain(t, "English access page", body, today, before)
	if n := strings.Count(body, "saw your name in the inbox list"); n != 2 {
		t.Errorf("English: %d inbox lines, want 2 (one per day)", n)
	}
	if strings.Index(body, today) > strings.Index(body, before) {
		t.Error("English: the newest line is not first")
	}
	mustNotContain(t, "English access page", body, "Maria Front", "Lucía")
	body = es.get("/me/access").body
	mustContain(t, "Spanish access page", body, "<strong>Maria, recepción</strong> vio su nombre en la lista de la bandeja de entrada hoy",
		"<strong>Maria, recepción</strong> vio su nombre en la lista de la bandeja de entrada 3 veces ayer", "Quién vio mi expediente")

	// Two days on, the days are named.
	e.clock.Set(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC))
	body = en.get("/me/access").body
	later := "<strong>Maria, front desk</strong> saw your name in the inbox list on Wednesday, November 25"
	before = "<strong>Maria, front desk</strong> saw your name in the inbox list 3 times on Tuesday, November 24"
	mustContain(t, "English access page", body, later, before)
	if strings.Index(body, later) > strings.Index(body, before) {
		t.Error("English: the newest line is not first")
	}
	body = es.get("/me/access").body
	hoy := "<strong>Maria, recepción</strong> vio su nombre en la lista de la bandeja de entrada el miércoles 25 de noviembre"
	antes := "<strong>Maria, recepción</strong> vio su nombre en la lista de la bandeja de entrada 3 veces el martes 24 de noviembre"
	mustContain(t, "Spanish access page", body, hoy, antes)
	if n := strings.Count(body, "vio su nombre en la lista de la bandeja de entrada"); n != 2 {
		t.Errorf("Spanish: %d inbox lines, want 2", n)
	}
	if strings.Index(body, hoy) > strings.Index(body, antes) {
		t.Error("Spanish: the newest line is not first")
	}
	mustNotContain(t, "Spanish access page", body, "Rosa")
}

// auditAnswer is GET /api/v1/audit's answer, as the console reads it.
type auditAnswer struct {
	Events []struct {
		Seq          uint64   `json:"seq"`
		Action       string   `json:"action"`
		ActionWords  string   `json:"action_words"`
		ActorName    string   `json:"actor_name"`
		Patient      string   `json:"patient"`
		Patients     []string `json:"patients"`
		PatientNames []struct {
			ID, Name string
		} `json:"patient_names"`
	} `json:"events"`
}

// TestOwnerAuditFilters (issue 14 item 19): the owner's audit screen names
// staff and patients, words the actions, lists every action for its picker,
// filters by a patient (finding the list views that showed them) and by an
// action and day, records that the owner looked, and still exports.
func TestOwnerAuditFilters(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	rosa, rosaID := e.patient(owner, "Rosa Delgado", "1961-03-14")
	lucia, luciaID := e.patient(owner, "Lucía Ramos", "1975-08-02")
	for _, u := range []*user{rosa, lucia} {
		if _, r := u.send("message", url.Values{"body": {"A question"}}); r.code >= 400 {
			t.Fatalf("send: %d", r.code)
		}
	}
	e.addStaff(owner, "Maria Front", "maria@maple.test", "frontdesk")
	inboxRefreshes(t, e)
	owner = e.owner()
	if r := e.login("maria@maple.test", "Staff-Password-frontdesk").req("GET", "/api/v1/audit", nil); r.code != 403 {
		t.Fatalf("the front desk read the audit log: %d", r.code)
	}

	var all auditAnswer
	owner.req("GET", "/api/v1/audit?action=item.list", nil).json(t, &all)
	if len(all.Events) != 4 {
		t.Fatalf("4 refreshes of 2 patients: %d list events, want 4", len(all.Events))
	}
	for _, ev := range all.Events {
		names := []string{}
		for _, p := range ev.PatientNames {
			names = append(names, p.Name)
		}
		slices.Sort(names)
		if ev.ActorName != "Maria Front" || ev.ActionWords != "Saw names in the inbox list" || strings.Join(names, ", ") != "Lucía Ramos, Rosa Delgado" {
			t.Fatalf("list event: %+v", ev)
		}
	}
	// The action picker's list (GET /api/v1/meta): every action, in words.
	var meta struct {
		AuditActions []struct{ Action, Words string } `json:"audit_actions"`
	}
	owner.req("GET", "/api/v1/meta", nil).json(t, &meta)
	if len(meta.AuditActions) != len(clinic.AuditActions) || meta.AuditActions[0].Action != clinic.AuditActions[0] {
		t.Fatalf("%d actions offered, want %d", len(meta.AuditActions), len(clinic.AuditActions))
	}
	for _, a := range meta.AuditActions {
		if a.Words == "" || a.Words == a.Action {
			t.Errorf("action %s has no words", a.Action)
		}
	}

	// The patient filter finds the list views that showed Rosa, and her
	// own events, and none about Lucía alone.
	if r := owner.req("GET", "/api/v1/patients/"+luciaID, nil); r.code != 200 {
		t.Fatal(r.code)
	}
	var mine auditAnswer
	owner.req("GET", "/api/v1/audit?order=desc&patient="+rosaID, nil).json(t, &mine)
	lists := 0
	for _, ev := range mine.Events {
		if ev.Patient != rosaID && !slices.Contains(ev.Patients, rosaID) {
			t.Errorf("an event not about Rosa: %+v", ev)
		}
		if ev.Action == "item.list" {
			lists++
		}
	}
	if lists != 4 {
		t.Errorf("Rosa's filter shows %d of the 4 list views", lists)
	}
	// Action and days together: the evening refresh counts on the 24th.
	var day auditAnswer
	owner.req("GET", "/api/v1/audit?action=item.list&from=2026-11-24&to=2026-11-24&patient="+luciaID, nil).json(t, &day)
	if len(day.Events) != 3 {
		t.Errorf("list views on the 24th that showed Lucía: %d, want 3", len(day.Events))
	}

	// Looking is recorded: one event per page shown, naming the patients it named.
	var reads auditAnswer
	owner.req("GET", "/api/v1/audit?action=audit.read&order=desc&limit=50", nil).json(t, &reads)
	if len(reads.Events) != 3 {
		t.Fatalf("the owner's three looks were not recorded: %+v", reads.Events)
	}
	// The newest (this page is recorded after it is read) is the day filter's page, which named Lucía and Rosa.
	last := reads.Events[0]
	if !slices.Contains(last.Patients, luciaID) || !slices.Contains(last.Patients, rosaID) || last.ActorName != "Olive Owner" {
		t.Errorf("the look at the day's page: %+v", last)
	}

	// A page whose look cannot be recorded is not shown.
	e.faults.failAudit.Store(true)
	if r := owner.req("GET", "/api/v1/audit?action=item.list", nil); r.code != 500 || strings.Contains(r.body, "Rosa") {
		t.Errorf("the audit screen without its own event: %d %.200s", r.code, r.body)
	}
	e.faults.failAudit.Store(false)

	// The export still works, and names every patient a list view showed.
	r := owner.req("GET", "/api/v1/audit?format=csv&action=item.list", nil)
	if r.code != 200 || !strings.HasPrefix(r.h.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", r.code, r.h.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][6] != "patient_id" {
		t.Fatalf("export rows: %v %v", rows, err)
	}
	for _, row := range rows[1:] {
		ids := strings.Fields(row[6])
		if row[4] != "item.list" || len(ids) != 2 || !slices.Contains(ids, rosaID) || !slices.Contains(ids, luciaID) {
			t.Errorf("export row: %v", row)
		}
	}
}
