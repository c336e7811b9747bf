package clinic

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestInviteLetterSpeaksThePatientsLanguage: the printed letter's words
// come from the catalogue in the patient's language, with the clinic's own
// emergency number and the code in groups of four; a caregiver's letter
// names both people.
func TestInviteLetterSpeaksThePatientsLanguage(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	st, err := ic.c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.EmergencyNumber = "112"
	if err := ic.c.SaveSettings(ctx, System, st); err != nil {
		t.Fatal(err)
	}
	es, err := ic.c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Lucía Ramos", DOB: "1962-04-09", Lang: "es"})
	if err != nil {
		t.Fatal(err)
	}
	link := "https://portal.maple.example/i/ABCDEFGH"
	inv, code, err := ic.c.CreateInvite(ctx, ic.front, es.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := ic.c.InviteLetter(ctx, ic.front, inv, code, link)
	if err != nil {
		t.Fatal(err)
	}
	if l.Lang != "es" || l.To != "Para Lucía Ramos" || !strings.HasPrefix(l.Title, "Escriba a ") || l.URL != link ||
		l.Code != code[:4]+"-"+code[4:] || !strings.Contains(l.Emergency, "llame al 112.") ||
		!strings.Contains(l.Private, "vence el ") || !strings.Contains(l.StepDOB, "fecha de nacimiento") || l.Label != "Carta de invitación" {
		t.Fatalf("Spanish letter: %+v", l)
	}
	for _, s := range []string{l.Lead, l.StepScan, l.StepType, l.StepCode, l.Private, l.Emergency, l.QRAlt} {
		if s == "" || strings.Contains(s, "invite_letter.") || strings.Contains(s, "{") {
			t.Fatalf("Spanish letter has an unfilled text: %q", s)
		}
	}
	// The same letter for an English-speaking patient, and a caregiver's.
	inv, code, err = ic.c.CreateInvite(ctx, ic.front, ic.patA.Patient, "Ben Example")
	if err != nil {
		t.Fatal(err)
	}
	l, err = ic.c.InviteLetter(ctx, ic.front, inv, code, link)
	if err != nil {
		t.Fatal(err)
	}
	if l.Lang != "en" || l.To != "For Ben Example, caregiver of Ada Example" || !strings.Contains(l.Title, "on Ada\u2019s behalf") ||
		l.Emergency != "Messages are read during office hours. In an emergency, do not write: call 112." ||
		!strings.Contains(l.Private, "it opens Ada\u2019s messages") || strings.Contains(l.Emergency, "your emergency number") {
		t.Fatalf("English caregiver letter: %+v", l)
	}
	// Only staff write letters.
	if _, err := ic.c.InviteLetter(ctx, ic.patA, inv, code, link); err != ErrForbidden {
		t.Fatalf("a patient wrote a letter: %v", err)
	}
}

// TestTemplatesInThePatientsLanguage: a reply template has an English and
// a Spanish text; inserting it uses the patient's language (dates too), an
// owner's own template without a Spanish text falls back to English, and a
// default saved before templates had languages still gets its Spanish.
func TestTemplatesInThePatientsLanguage(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	for _, d := range DefaultTemplates() {
		if strings.TrimSpace(d.Texts["es"]) == "" || strings.Count(d.Texts["es"], "{") != strings.Count(d.Body, "{") {
			t.Errorf("default template %s has no Spanish text with the same placeholders: %q", d.ID, d.Texts["es"])
		}
	}
	es, err := ic.c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Lucía Ramos", DOB: "1962-04-09", Lang: "es"})
	if err != nil {
		t.Fatal(err)
	}
	esPat := Actor{Kind: ActorPatient, ID: es.ID, Patient: es.ID}
	ack, err := ic.c.CreateItem(ctx, esPat, NewItem{Type: TypeMessage, Body: "¿Cuándo es mi próxima cita?"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := ic.c.RenderTemplate(ctx, ic.front, "next-day", ack.Item.ID)
	if err != nil || !strings.HasPrefix(body, "Hola Lucía,") || !strings.Contains(body, "a más tardar el martes 24 de noviembre") || !strings.Contains(body, "— Maria") {
		t.Fatalf("Spanish template: %q %v", body, err)
	}
	enAck, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "When is my next visit?"})
	if err != nil {
		t.Fatal(err)
	}
	body, err = ic.c.RenderTemplate(ctx, ic.front, "next-day", enAck.Item.ID)
	if err != nil || body != "Hi Ada, thank you for your message. We will follow up by Tuesday, November 24. — Maria" {
		t.Fatalf("English template: %q %v", body, err)
	}

	// Templates saved as before (no texts): the unchanged default keeps its
	// Spanish; the owner's own has only English, which Spanish speakers get.
	st, err := ic.c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	callUs := DefaultTemplates()[1]
	callUs.Texts = nil
	st.Templates = []Template{callUs, {ID: "flu", Name: "Flu shots", Body: "Hi {patient_first_name}, flu shots are in."}}
	if err := ic.c.SaveSettings(ctx, System, st); err != nil {
		t.Fatal(err)
	}
	if body, err := ic.c.RenderTemplate(ctx, ic.front, "call-us", ack.Item.ID); err != nil || !strings.HasPrefix(body, "Hola Lucía, llámenos al ") {
		t.Fatalf("saved default in Spanish: %q %v", body, err)
	}
	if body, err := ic.c.RenderTemplate(ctx, ic.front, "flu", ack.Item.ID); err != nil || body != "Hi Lucía, flu shots are in." {
		t.Fatalf("English-only template for a Spanish speaker: %q %v", body, err)
	}
	// The owner writes the Spanish text; a text in an unknown tag or in
	// "en" is refused.
	st.Templates[1].Texts = map[string]string{"es": "Hola {patient_first_name}, ya llegaron las vacunas contra la gripe."}
	if err := ic.c.SaveSettings(ctx, System, st); err != nil {
		t.Fatal(err)
	}
	if body, err := ic.c.RenderTemplate(ctx, ic.front, "flu", ack.Item.ID); err != nil || body != "Hola Lucía, ya llegaron las vacunas contra la gripe." {
		t.Fatalf("owner's Spanish text: %q %v", body, err)
	}
	for _, bad := range []map[string]string{{"en": "Hi"}, {"Spanish": "Hola"}, {"es": strings.Repeat("x", templateMaxLen+1)}} {
		st.Templates[1].Texts = bad
		var in *InputError
		if err := ic.c.SaveSettings(ctx, System, st); !errors.As(err, &in) || in.Field != "templates" {
			t.Errorf("texts %v saved: %v", bad, err)
		}
	}
}
