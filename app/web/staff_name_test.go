package web

import (
	"net/url"
	"strings"
	"testing"
)

// TestStaffSignWithDisplayName (issue 14 item 7): a reply, the "seen by"
// status and a template signature by "Dr. Raj Patel" say "Dr. Patel" to
// the patient, never "Dr.,"; the owner sets another name patients see with
// PATCH /api/v1/staff/{id}; "Maria Lopez" still signs "Maria".
func TestStaffSignWithDisplayName(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	raj := e.addStaff(owner, "Dr. Raj Patel", "raj@maple.test", "clinician")
	maria := e.addStaff(owner, "Maria Lopez", "maria@maple.test", "frontdesk")
	p, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	id, _ := p.send("message", url.Values{"body": {"Is my lab result back?"}})

	if r := raj.req("GET", "/api/v1/items/"+id, nil); r.code != 200 {
		t.Fatalf("open item: %d %s", r.code, r.body)
	}
	me := p.get("/me").body
	mustContain(t, "/me seen by", me, "Seen by Dr. Patel (")
	mustNotContain(t, "/me seen by", me, "Dr. (", "Dr.,")

	var tpl struct{ Body string }
	r := raj.req("GET", "/api/v1/items/"+id+"/templates/call-us", nil)
	r.json(t, &tpl)
	if r.code != 200 || !strings.HasSuffix(tpl.Body, "— Dr. Patel") {
		t.Fatalf("template signature: %d %s", r.code, r.body)
	}
	if r := raj.req("POST", "/api/v1/items/"+id+"/messages", map[string]any{"body": tpl.Body}); r.code != 201 {
		t.Fatalf("reply: %d %s", r.code, r.body)
	}
	th := p.get("/t/" + id).body
	mustContain(t, "thread", th, "Dr. Patel, ", "— Dr. Patel")
	mustNotContain(t, "thread", th, "Dr.,", "— Dr.<", "— Dr.\n")
	mustNotContain(t, "/me after reply", p.get("/me").body, "Dr.,", "Dr. (")

	// Colleagues without a title still sign with their first name.
	if r := maria.req("POST", "/api/v1/items/"+id+"/messages", map[string]any{"body": "We will call you today."}); r.code != 201 {
		t.Fatalf("Maria's reply: %d %s", r.code, r.body)
	}
	mustContain(t, "Maria's reply", p.get("/t/"+id).body, "Maria, ")
	mustNotContain(t, "Maria's reply", p.get("/t/"+id).body, "Maria Lopez")

	// The owner sets the name patients see; it is validated and clearable.
	var st struct {
		DisplayName string `json:"display_name"`
		SignsAs     string `json:"signs_as"`
	}
	r = owner.req("PATCH", "/api/v1/staff/"+raj.id, map[string]any{"display_name": "Dr. Raj"})
	r.json(t, &st)
	if r.code != 200 || st.DisplayName != "Dr. Raj" || st.SignsAs != "Dr. Raj" {
		t.Fatalf("PATCH display_name: %d %s", r.code, r.body)
	}
	if r := owner.req("PATCH", "/api/v1/staff/"+raj.id, map[string]any{"display_name": strings.Repeat("x", 61)}); r.code != 400 || !strings.Contains(r.body, "display_name") {
		t.Fatalf("61 characters: %d %s", r.code, r.body)
	}
	if r := raj.req("PATCH", "/api/v1/staff/"+raj.id, map[string]any{"display_name": "Raj the Great"}); r.code != 403 {
		t.Fatalf("a clinician set their own display name: %d", r.code)
	}
	r = owner.req("GET", "/api/v1/staff", nil)
	mustContain(t, "staff list", r.body, `"display_name":"Dr. Raj"`, `"signs_as":"Dr. Raj"`, `"signs_as":"Maria"`)
	r = raj.req("GET", "/api/v1/items/"+id+"/templates/booked", nil)
	r.json(t, &tpl)
	if r.code != 200 || !strings.HasSuffix(tpl.Body, "— Dr. Raj") {
		t.Fatalf("template after PATCH: %d %s", r.code, r.body)
	}
	if r := raj.req("POST", "/api/v1/items/"+id+"/messages", map[string]any{"body": "Your result is normal."}); r.code != 201 {
		t.Fatalf("reply: %d %s", r.code, r.body)
	}
	mustContain(t, "thread after PATCH", p.get("/t/"+id).body, "Dr. Raj, ")
}
