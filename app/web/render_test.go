package web

import (
	"context"
	"net/url"
	"testing"

	"hearth/app/clinic"
)

// TestPatientPagesKeptPartsFollowChanges: the parts of the patient pages
// drawn once and kept (the frame, emergency lines, empty fields, the
// acknowledgement; fragments in pages.go) are drawn anew when a setting or
// the language they show changes, and a field that carries one patient's
// data is never shown to another.
func TestPatientPagesKeptPartsFollowChanges(t *testing.T) {
	e := newEnv(t)
	e.setPhone()
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	page := u.get("/new?type=message").body
	mustContain(t, "compose", page, "Maple Street Family Clinic", `href="tel:5552010000"`, "(555) 201-0000", `href="tel:911"`, "call 911", "If this is an emergency,")
	_, ack := u.send("message", url.Values{"body": {"Is the flu shot available this week?"}})
	mustContain(t, "acknowledgement", ack.body, "A person at Maple Street Family Clinic will answer by", "(555) 201-0000")

	ctx := context.Background()
	st, err := e.c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.ClinicName, st.Phone, st.EmergencyNumber = "Birch Road Clinic", "(555) 777-1212", "112"
	if err := e.c.SaveSettings(ctx, clinic.System, st); err != nil {
		t.Fatal(err)
	}
	page = u.get("/new?type=message").body
	mustContain(t, "compose after the settings changed", page, "Birch Road Clinic", `href="tel:5557771212"`, "(555) 777-1212", `href="tel:112"`, "call 112")
	mustNotContain(t, "compose after the settings changed", page, "Maple Street", "201-0000", "tel:911", "call 911")
	_, ack = u.send("message", url.Values{"body": {"And the pneumonia shot?"}})
	mustContain(t, "acknowledgement after the settings changed", ack.body, "A person at Birch Road Clinic will answer by", "(555) 777-1212", `href="tel:112"`)
	mustNotContain(t, "acknowledgement after the settings changed", ack.body, "Maple Street", "201-0000", "tel:911")

	// The same parts in the other language, from the same server.
	es := u.get("/new?type=message&lang=es").body
	mustContain(t, "compose in Spanish", es, `<html lang="es">`, "Si es una emergencia,", "llame al 112", "Birch Road Clinic")
	mustNotContain(t, "compose in Spanish", es, "If this is an emergency,", "call 112")
	mustNotContain(t, "compose in English again", u.get("/new?type=message&lang=en").body, "Si es una emergencia,")

	// The call-back form carries each patient's own number.
	id, _ := u.send("message", url.Values{"body": {"One more question"}})
	mustContain(t, "Rosa's thread", u.get("/t/"+id).body, `value="555-201-3344"`)
	r := owner.req("POST", "/api/v1/patients", map[string]any{"name": "Ben Other", "dob": "1970-05-06", "phone": "555-909-8080", "lang": "en"})
	var p struct{ ID string }
	r.json(t, &p)
	b := e.signIn(owner, p.ID, "1970-05-06", "")
	bid, _ := b.send("message", url.Values{"body": {"My question"}})
	th := b.get("/t/" + bid).body
	mustContain(t, "Ben's thread", th, `value="555-909-8080"`)
	mustNotContain(t, "Ben's thread", th, `value="555-201-3344"`) // the hint's example is that number too
}
