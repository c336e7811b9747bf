package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type apiErrBody struct {
	Code     string   `json:"code"`
	Field    string   `json:"field"`
	Error    string   `json:"error"`
	Existing []string `json:"existing"`
	Fields   []struct {
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"fields"`
}

// TestPatientEditAPI: PATCH /api/v1/patients/{id} over the real server.
// Any staff member corrects a record; every bad field is named at once; a
// mistyped birth date that kept a patient out of their invite no longer
// does once corrected; CSRF is checked.
func TestPatientEditAPI(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	id := e.addPatient(owner, "Rosa Delgado", "1961-04-13") // really 03/14/1961
	code := e.invite(owner, id, "")
	u := e.anon()
	if r := u.form("/i/"+code, "/i/"+code, url.Values{"dob": {"03/14/1961"}}); r.code != http.StatusBadRequest {
		t.Fatalf("the right birth date against the mistyped record: %d", r.code)
	}

	path := "/api/v1/patients/" + id
	r := fran.req("PATCH", path, map[string]any{"name": "", "dob": "14/03/1961", "email": "rosa at example"})
	var bad apiErrBody
	r.json(t, &bad)
	var fields []string
	for _, f := range bad.Fields {
		fields = append(fields, f.Field)
	}
	if r.code != 400 || bad.Code != "invalid" || bad.Field != "name" || !slices.Equal(fields, []string{"name", "dob", "email"}) {
		t.Fatalf("a bad correction: %d %s", r.code, r.body)
	}
	if strings.Contains(r.body, "rosa at example") {
		t.Fatal("the error echoes what was typed")
	}
	if r := fran.req("PATCH", path, map[string]any{"dob": "03/14/1961", "nickname": "Ro"}); r.code != 400 {
		t.Fatalf("an unknown field: %d %s", r.code, r.body)
	}

	r = fran.req("PATCH", path, map[string]any{"dob": "03/14/1961", "email": "rosa@example.com"})
	var ok struct {
		Patient struct{ ID, Name, DOB, Email string }
		Changed []string
	}
	r.json(t, &ok)
	if r.code != 200 || ok.Patient.DOB != "1961-03-14" || ok.Patient.Name != "Rosa Delgado" || !slices.Equal(ok.Changed, []string{"dob", "email"}) {
		t.Fatalf("the correction: %d %s", r.code, r.body)
	}
	location(t, u.form("/i/"+code, "/i/"+code, url.Values{"dob": {"03/14/1961"}}), "/me")

	// The search finds the corrected birth date, not the old one.
	var found struct{ Patients []struct{ ID string } }
	fran.req("GET", "/api/v1/patients?q="+url.QueryEscape("03/14/1961"), nil).json(t, &found)
	if len(found.Patients) != 1 || found.Patients[0].ID != id {
		t.Fatalf("search by the corrected birth date: %+v", found)
	}
	fran.req("GET", "/api/v1/patients?q="+url.QueryEscape("04/13/1961"), nil).json(t, &found)
	if len(found.Patients) != 0 {
		t.Fatalf("search by the old birth date: %+v", found)
	}

	if r := fran.req("PATCH", "/api/v1/patients/0190c0de-0000-7000-8000-000000000000", map[string]any{"name": "Nobody Here"}); r.code != 404 {
		t.Fatalf("an unknown record: %d", r.code)
	}
	token := fran.csrf
	fran.csrf = ""
	if r := fran.req("PATCH", path, map[string]any{"name": "Eve Attacker"}); r.code != 403 || !strings.Contains(r.body, `"csrf"`) {
		t.Fatalf("without the CSRF token: %d %s", r.code, r.body)
	}
	fran.csrf = token
	if r := e.anon().req("PATCH", path, map[string]any{"name": "Eve Attacker"}); r.code != 401 {
		t.Fatalf("signed out: %d", r.code)
	}
	// The patient's own access page says the record was corrected.
	me := u.get("/me/access")
	mustContain(t, "access page", me.body, "corrected your record")
}

// TestPatientCreateDuplicateAPI: the same name and birth date again is a
// 409 naming the existing record; confirm_duplicate creates it.
func TestPatientCreateDuplicateAPI(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	first := e.addPatient(owner, "Rosa Delgado", "1961-03-14")
	body := map[string]any{"name": "rosa  delgado", "dob": "03/14/1961", "lang": "es"}
	r := fran.req("POST", "/api/v1/patients", body)
	var dup apiErrBody
	r.json(t, &dup)
	if r.code != 409 || dup.Code != "duplicate" || !slices.Equal(dup.Existing, []string{first}) || dup.Error == "" {
		t.Fatalf("a duplicate: %d %s", r.code, r.body)
	}
	body["confirm_duplicate"] = true
	if r := fran.req("POST", "/api/v1/patients", body); r.code != 201 {
		t.Fatalf("a confirmed duplicate: %d %s", r.code, r.body)
	}
	delete(body, "confirm_duplicate")
	r = fran.req("POST", "/api/v1/patients", body)
	r.json(t, &dup)
	if r.code != 409 || len(dup.Existing) != 2 {
		t.Fatalf("a third: %d %s", r.code, r.body)
	}
}

// TestPatientMergeAPI: owners only, a reason, and afterwards the merged
// record answers 404 while its patient's device speaks for the survivor.
func TestPatientMergeAPI(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	carl := e.addStaff(owner, "Carl Clinician", "carl@maple.test", "clinician")
	keep := e.addPatient(owner, "Rosa Delgado", "1961-03-14")
	dup := e.addPatient(owner, "Rosa Delgado", "1961-03-14")
	e.patientItem(t, dup, "My blood pressure readings")
	pat := e.signIn(owner, dup, "1961-03-14", "")
	path := "/api/v1/patients/" + keep + "/merge"

	for who, u := range map[string]*user{"front desk": fran, "clinician": carl} {
		if r := u.req("POST", path, map[string]any{"from": dup, "reason": "Same person"}); r.code != 403 {
			t.Errorf("%s merging: %d %s", who, r.code, r.body)
		}
	}
	r := owner.req("POST", path, map[string]any{"from": dup, "reason": ""})
	var bad apiErrBody
	r.json(t, &bad)
	if r.code != 400 || bad.Field != "reason" {
		t.Fatalf("no reason: %d %s", r.code, r.body)
	}
	token := owner.csrf
	owner.csrf = ""
	if r := owner.req("POST", path, map[string]any{"from": dup, "reason": "Same person, registered twice"}); r.code != 403 {
		t.Fatalf("without the CSRF token: %d", r.code)
	}
	owner.csrf = token
	if r := owner.req("GET", "/api/v1/patients/"+dup, nil); r.code != 200 {
		t.Fatalf("a refused merge removed the record: %d", r.code)
	}

	r = owner.req("POST", path, map[string]any{"from": dup, "reason": "Same person, registered twice"})
	var res struct {
		ID    string
		Moved struct{ Items, Devices int }
	}
	r.json(t, &res)
	if r.code != 200 || res.ID != keep || res.Moved.Items != 1 || res.Moved.Devices != 1 {
		t.Fatalf("the merge: %d %s", r.code, r.body)
	}
	for _, p := range []string{"/api/v1/patients/" + dup, "/api/v1/patients/" + dup + "/items", "/api/v1/patients/" + dup + "/devices"} {
		r := owner.req("GET", p, nil)
		if p == "/api/v1/patients/"+dup && r.code != 404 {
			t.Errorf("GET %s after the merge: %d", p, r.code)
		}
		if r.code == 200 && (strings.Contains(r.body, `"id"`) && !strings.Contains(r.body, `[]`)) {
			t.Errorf("GET %s still lists things: %s", p, r.body)
		}
	}
	if r := owner.req("PATCH", "/api/v1/patients/"+dup, map[string]any{"name": "Rosa D"}); r.code != 404 {
		t.Errorf("PATCH the merged record: %d", r.code)
	}
	var got struct {
		Counts struct{ Items, Appointments int }
	}
	owner.req("GET", "/api/v1/patients/"+keep, nil).json(t, &got)
	if got.Counts.Items != 1 {
		t.Fatalf("the survivor's counts: %+v", got)
	}
	// The merged record's patient, on their device, now sees the survivor's
	// record, with the moved request.
	me := pat.get("/me")
	if me.code != 200 {
		t.Fatalf("the merged patient's device: %d", me.code)
	}
	mustContain(t, "the merged patient's home", me.body, "My blood pressure readings")
}
