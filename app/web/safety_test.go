package web

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/app/clinic"
)

// Safety and honesty on the patient pages: a closed clinic never promises an
// answer before it opens, self-harm wording shows the crisis line, and a
// call nobody answered is never "Answered".

// sundayNight is 1:40 am on Sunday, November 29, 2026 in New York: the
// clinic (Monday to Friday, 9 to 5) is closed and opens Monday at 9 am.
var sundayNight = time.Date(2026, 11, 29, 6, 40, 0, 0, time.UTC)

// setSettings changes the clinic's settings as the owner would.
func (e *env) setSettings(change func(*clinic.Settings)) {
	e.t.Helper()
	ctx := context.Background()
	st, err := e.c.Settings(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	change(&st)
	if err := e.c.SaveSettings(ctx, clinic.System, st); err != nil {
		e.t.Fatal(err)
	}
}

// spanishPatient adds a patient whose record says Spanish and signs them in.
func (e *env) spanishPatient(owner *user, name, dob string) *user {
	e.t.Helper()
	r := owner.req("POST", "/api/v1/patients", map[string]string{"name": name, "dob": dob, "phone": "555-201-7777", "lang": "es"})
	if r.code != 201 {
		e.t.Fatalf("add patient: %d %s", r.code, r.body)
	}
	var p struct{ ID string }
	r.json(e.t, &p)
	return e.signIn(owner, p.ID, dob, "")
}

// closedAck checks an acknowledgement sent while the clinic is closed: the
// closed notice and the next opening, who reads it when, the after-hours
// line, the emergency number, no promise of an earlier answer and, for
// urgent wording, the emergency guidance before all of it.
func closedAck(t *testing.T, what, body string, urgent bool, words map[string]string) {
	t.Helper()
	mustContain(t, what, body, words["closed"], words["read"], words["line"], `href="tel:5552019999"`, `href="tel:911"`)
	mustNotContain(t, what, body, words["promise"], "2:40", "3:40")
	closed := strings.Index(body, words["closed"])
	if urgent {
		box := strings.Index(body, `<div class="urgent" role="alert">`)
		if box < 0 || closed < 0 || box > closed {
			t.Errorf("%s: the emergency guidance is not first (box at %d, closed notice at %d)", what, box, closed)
		}
		mustContain(t, what, body, words["urgent"])
	} else {
		mustNotContain(t, what, body, `<div class="urgent"`)
	}
}

var closedWords = map[string]map[string]string{
	"en": {
		"closed":  "We&#39;re closed now. We open 9\u00a0am tomorrow.",
		"read":    "A person at Maple Street Family Clinic will read your message when we open.",
		"line":    "call our after-hours line:",
		"promise": "will answer by",
		"urgent":  "call 911 now",
	},
	"es": {
		"closed":  "Ahora estamos cerrados. Abrimos mañana a las 9\u00a0a.\u00a0m.",
		"read":    "Una persona de Maple Street Family Clinic leerá su mensaje cuando abramos.",
		"line":    "llame a nuestra línea fuera de horario:",
		"promise": "a más tardar",
		"urgent":  "llame al 911 ahora",
	},
}

// TestAckClosedAtNight: at 1:40 am on a Sunday, urgent or not, signed in or
// not, in English and Spanish, the acknowledgement says the clinic is
// closed, when it opens and a person reads the message, and gives the
// after-hours line; urgent wording gets the emergency guidance first and
// never "a person will answer by 2:40 am".
func TestAckClosedAtNight(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	e.setSettings(func(s *clinic.Settings) { s.AfterHoursPhone = "(555) 201-9999" })
	en, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	es := e.spanishPatient(owner, "Jorge Ruiz", "1950-07-04")
	e.clock.Set(sundayNight)

	sends := []struct {
		lang, body string
		u          *user
		urgent     bool
	}{
		{"en", "I have chest pain and can't breathe", en, true},
		{"en", "Question about my lab results", en, false},
		{"es", "Tengo dolor de pecho y no puedo respirar", es, true},
		{"es", "Una pregunta sobre mis análisis", es, false},
	}
	for _, s := range sends {
		id, ack := s.u.send("message", url.Values{"body": {s.body}})
		closedAck(t, s.lang+" ack: "+s.body, ack.body, s.urgent, closedWords[s.lang])
		// Staff still have the hour for urgent wording.
		var item struct {
			Item clinic.Item `json:"item"`
		}
		e.owner().req("GET", "/api/v1/items/"+id, nil).json(t, &item)
		if s.urgent && (item.Item.Priority != clinic.PriorityUrgent || !item.Item.Due.Equal(sundayNight.Add(time.Hour))) {
			t.Errorf("%s: staff due %v priority %s, want urgent within the hour", s.body, item.Item.Due, item.Item.Priority)
		}
	}

	// The no-account form says the same.
	for _, s := range sends {
		v := e.anon()
		page := "/contact?type=message&lang=" + s.lang
		r := v.form(page, "/contact", url.Values{"name": {"Ana Torres"}, "dob_month": {"5"}, "dob_day": {"2"}, "dob_year": {"1980"},
			"phone": {"555-201-4455"}, "email": {""}, "body": {s.body}})
		if r.code != 200 {
			t.Fatalf("POST /contact (%s): %d\n%.800s", s.lang, r.code, r.body)
		}
		closedAck(t, s.lang+" contact ack: "+s.body, r.body, s.urgent, closedWords[s.lang])
	}

	// Without an after-hours line there is none to show; the emergency
	// number still is.
	e.setSettings(func(s *clinic.Settings) { s.AfterHoursPhone = "" })
	_, ack := en.send("message", url.Values{"body": {"Another question"}})
	mustContain(t, "no line", ack.body, closedWords["en"]["closed"], `href="tel:911"`)
	mustNotContain(t, "no line", ack.body, "after-hours line", "will answer by")

	// Open again on Monday at 10 am: the promise is back, and an urgent
	// one is an hour away.
	e.clock.Set(time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC))
	_, ack = en.send("message", url.Values{"body": {"I have crushing chest pain"}})
	mustContain(t, "open urgent", ack.body, "A person at Maple Street Family Clinic will answer by 11\u00a0am today.")
	mustNotContain(t, "open urgent", ack.body, "closed now")
}

// TestAckCrisisLine: self-harm wording shows the crisis line (988 where the
// emergency number is 911) beside the emergency number, in both languages;
// chest pain does not. The owner can change it or turn it off.
func TestAckCrisisLine(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	en, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	es := e.spanishPatient(owner, "Jorge Ruiz", "1950-07-04")

	_, ack := en.send("message", url.Values{"body": {"I don't want to live anymore, I want to end my life"}})
	mustContain(t, "self-harm ack", ack.body, "call 911 now", "call the crisis line at 988.", `href="tel:988"`, "Call the crisis line, 988")
	if strings.Index(ack.body, "call 911 now") > strings.Index(ack.body, "crisis line at 988") {
		t.Error("the crisis line comes before the emergency number")
	}
	_, ack = es.send("message", url.Values{"body": {"Ya no aguanto, quiero morir"}})
	mustContain(t, "Spanish self-harm ack", ack.body, "llame al 911 ahora", "llame a la línea de crisis al 988.", `href="tel:988"`)
	_, ack = en.send("message", url.Values{"body": {"I have crushing chest pain"}})
	mustContain(t, "chest pain ack", ack.body, "call 911 now")
	mustNotContain(t, "chest pain ack", ack.body, "crisis line", "tel:988")

	// The settings API gives the line in force and takes a new one.
	var got struct {
		CrisisLine string `json:"crisis_line"`
	}
	owner.req("GET", "/api/v1/settings", nil).json(t, &got)
	if got.CrisisLine != "988" {
		t.Errorf("default crisis_line %q, want 988", got.CrisisLine)
	}
	if r := owner.req("PUT", "/api/v1/settings", map[string]any{"crisis_line": "call me"}); r.code != 400 || !strings.Contains(r.body, "crisis_line") {
		t.Errorf("bad crisis line: %d %s", r.code, r.body)
	}
	r := owner.req("PUT", "/api/v1/settings", map[string]any{"crisis_line": " 1-800-273-8255 "})
	r.json(t, &got)
	if r.code != 200 || got.CrisisLine != "1-800-273-8255" {
		t.Fatalf("set crisis line: %d %s", r.code, r.body)
	}
	_, ack = en.send("message", url.Values{"body": {"I keep thinking about suicide"}})
	mustContain(t, "changed line", ack.body, "crisis line at 1-800-273-8255.", `href="tel:18002738255"`)

	// Where the emergency number is not 911 there is no default line; an
	// empty line turns it off.
	owner.req("PUT", "/api/v1/settings", map[string]any{"crisis_line": ""}).json(t, &got)
	if got.CrisisLine != "" {
		t.Errorf("cleared crisis_line %q", got.CrisisLine)
	}
	_, ack = en.send("message", url.Values{"body": {"I keep thinking about suicide"}})
	mustNotContain(t, "no line", ack.body, "crisis line")
	var s clinic.Settings
	if err := func() error { var err error; s, err = e.c.Settings(context.Background()); return err }(); err != nil {
		t.Fatal(err)
	}
	s.CrisisLine, s.EmergencyNumber = nil, "112"
	if s.Crisis() != "" {
		t.Errorf("crisis line with 112: %q", s.Crisis())
	}
}

// TestCallAttemptsShownToPatient: "Left a voicemail" and "No answer" are
// shown on /me and /t/{id} in the patient's words, the status follows the
// last outcome, and only a call that connected makes it "Answered".
func TestCallAttemptsShownToPatient(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	en, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	es := e.spanishPatient(owner, "Jorge Ruiz", "1950-07-04")
	enID, _ := en.send("callback", url.Values{"phone": {"555-201-3344"}, "best_time": {"afternoon"}})
	esID, _ := es.send("callback", url.Values{"phone": {"555-201-7777"}})

	attempt := func(id, outcome string) {
		t.Helper()
		if r := e.owner().req("POST", "/api/v1/items/"+id+"/attempts", map[string]string{"outcome": outcome}); r.code != 200 {
			t.Fatalf("log attempt: %d %s", r.code, r.body)
		}
	}
	e.clock.Set(time.Date(2026, 11, 24, 19, 10, 0, 0, time.UTC)) // 2:10 pm in New York
	attempt(enID, "Left a voicemail")
	attempt(esID, "Left a voicemail")
	me, th := en.get("/me").body, en.get("/t/"+enID).body
	mustContain(t, "/me after voicemail", me, `<p class="pill tried">We called and left a voicemail</p>`)
	mustContain(t, "thread after voicemail", th, "We tried to call you today at 2:10\u00a0pm and left a voicemail.", `<p class="pill tried">`)
	mustNotContain(t, "after voicemail", me+th, "Answered")

	e.clock.Set(time.Date(2026, 11, 24, 20, 40, 0, 0, time.UTC)) // 3:40 pm
	attempt(enID, "No answer")
	attempt(esID, "no answer")
	me, th = en.get("/me").body, en.get("/t/"+enID).body
	mustContain(t, "/me after no answer", me, `<p class="pill tried">We called: no answer</p>`,
		`<p class="meta call">We tried to call you today at 2:10`+"\u00a0"+`pm and left a voicemail.</p>`,
		`<p class="meta call">We tried to call you today at 3:40`+"\u00a0"+`pm. No answer.</p>`)
	mustContain(t, "thread after no answer", th, "We tried to call you today at 2:10\u00a0pm and left a voicemail.",
		"We tried to call you today at 3:40\u00a0pm. No answer.", "We called: no answer")
	mustNotContain(t, "after no answer", me+th, "Answered")
	if strings.Index(th, "2:10") > strings.Index(th, "3:40") {
		t.Error("the attempts are out of order")
	}
	me, th = es.get("/me").body, es.get("/t/"+esID).body
	mustContain(t, "Spanish /me", me, `<p class="pill tried">Le llamamos: nadie contestó</p>`)
	mustContain(t, "Spanish thread", th, "Hoy a las 2:10\u00a0p.\u00a0m. intentamos llamarle y le dejamos un mensaje de voz.",
		"Hoy a las 3:40\u00a0p.\u00a0m. intentamos llamarle, pero nadie contestó.")
	mustNotContain(t, "Spanish", me+th, "Respondido")

	// A call that connects answers it.
	attempt(enID, "Spoke with the patient")
	me, th = en.get("/me").body, en.get("/t/"+enID).body
	mustContain(t, "/me after the call", me, `<p class="pill answered">Answered</p>`)
	mustContain(t, "thread after the call", th, "We called you today at 3:40\u00a0pm and spoke with you.", `<p class="pill answered">Answered</p>`)
}

// TestCrisisLineWhileTyping: the urgent-word lists name the self-harm
// phrases, and the compose and contact pages carry the crisis line, hidden
// until such words are typed.
func TestCrisisLineWhileTyping(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	r := u.get("/urgent-words.json")
	var out struct {
		SelfHarm []string `json:"self_harm"`
	}
	r.json(t, &out)
	if r.code != 200 || !slices.Contains(out.SelfHarm, " kill myself ") || !slices.Contains(out.SelfHarm, " quiero morir ") || slices.Contains(out.SelfHarm, " chest pain ") {
		t.Fatalf("self-harm words: %d %q", r.code, out.SelfHarm)
	}
	for _, page := range []string{u.get("/new?type=message").body, e.anon().get("/contact?lang=es").body} {
		mustContain(t, "live box", page, `<div id="urgent-crisis" hidden>`, `href="tel:988"`)
	}
	owner.req("PUT", "/api/v1/settings", map[string]any{"crisis_line": ""})
	mustNotContain(t, "no crisis line", u.get("/new?type=message").body, "urgent-crisis")
}
