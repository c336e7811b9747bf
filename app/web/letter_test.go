package web

import (
	"net/url"
	"strings"
	"testing"
)

// TestInviteLetterAPI: a printed letter is refused, with where to set it,
// until the owner has set the address patients use (no invite is made);
// then the letter comes back in the patient's language with the clinic's
// emergency number and that address. An invite made without asking for a
// letter (scripts, an emailed link) works as before.
func TestInviteLetterAPI(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	r := owner.req("POST", "/api/v1/patients", map[string]string{"name": "Lucía Ramos", "dob": "1962-04-09", "phone": "555-201-3344", "lang": "es"})
	if r.code != 201 {
		t.Fatalf("add patient: %d %s", r.code, r.body)
	}
	var pat struct{ ID string }
	r.json(t, &pat)
	invites := func() int { return strings.Count(owner.req("GET", "/api/v1/audit", nil).body, `"invite.create"`) }

	r = owner.req("POST", "/api/v1/patients/"+pat.ID+"/invites", map[string]any{"letter": true})
	var refused struct{ Code, Field, Error string }
	r.json(t, &refused)
	if r.code != 409 || refused.Code != "conflict" || refused.Field != "public_url" ||
		!strings.Contains(refused.Error, "Settings → Clinic → “Address patients use”") {
		t.Fatalf("letter without a public address: %d %s", r.code, r.body)
	}
	if n := invites(); n != 0 {
		t.Fatalf("a refused letter made %d invites", n)
	}
	if r := owner.req("POST", "/api/v1/patients/"+pat.ID+"/invites", nil); r.code != 201 {
		t.Fatalf("an invite without a letter: %d %s", r.code, r.body)
	}
	if n := invites(); n != 1 {
		t.Fatalf("an invite without a letter made %d invites", n)
	}

	if r := owner.req("PUT", "/api/v1/settings", map[string]any{"public_url": "https://portal.maple.example/", "emergency_number": "112"}); r.code != 200 {
		t.Fatalf("settings: %d %s", r.code, r.body)
	}
	r = owner.req("POST", "/api/v1/patients/"+pat.ID+"/invites", map[string]any{"letter": true})
	if r.code != 201 {
		t.Fatalf("letter: %d %s", r.code, r.body)
	}
	var out struct {
		Code   string
		URL    string
		Letter map[string]string
	}
	r.json(t, &out)
	l := out.Letter
	if out.URL != "https://portal.maple.example/i/"+out.Code || l["url"] != out.URL || l["lang"] != "es" ||
		l["code"] != out.Code[:4]+"-"+out.Code[4:] || l["to"] != "Para Lucía Ramos" ||
		l["title"] != "Escriba a Maple Street Family Clinic desde su teléfono" ||
		l["emergency"] != "Los mensajes se leen en horario de atención. En una emergencia, no escriba: llame al 112." {
		t.Fatalf("Spanish letter: %s", r.body)
	}
	if strings.Contains(r.body, "127.0.0.1") || strings.Contains(r.body, "emergency number") {
		t.Fatalf("the letter has the computer's address or no number: %s", r.body)
	}
}

// TestTemplatesAPIHaveLanguages: the templates answer carries each text by
// language and the languages the editor offers; inserting a template into
// a Spanish speaker's request gives the Spanish text.
func TestTemplatesAPIHaveLanguages(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	r := owner.req("GET", "/api/v1/templates", nil)
	var out struct {
		Templates []struct {
			ID, Body string
			Texts    map[string]string
		}
		Langs []struct{ Code, Name string }
	}
	r.json(t, &out)
	if r.code != 200 || len(out.Langs) != 2 || out.Langs[0].Code != "en" || out.Langs[1].Code != "es" || out.Langs[1].Name != "Español" ||
		len(out.Templates) == 0 || out.Templates[0].Texts["es"] == "" {
		t.Fatalf("templates: %d %s", r.code, r.body)
	}
	r = owner.req("POST", "/api/v1/patients", map[string]string{"name": "Lucía Ramos", "dob": "1962-04-09", "phone": "555-201-3344", "lang": "es"})
	var pat struct{ ID string }
	r.json(t, &pat)
	u := e.signIn(owner, pat.ID, "1962-04-09", "")
	item, _ := u.send("message", url.Values{"body": {"¿Me pueden llamar?"}})
	r = owner.req("GET", "/api/v1/items/"+item+"/templates/call-us", nil)
	var body struct{ Body string }
	r.json(t, &body)
	if r.code != 200 || !strings.HasPrefix(body.Body, "Hola Lucía, llámenos al ") {
		t.Fatalf("Spanish template: %d %s", r.code, r.body)
	}
}
