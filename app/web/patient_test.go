package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/app/clinic"
	"hearth/app/i18n"
)

// Patient pages, over the real HTTP server: invites and birth dates,
// composing each type, acknowledgements, urgent wording, Spanish, the
// no-account contact flow, isolation between patients, CSRF, read receipts,
// staff replies, closing, devices and page weight.

var (
	hiddenRe = regexp.MustCompile(`(?is)<input[^>]*type="hidden"[^>]*>`)
	nameRe   = regexp.MustCompile(`\sname="([^"]*)"`)
	valueRe  = regexp.MustCompile(`\svalue="([^"]*)"`)
	itemRe   = regexp.MustCompile(`^/t/([0-9a-f-]{36})`)
	linkRe   = regexp.MustCompile(`/c/([A-Za-z0-9_-]+)`)
)

// hiddenInputs collects a page's hidden inputs, as a browser submits them.
func hiddenInputs(page string) url.Values {
	v := url.Values{}
	for _, tag := range hiddenRe.FindAllString(page, -1) {
		n := nameRe.FindStringSubmatch(tag)
		if n == nil {
			continue
		}
		val := ""
		if m := valueRe.FindStringSubmatch(tag); m != nil {
			val = htmlUnescape(m[1])
		}
		v.Set(n[1], val)
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}

// get fetches a page the way a browser does.
func (u *user) get(path string, hdr ...string) resp {
	u.e.t.Helper()
	return u.req("GET", path, nil, hdr...)
}

// post sends a form with the same-origin header a browser adds.
func (u *user) post(path string, v url.Values, hdr ...string) resp {
	u.e.t.Helper()
	return u.req("POST", path, v.Encode(), append([]string{"Origin", u.e.srv.URL}, hdr...)...)
}

// form GETs page, then POSTs its hidden inputs plus fields to action.
func (u *user) form(page, action string, fields url.Values, hdr ...string) resp {
	u.e.t.Helper()
	r := u.get(page, hdr...)
	if r.code != 200 {
		u.e.t.Fatalf("GET %s: %d\n%.400s", page, r.code, r.body)
	}
	v := hiddenInputs(r.body)
	for k, vs := range fields {
		v[k] = vs
	}
	return u.post(action, v, hdr...)
}

func location(t *testing.T, r resp, want string) string {
	t.Helper()
	if r.code != http.StatusSeeOther {
		t.Fatalf("want 303 to %s, got %d\n%.600s", want, r.code, r.body)
	}
	loc := r.h.Get("Location")
	if !strings.HasPrefix(loc, want) {
		t.Fatalf("redirect to %q, want %s…", loc, want)
	}
	return loc
}

func (e *env) invite(u *user, patientID, caregiver string) string {
	e.t.Helper()
	var body any
	if caregiver != "" {
		body = map[string]string{"caregiver": caregiver}
	}
	r := u.req("POST", "/api/v1/patients/"+patientID+"/invites", body)
	if r.code != 201 {
		e.t.Fatalf("invite: %d %s", r.code, r.body)
	}
	var out struct{ Code string }
	r.json(e.t, &out)
	return out.Code
}

// patient signs a new patient in through an invite and returns their browser.
func (e *env) patient(owner *user, name, dob string) (*user, string) {
	e.t.Helper()
	id := e.addPatient(owner, name, dob)
	return e.signIn(owner, id, dob, ""), id
}

// signIn redeems a fresh invite for patientID in a new browser.
func (e *env) signIn(owner *user, patientID, dob, caregiver string) *user {
	e.t.Helper()
	u := e.anon()
	code := e.invite(owner, patientID, caregiver)
	location(e.t, u.form("/i/"+code, "/i/"+code, url.Values{"dob": {dob}}), "/me")
	return u
}

// send composes a request and returns the item id and the acknowledgement page.
func (u *user) send(typ string, fields url.Values) (string, resp) {
	u.e.t.Helper()
	fields.Set("type", typ)
	loc := location(u.e.t, u.form("/new?type="+typ, "/new", fields), "/t/")
	m := itemRe.FindStringSubmatch(loc)
	if m == nil || !strings.HasSuffix(loc, "?sent=1") {
		u.e.t.Fatalf("after POST /new: %q", loc)
	}
	return m[1], u.get(loc)
}

func (e *env) setPhone() {
	e.t.Helper()
	ctx := context.Background()
	st, err := e.c.Settings(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	st.Phone = "(555) 201-0000"
	if err := e.c.SaveSettings(ctx, clinic.System, st); err != nil {
		e.t.Fatal(err)
	}
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q\n%.1500s", what, w, body)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, bads ...string) {
	t.Helper()
	for _, b := range bads {
		if strings.Contains(body, b) {
			t.Errorf("%s: must not contain %q", what, b)
		}
	}
}

func cookieIn(r resp, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestPatientInviteBirthDateFormats(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	id := e.addPatient(owner, "Rosa Delgado", "1961-03-14")
	cases := []struct {
		name   string
		fields url.Values
	}{
		{"YYYY-MM-DD", url.Values{"dob": {"1961-03-14"}}},
		{"MM/DD/YYYY", url.Values{"dob": {"03/14/1961"}}},
		{"three boxes", url.Values{"dob_month": {"3"}, "dob_day": {"14"}, "dob_year": {"1961"}}},
		{"shared computer", url.Values{"dob_month": {"03"}, "dob_day": {"14"}, "dob_year": {"1961"}, "shared": {"1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := e.invite(owner, id, "")
			u := e.anon()
			page := u.get("/i/" + code)
			mustContain(t, "invite form", page.body, `autocomplete="bday-month"`, `autocomplete="bday-day"`, `autocomplete="bday-year"`,
				`name="shared"`, `name="csrf"`, "Date of birth")
			if ck := cookieIn(page, "hearth_csrf"); ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("csrf cookie: %+v", ck)
			}
			v := hiddenInputs(page.body)
			for k, vs := range c.fields {
				v[k] = vs
			}
			r := u.post("/i/"+code, v, "User-Agent", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36")
			location(t, r, "/me")
			ck := cookieIn(r, "hearth_device")
			if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
				t.Fatalf("device cookie: %+v", ck)
			}
			if c.fields.Get("shared") != "" {
				if ck.MaxAge != 0 {
					t.Errorf("shared computer: cookie Max-Age %d, want a browser-session cookie", ck.MaxAge)
				}
			} else if ck.MaxAge != 180*24*3600 {
				t.Errorf("cookie Max-Age %d, want 180 days", ck.MaxAge)
			}
			me := u.get("/me")
			if me.code != 200 {
				t.Fatalf("/me: %d", me.code)
			}
			mustContain(t, "/me", me.body, "Hello, Rosa", "My requests", "Sign out of this device")
			acc := u.get("/me/access")
			mustContain(t, "/me/access", acc.body, "Android phone, Chrome", "This device")
		})
	}
}

const oneMessage = "That birth date doesn&#39;t match our records for this letter"

func TestPatientInviteWrongBirthDate(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	id := e.addPatient(owner, "Rosa Delgado", "1961-03-14")
	code := e.invite(owner, id, "")
	u := e.anon()
	for i := 1; i <= 5; i++ {
		r := u.form("/i/"+code, "/i/"+code, url.Values{"dob_month": {"3"}, "dob_day": {"15"}, "dob_year": {"1961"}})
		if r.code != http.StatusBadRequest {
			t.Fatalf("try %d: %d, want 400", i, r.code)
		}
		mustContain(t, "wrong birth date", r.body, oneMessage, `role="alert"`, `aria-invalid="true"`, `aria-describedby="dob-hint dob-err"`)
		if cookieIn(r, "hearth_device") != nil {
			t.Fatal("a wrong birth date set a device cookie")
		}
	}
	// The sixth try is refused even with the right date: the code is paused.
	r := u.form("/i/"+code, "/i/"+code, url.Values{"dob": {"1961-03-14"}})
	if r.code != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures: %d, want 429", r.code)
	}
	mustContain(t, "throttled", r.body, "Too many tries")

	// A used code: the form is gone, and posting gets the same one message.
	code2 := e.invite(owner, id, "")
	b := e.anon()
	location(t, b.form("/i/"+code2, "/i/"+code2, url.Values{"dob": {"03/14/1961"}}), "/me")
	c := e.anon()
	g := c.get("/i/" + code2)
	if g.code != http.StatusNotFound {
		t.Fatalf("used code GET: %d, want 404", g.code)
	}
	mustContain(t, "used code", g.body, "This code doesn&#39;t work", "used already", `href="/letter"`)
	mustNotContain(t, "used code", g.body, "Rosa")
	// Posting anyway (a form kept open) gets the same answer as a wrong date.
	p := c.form("/contact", "/i/"+code2, url.Values{"dob": {"1961-03-14"}})
	if p.code != http.StatusBadRequest {
		t.Fatalf("used code POST: %d, want 400", p.code)
	}
	mustContain(t, "used code POST", p.body, oneMessage)
	// A nonsense code.
	if r := c.get("/i/NOTACODE"); r.code != http.StatusNotFound {
		t.Errorf("unknown code: %d", r.code)
	}
	// The landing page's code box leads to the invite.
	r = c.get("/i?code=" + url.QueryEscape(" "+code2[:4]+" "+code2[4:]))
	location(t, r, "/i/"+code2)
}

func TestPatientComposeEachType(t *testing.T) {
	e := newEnv(t)
	e.setPhone()
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	cases := []struct {
		typ    string
		fields url.Values
		want   map[string]string
	}{
		{"message", url.Values{"subject": {"Flu shot"}, "body": {"Is the flu shot available this week?"}}, map[string]string{"subject": "Flu shot"}},
		{"refill", url.Values{"medication": {"Lisinopril"}, "dose": {"10 mg daily"}, "pharmacy": {"Main St Pharmacy, 12 Main St"}}, map[string]string{"medication": "Lisinopril", "pharmacy": "Main St Pharmacy, 12 Main St", "dose": "10 mg daily"}},
		{"appointment", url.Values{"reason": {"Knee check"}, "preferred": {"Mornings"}, "provider": {"Dr. Lee"}}, map[string]string{"reason": "Knee check", "preferred": "Mornings", "provider": "Dr. Lee"}},
		{"callback", url.Values{"phone": {"555-201-9999"}, "best_time": {"after 2 pm"}}, map[string]string{"phone": "555-201-9999", "best_time": "after 2 pm"}},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			page := u.get("/new?type=" + c.typ)
			if page.code != 200 {
				t.Fatalf("GET /new: %d", page.code)
			}
			mustContain(t, "compose", page.body, "If this is an emergency,", "call 911", "If you send this now, a person will answer by", `name="type" value="`+c.typ+`"`)
			for k := range c.fields {
				mustContain(t, "compose", page.body, `name="`+k+`"`)
			}
			mustContain(t, "compose", page.body, `type="file"`, `enctype="multipart/form-data"`)
			id, ack := u.send(c.typ, c.fields)
			var item struct {
				Item clinic.Item `json:"item"`
			}
			r := owner.req("GET", "/api/v1/items/"+id, nil)
			r.json(t, &item)
			if item.Item.Type != c.typ {
				t.Errorf("type %q, want %q", item.Item.Type, c.typ)
			}
			for k, v := range c.want {
				if item.Item.Fields[k] != v {
					t.Errorf("field %s = %q, want %q", k, item.Item.Fields[k], v)
				}
			}
			ny, err := time.LoadLocation("America/New_York")
			if err != nil {
				t.Fatal(err)
			}
			tr := e.web.mustCatalog(t).Tr("en", ny, e.clock.Now())
			due := tr.When(item.Item.Due)
			mustContain(t, "acknowledgement", ack.body, "We got your message", "A person at Maple Street Family Clinic will answer by "+due,
				"If it gets worse before then, call us:", "(555) 201-0000")
			mustNotContain(t, "acknowledgement", ack.body, "can be an emergency")
		})
	}
	// A required field left empty: the error is next to it and the text survives.
	r := u.form("/new?type=refill", "/new", url.Values{"type": {"refill"}, "medication": {"Metformin"}, "body": {"Running low since Monday"}})
	if r.code != http.StatusBadRequest {
		t.Fatalf("missing pharmacy: %d", r.code)
	}
	mustContain(t, "missing pharmacy", r.body, `id="pharmacy-err"`, "pharmacy&#39;s name and street", `value="Metformin"`, "Running low since Monday", `<div class="errsum" role="alert"`)
}

func TestPatientLanding(t *testing.T) {
	e := newEnv(t)
	e.setPhone()
	a := e.anon()
	r := a.get("/")
	if r.code != 200 {
		t.Fatalf("GET /: %d", r.code)
	}
	mustContain(t, "landing", r.body, "Maple Street Family Clinic", "If this is an emergency,", `href="tel:911"`, "call 911.",
		`href="/new?type=message"`, `href="/new?type=refill"`, `href="/new?type=appointment"`, `href="/new?type=callback"`,
		`<form method="get" action="/i">`, `href="/contact"`, `href="/letter"`, "Monday to Friday", "9\u00a0am – 5\u00a0pm",
		"Saturday and Sunday", "Closed", "Open now, until 5\u00a0pm", "If you write now, a person will answer by 10\u00a0am tomorrow.",
		`href="tel:5552010000"`, "(555) 201-0000", `<html lang="en">`)
	if r.h.Get("Cache-Control") != "no-store" || r.h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: %v", r.h)
	}
	e.clock.Add(4 * 24 * time.Hour) // Saturday
	mustContain(t, "weekend landing", a.get("/").body, "Closed now. We open Monday, November 30 at 9\u00a0am.")
	if r := a.get("/nothing-here"); r.code != http.StatusNotFound {
		t.Errorf("unknown path: %d", r.code)
	}
}

func TestPatientAfterHoursAcknowledgement(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	e.clock.Add(12 * time.Hour) // Tuesday 10 pm in New York
	_, ack := u.send("message", url.Values{"body": {"Question about my lab results"}})
	mustContain(t, "after hours", ack.body, "We&#39;re closed now. We open 9\u00a0am tomorrow.", "Sent while the clinic was closed.")
}

func TestPatientUrgentGuidance(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	id, ack := u.send("message", url.Values{"body": {"I have crushing chest pain since this morning"}})
	mustContain(t, "urgent ack", ack.body, `<div class="urgent" role="alert">`, "Your message mentions something that can be an emergency",
		"call 911 now", `href="tel:911"`, "The clinic still got your message")
	var item struct {
		Item clinic.Item `json:"item"`
	}
	owner.req("GET", "/api/v1/items/"+id, nil).json(t, &item)
	if item.Item.Priority != clinic.PriorityUrgent {
		t.Errorf("priority %q, want urgent", item.Item.Priority)
	}
}

func TestPatientSpanish(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	a := e.anon()
	r := a.get("/", "Accept-Language", "es-MX,es;q=0.9,en;q=0.5")
	mustContain(t, "landing (Accept-Language)", r.body, `<html lang="es">`, "Enviar un mensaje", "Si es una emergencia,", "llame al 911", `lang="en"`, "English")
	b := e.anon()
	r = b.get("/?lang=es")
	mustContain(t, "landing (?lang=es)", r.body, `<html lang="es">`, "Pedir una cita")
	if ck := cookieIn(r, "hearth_lang"); ck == nil || ck.Value != "es" || ck.MaxAge < 360*24*3600 {
		t.Fatalf("lang cookie: %+v", ck)
	}
	r = b.get("/contact")
	mustContain(t, "contact (cookie)", r.body, `<html lang="es">`, "Fecha de nacimiento", "Su nombre completo")
	// The day comes first in Spanish.
	if strings.Index(r.body, `id="dob_day"`) > strings.Index(r.body, `id="dob_month"`) {
		t.Error("Spanish birth date asks the month before the day")
	}
	// The ?lang switch wins over the cookie, and English pages link to Spanish.
	r = b.get("/contact?lang=en")
	mustContain(t, "contact (?lang=en)", r.body, `<html lang="en">`, `href="/contact?lang=es"`, "Español")

	// A patient whose record says Spanish gets Spanish without asking.
	r = owner.req("POST", "/api/v1/patients", map[string]string{"name": "Jorge Ruiz", "dob": "1950-07-04", "phone": "555-201-7777", "lang": "es"})
	var p struct{ ID string }
	r.json(t, &p)
	u := e.signIn(owner, p.ID, "07/04/1950", "")
	me := u.get("/me")
	mustContain(t, "Spanish /me", me.body, `<html lang="es">`, "Hola, Jorge", "Mis solicitudes")
	_, ack := u.send("appointment", url.Values{"reason": {"Chequeo"}})
	mustContain(t, "Spanish ack", ack.body, "Recibimos su mensaje", "le responderá a más tardar mañana a las 10\u00a0a.\u00a0m.")
}

func TestPatientContactFlow(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	v := e.anon()
	// A visitor who opens /new is sent to the no-account form, keeping the type.
	location(t, v.get("/new?type=refill"), "/contact?type=refill")
	page := v.get("/contact?type=refill")
	mustContain(t, "contact form", page.body, `autocomplete="name"`, `autocomplete="tel"`, `autocomplete="email"`, `name="medication"`, "If this is an emergency,")
	r := v.form("/contact?type=refill", "/contact", url.Values{"name": {"Ana Torres"}, "dob_month": {"5"}, "dob_day": {"2"}, "dob_year": {"1980"},
		"phone": {"555-201-4455"}, "email": {""}, "medication": {"Albuterol inhaler"}, "pharmacy": {"Corner Drug, 3 Elm St"}})
	if r.code != 200 {
		t.Fatalf("POST /contact: %d\n%.800s", r.code, r.body)
	}
	mustContain(t, "contact answer", r.body, "We got your message", "Your private link", "bookmark it")
	m := linkRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no private link on the answer page")
	}
	token := m[1]
	var list struct{ Items []map[string]any }
	owner.req("GET", "/api/v1/items?unverified=true", nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0]["type"] != "refill" {
		t.Fatalf("unverified items: %+v", list.Items)
	}
	itemID := list.Items[0]["id"].(string)
	// The browser that wrote can follow it at once.
	if r := v.get("/t/" + itemID); r.code != 200 || !strings.Contains(r.body, "Albuterol inhaler") {
		t.Fatalf("writer's thread: %d", r.code)
	}

	// Later, on another device: the link asks the birth date first.
	w := e.anon()
	if r := w.get("/t/" + itemID); r.code != http.StatusSeeOther {
		t.Fatalf("thread without the link: %d", r.code)
	}
	g := w.get("/c/" + token)
	mustContain(t, "private link", g.body, "See your messages", `autocomplete="bday-year"`)
	r = w.form("/c/"+token, "/c/"+token, url.Values{"dob": {"1980-05-03"}})
	if r.code != http.StatusBadRequest {
		t.Fatalf("wrong birth date on the link: %d", r.code)
	}
	mustContain(t, "link wrong dob", r.body, oneMessage)
	r = w.form("/c/"+token, "/c/"+token, url.Values{"dob": {"05/02/1980"}})
	location(t, r, "/t/"+itemID)
	if ck := cookieIn(r, "hearth_contact"); ck == nil || !ck.HttpOnly || ck.MaxAge != 0 || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("contact cookie: %+v", ck)
	}
	th := w.get("/t/" + itemID)
	mustContain(t, "contact thread", th.body, "Albuterol inhaler", "Corner Drug")
	location(t, w.form("/t/"+itemID, "/t/"+itemID+"/reply", url.Values{"body": {"It is the blue one."}}), "/t/"+itemID)
	mustContain(t, "contact reply", w.get("/t/"+itemID).body, "It is the blue one.")
	mustContain(t, "contact /me", w.get("/me").body, "Hello, Ana", "Refill: Albuterol inhaler")
	if r := w.get("/c/not-a-token"); r.code != http.StatusNotFound {
		t.Errorf("bad link: %d", r.code)
	}

	// A new letter request reaches the front desk.
	r = e.anon().form("/letter", "/letter", url.Values{"name": {"Ana Torres"}, "dob": {"05/02/1980"}, "phone": {"555-201-4455"}})
	if r.code != 200 {
		t.Fatalf("POST /letter: %d\n%.600s", r.code, r.body)
	}
	mustContain(t, "letter answer", r.body, "The clinic will send you a new letter")
}

func TestPatientCannotSeeAnotherPatient(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	a, _ := e.patient(owner, "Alice Anders", "1970-01-01")
	b, bID := e.patient(owner, "Bruno Bianchi", "1980-02-02")
	bItem, _ := b.send("message", url.Values{"body": {"Private: my biopsy result question"}})
	secret := []string{"Bruno", "biopsy", "Bianchi"}
	check := func(what string, r resp) {
		t.Helper()
		if r.code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", what, r.code)
		}
		mustNotContain(t, what, r.body, secret...)
	}
	check("GET /t/B", a.get("/t/"+bItem))
	check("GET /t/B?sent=1", a.get("/t/"+bItem+"?sent=1"))
	csrf := hiddenInputs(a.get("/me").body).Get("csrf")
	check("reply to B", a.post("/t/"+bItem+"/reply", url.Values{"csrf": {csrf}, "body": {"hi"}}))
	check("callback on B", a.post("/t/"+bItem+"/callback", url.Values{"csrf": {csrf}, "phone": {"555-201-1111"}}))
	check("feedback on B", a.post("/t/"+bItem+"/feedback", url.Values{"csrf": {csrf}, "answer": {"yes"}}))
	check("unknown item", a.get("/t/00000000-0000-4000-8000-000000000001"))
	check("junk id", a.get("/t/..%2f..%2fetc"))
	// B's devices cannot be signed out by A.
	var devs []clinic.Device
	devs, err := e.c.Devices(context.Background(), clinic.Actor{Kind: clinic.ActorStaff}, bID)
	if err != nil || len(devs) != 1 {
		t.Fatalf("B's devices: %v %v", devs, err)
	}
	check("revoke B's device", a.post("/me/devices/"+devs[0].ID+"/revoke", url.Values{"csrf": {csrf}}))
	mustNotContain(t, "A's list", a.get("/me").body, secret...)
	mustNotContain(t, "A's access page", a.get("/me/access").body, secret...)
	// Nothing was added to B's item.
	var item struct{ Messages []clinic.Message }
	owner.req("GET", "/api/v1/items/"+bItem, nil).json(t, &item)
	if len(item.Messages) != 1 {
		t.Errorf("B's item has %d messages, want 1", len(item.Messages))
	}
}

func TestPatientThreadReceiptsRepliesNotes(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	id, _ := u.send("message", url.Values{"body": {"Can I take ibuprofen with my blood pressure pills?"}})
	mustContain(t, "before staff read", u.get("/me").body, `class="pill sent">Sent<`)

	frank := e.addStaff(owner, "Frank Front", "frank@maple.test", "frontdesk")
	if r := frank.req("GET", "/api/v1/items/"+id, nil); r.code != 200 {
		t.Fatalf("staff GET: %d", r.code)
	}
	mustContain(t, "read receipt", u.get("/me").body, "Seen by Frank (front desk) today at 10\u00a0am")
	if r := frank.req("POST", "/api/v1/items/"+id+"/messages", map[string]any{"body": "INTERNAL: check her potassium first", "internal": true}); r.code != 201 {
		t.Fatalf("note: %d %s", r.code, r.body)
	}
	if r := frank.req("POST", "/api/v1/items/"+id+"/messages", map[string]any{"body": "Please avoid ibuprofen; acetaminophen is fine.", "internal": false}); r.code != 201 {
		t.Fatalf("reply: %d %s", r.code, r.body)
	}
	if r := frank.req("POST", "/api/v1/items/"+id+"/assign", map[string]any{"staff_id": "me"}); r.code != 200 {
		t.Fatalf("assign: %d %s", r.code, r.body)
	}
	th := u.get("/t/" + id)
	mustContain(t, "thread", th.body, "Please avoid ibuprofen; acetaminophen is fine.", "Frank, front desk", `class="pill answered">Answered<`)
	mustNotContain(t, "thread", th.body, "INTERNAL", "potassium", "assigned:", "frank@maple.test")
	mustContain(t, "/me", u.get("/me").body, "Answered")

	// The patient replies; an empty reply is refused next to the box.
	r := u.form("/t/"+id, "/t/"+id+"/reply", url.Values{"body": {"  "}})
	if r.code != http.StatusBadRequest {
		t.Fatalf("empty reply: %d", r.code)
	}
	mustContain(t, "empty reply", r.body, `id="body-err"`, "Please write your message.")
	location(t, u.form("/t/"+id, "/t/"+id+"/reply", url.Values{"body": {"Thank you!"}}), "/t/"+id+"?replied=1")
	mustContain(t, "after reply", u.get("/t/"+id+"?replied=1").body, "Thank you!", "Your reply was sent.")

	// Closing: the patient reads why, and says whether it helped.
	if r := frank.req("POST", "/api/v1/items/"+id+"/status", map[string]any{"status": "closed"}); r.code != 200 {
		t.Fatalf("close: %d %s", r.code, r.body)
	}
	th = u.get("/t/" + id)
	mustContain(t, "closed", th.body, "This request is closed", "Did this answer your question?", `name="answer" value="yes"`, "The clinic closed this request.")
	location(t, u.form("/t/"+id, "/t/"+id+"/feedback", url.Values{"answer": {"yes"}}), "/t/"+id+"?thanks=1")
	var item struct{ Item clinic.Item }
	owner.req("GET", "/api/v1/items/"+id, nil).json(t, &item)
	if item.Item.Feedback != "yes" {
		t.Errorf("feedback %q", item.Item.Feedback)
	}

	// Call me instead: a call-back linked to this request.
	r = u.form("/t/"+id, "/t/"+id+"/callback", url.Values{"phone": {"555-201-3344"}, "best_time": {"after 4 pm"}})
	loc := location(t, r, "/t/")
	cb := itemRe.FindStringSubmatch(loc)[1]
	owner.req("GET", "/api/v1/items/"+cb, nil).json(t, &item)
	if item.Item.Type != "callback" || item.Item.Linked != id || item.Item.Fields["best_time"] != "after 4 pm" {
		t.Errorf("call back: %+v", item.Item)
	}

	// A refill closed with an outcome and a reason says so in words.
	rid, _ := u.send("refill", url.Values{"medication": {"Oxycodone"}, "pharmacy": {"Corner Drug"}})
	cal := e.addStaff(owner, "Cal Clinician", "cal@maple.test", "clinician")
	if r := cal.req("POST", "/api/v1/items/"+rid+"/status", map[string]any{"status": "closed", "outcome": "declined", "reason": "We need to see you first."}); r.code != 200 {
		t.Fatalf("decline: %d %s", r.code, r.body)
	}
	mustContain(t, "declined", u.get("/t/"+rid).body, "We could not do this.", "We need to see you first.")
}

func TestPatientCSRF(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	for _, path := range []string{"/new", "/contact", "/signout"} {
		r := u.post(path, url.Values{"type": {"message"}, "body": {"hello"}})
		if r.code != http.StatusForbidden {
			t.Errorf("POST %s without csrf: %d, want 403", path, r.code)
		}
		mustContain(t, "csrf page", r.body, "Please try again", "reload the page")
		r = u.post(path, url.Values{"csrf": {"forged-token-forged-token-forged-token-abcd"}, "type": {"message"}, "body": {"hello"}})
		if r.code != http.StatusForbidden {
			t.Errorf("POST %s with a wrong csrf: %d, want 403", path, r.code)
		}
	}
	// A cross-site form is refused before anything else.
	csrf := hiddenInputs(u.get("/new").body).Get("csrf")
	r := u.req("POST", "/new", url.Values{"csrf": {csrf}, "type": {"message"}, "body": {"x"}}.Encode(), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if r.code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", r.code)
	}
	// A JSON body is not a form.
	if r := u.req("POST", "/contact", map[string]string{"name": "x"}, "Origin", e.srv.URL); r.code != http.StatusUnsupportedMediaType {
		t.Errorf("JSON to /contact: %d", r.code)
	}
}

func TestPatientSignedOutKeepsText(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	compose := hiddenInputs(u.get("/new?type=message").body)
	id, _ := u.send("message", url.Values{"body": {"first"}})
	thread := hiddenInputs(u.get("/t/" + id).body)
	// Sign out in another tab.
	location(t, u.post("/signout", url.Values{"csrf": {compose.Get("csrf")}}), "/?signedout=1")
	location(t, u.get("/me"), "/?signin=1")
	mustContain(t, "signed out landing", u.get("/?signin=1").body, "Please sign in with the code on your letter")

	compose.Set("body", "My words that must not be lost")
	r := u.post("/new", compose)
	if r.code != http.StatusUnauthorized {
		t.Fatalf("POST /new signed out: %d", r.code)
	}
	mustContain(t, "kept compose", r.body, "My words that must not be lost", "your words are safe", `action="/contact"`)
	thread.Set("body", "A reply typed while the sign-in ended")
	r = u.post("/t/"+id+"/reply", thread)
	if r.code != http.StatusUnauthorized {
		t.Fatalf("POST reply signed out: %d", r.code)
	}
	mustContain(t, "kept reply", r.body, "A reply typed while the sign-in ended")
}

func TestPatientCaregiverAndDevices(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Rosa Delgado", "1961-03-14")
	p := e.signIn(owner, pid, "1961-03-14", "")
	id, _ := p.send("message", url.Values{"body": {"Question for Dr. Lee"}})
	c := e.signIn(owner, pid, "1961-03-14", "Maria Lopez")
	mustContain(t, "caregiver /me", c.get("/me").body, "Requests for Rosa Delgado", "Maria Lopez", "Question for Dr. Lee")
	location(t, c.form("/t/"+id, "/t/"+id+"/reply", url.Values{"body": {"Adding her pharmacy."}}), "/t/"+id)
	mustContain(t, "patient sees caregiver", p.get("/t/"+id).body, "Maria Lopez (caregiver)", "Adding her pharmacy.")
	acc := p.get("/me/access")
	mustContain(t, "patient's devices", acc.body, "Maria Lopez (caregiver)", "Sign out this device", "Who looked at my record")
	// A caregiver acts for the patient and sees the same access report.
	mustContain(t, "caregiver's access page", c.get("/me/access").body, "Who looked at my record")

	// Staff looked at the record: the access report says who and what.
	if r := owner.req("GET", "/api/v1/patients/"+pid, nil); r.code != 200 {
		t.Fatal(r.code)
	}
	mustContain(t, "access report", p.get("/me/access").body, "Olive, clinic manager", "opened your record")

	// The patient signs the caregiver's device out.
	devs, err := e.c.Devices(context.Background(), clinic.Actor{Kind: clinic.ActorStaff}, pid)
	if err != nil {
		t.Fatal(err)
	}
	var cg string
	for _, d := range devs {
		if d.Caregiver != "" {
			cg = d.ID
		}
	}
	location(t, p.form("/me/access", "/me/devices/"+cg+"/revoke", nil), "/me/access?revoked=1")
	location(t, c.get("/me"), "/?signin=1")
	mustNotContain(t, "after revoke", p.get("/me/access").body, "Maria Lopez")
}

// TestPatientPageWeight: every patient page with its stylesheet stays under
// 60 KB, for old phones on weak signals.
func TestPatientPageWeight(t *testing.T) {
	e := newEnv(t)
	e.setPhone()
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	id, _ := u.send("message", url.Values{"body": {"Hello"}})
	css, err := os.ReadFile(filepath.Join("..", "..", "embed", "web", "hearth.css"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join("..", "..", "embed", "web", "patient.js"))
	if err != nil {
		t.Fatal(err)
	}
	anon := e.anon()
	pages := map[string]*user{"/": anon, "/contact": anon, "/letter": anon, "/?lang=es": anon, "/me": u, "/me/access": u,
		"/t/" + id + "?sent=1": u, "/new?type=message": u, "/new?type=refill": u, "/new?type=appointment": u, "/new?type=callback": u}
	for path, who := range pages {
		r := who.get(path)
		if r.code != 200 {
			t.Errorf("%s: %d", path, r.code)
			continue
		}
		total := len(r.body) + len(css) + len(js)
		t.Logf("%-24s %6d bytes HTML, %6d with CSS and JS", path, len(r.body), total)
		if total > 60_000 {
			t.Errorf("%s weighs %d bytes with its CSS and JS, over 60 KB", path, total)
		}
		mustNotContain(t, path, r.body, "<script>", "style=", "ZgotmplZ")
	}
}

// TestPatientTranslations: every language has every text, and no page shows
// a raw key.
func TestPatientTranslations(t *testing.T) {
	e := newEnv(t)
	cat := e.web.mustCatalog(t)
	for _, l := range cat.Langs() {
		for _, k := range cat.Keys(defaultLang) {
			if _, ok := cat.Text(l, k); !ok {
				t.Errorf("%s.json lacks %q", l, k)
			}
		}
		for _, k := range cat.Keys(l) {
			if _, ok := cat.Text(defaultLang, k); !ok {
				t.Errorf("%s.json has %q, which en.json does not", l, k)
			}
		}
	}
	// Keys named in templates and code exist.
	used := regexp.MustCompile(`\.T "([a-z0-9_.]+)"|T\("([a-z0-9_.]+)"|"(form\.[a-z_.]+|thread\.reply|letter\.note)"`)
	files, err := filepath.Glob(filepath.Join("..", "..", "embed", "templates", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	gofiles, err := filepath.Glob("patient_*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 || len(gofiles) == 0 {
		t.Fatalf("found %d templates and %d patient_*.go files", len(files), len(gofiles))
	}
	for _, f := range append(files, gofiles...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			k := m[1] + m[2] + m[3]
			if strings.HasSuffix(k, ".") {
				continue
			}
			if _, ok := cat.Text(defaultLang, k); !ok {
				t.Errorf("%s uses %q, which en.json lacks", f, k)
			}
		}
	}
	for _, prefix := range []string{"action.", "new.title.", "new.lead.", "contact.title."} {
		for _, typ := range clinic.PatientTypes {
			if _, ok := cat.Text(defaultLang, prefix+typ); !ok {
				t.Errorf("en.json lacks %s%s", prefix, typ)
			}
		}
	}
	for _, typ := range clinic.ItemTypes {
		if _, ok := cat.Text(defaultLang, "type."+typ); !ok {
			t.Errorf("en.json lacks type.%s", typ)
		}
	}
	for _, outs := range clinic.Outcomes {
		for _, o := range outs {
			if _, ok := cat.Text(defaultLang, "outcome."+o); !ok {
				t.Errorf("en.json lacks outcome.%s", o)
			}
		}
	}
	for _, r := range []string{clinic.RoleOwner, clinic.RoleClinician, clinic.RoleFrontDesk} {
		if _, ok := cat.Text(defaultLang, "role."+r); !ok {
			t.Errorf("en.json lacks role.%s", r)
		}
	}
	// Rendered pages in every language carry no raw keys.
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	id, _ := u.send("message", url.Values{"body": {"I have crushing chest pain"}})
	rawKey := regexp.MustCompile(`>[^<]*\b(?:form|thread|access|err|me|landing|status|sos|ack|urgent|verify|contact|new|sent|letter|notice|hours|time|type|role|field)\.[a-z_]+[^<]*<`)
	for _, l := range cat.Langs() {
		for _, path := range []string{"/", "/contact?type=callback", "/letter", "/me", "/me/access", "/t/" + id + "?sent=1", "/new?type=refill", "/new?type=appointment"} {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			r := u.get(path + sep + "lang=" + l)
			if !strings.Contains(r.body, `<html lang="`+l+`">`) {
				t.Errorf("%s in %s: page is not in that language", path, l)
			}
			if m := rawKey.FindString(r.body); m != "" {
				t.Errorf("%s in %s shows a raw key: %s", path, l, m)
			}
		}
	}
}

// mustCatalog is the translations the pages speak: the clinic's catalogue.
func (s *Server) mustCatalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	c := s.c.Words()
	if c == nil {
		t.Fatal("the clinic has no message catalogue")
	}
	return c
}

func TestPatientDateWords(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, ny) // a Monday
	cat, err := i18n.Load(os.DirFS("../../embed"))
	if err != nil {
		t.Fatal(err)
	}
	en, es := cat.Tr("en", ny, now), cat.Tr("es", ny, now)
	cases := []struct{ got, want string }{
		{en.When(time.Date(2026, 3, 3, 17, 0, 0, 0, ny)), "5\u00a0pm tomorrow"},
		{en.When(time.Date(2026, 3, 2, 16, 30, 0, 0, ny)), "4:30\u00a0pm today"},
		{en.When(time.Date(2026, 3, 5, 9, 0, 0, 0, ny)), "Thursday, March 5 at 9\u00a0am"},
		{en.When(time.Date(2027, 1, 4, 12, 0, 0, 0, ny)), "Monday, January 4, 2027 at noon"},
		{es.When(time.Date(2026, 3, 3, 17, 0, 0, 0, ny)), "mañana a las 5\u00a0p.\u00a0m."},
		{es.When(time.Date(2026, 3, 5, 13, 0, 0, 0, ny)), "el jueves 5 de marzo a la 1\u00a0p.\u00a0m."},
		{es.When(time.Date(2026, 3, 5, 12, 0, 0, 0, ny)), "el jueves 5 de marzo a mediodía"},
		{en.On(time.Date(2026, 2, 27, 9, 42, 0, 0, ny)), "on Friday, February 27 at 9:42\u00a0am"},
		{es.On(time.Date(2026, 3, 1, 9, 42, 0, 0, ny)), "ayer a las 9:42\u00a0a.\u00a0m."},
		{en.Until(17, 0), "until 5\u00a0pm"},
		{es.Until(13, 0), "hasta la 1\u00a0p.\u00a0m."},
		{deviceLabel("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"), "iPhone, Safari"},
		{deviceLabel("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0"), "Windows computer, Edge"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if l := cat.FromAcceptLanguage("fr-CA, es;q=0.8, en;q=0.9"); l != "en" {
		t.Errorf("Accept-Language pick: %q", l)
	}
}

func TestPatientAttachment(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	other, _ := e.patient(owner, "Bo Example", "1980-01-01")
	link := e.sendPhoto(t, u)
	f := u.get(link)
	if f.code != 200 || f.h.Get("Content-Type") != "image/png" || !strings.HasPrefix(f.h.Get("Content-Disposition"), "attachment") || f.h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d %v", f.code, f.h)
	}
	if r := other.get(link); r.code != 404 || strings.Contains(r.body, "rash") {
		t.Fatalf("another patient fetched the file: %d", r.code)
	}
	if r := owner.req("GET", "/api/v1"+strings.Replace(link, "/f/", "/files/", 1), nil); r.code != 200 {
		t.Fatalf("staff download: %d", r.code)
	}
}

// sendPhoto has the patient send a message with a small PNG attached, and
// returns the attachment's link on the thread ("/f/{id}").
func (e *env) sendPhoto(t *testing.T, u *user) string {
	t.Helper()
	page := u.get("/new?type=message")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for k, vs := range hiddenInputs(page.body) {
		must(mw.WriteField(k, vs[0]))
	}
	must(mw.WriteField("body", "Here is the rash"))
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	fw, err := mw.CreateFormFile("files", "rash photo.png")
	must(err)
	must(png.Encode(fw, img))
	must(mw.Close())
	r := u.req("POST", "/new", body.String(), "Content-Type", mw.FormDataContentType(), "Origin", e.srv.URL)
	loc := location(t, r, "/t/")
	thread := u.get(loc)
	m := regexp.MustCompile(`href="(/f/[0-9a-f-]{36})"`).FindStringSubmatch(thread.body)
	if m == nil {
		t.Fatalf("no attachment link on the thread:\n%.800s", thread.body)
	}
	return m[1]
}

func TestUrgentWordsWhileTyping(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	r := u.get("/urgent-words.json")
	var out struct{ Phrases []string }
	r.json(t, &out)
	if r.code != 200 || !slices.Contains(out.Phrases, " chest pain ") || !slices.Contains(out.Phrases, " no puedo respirar ") {
		t.Fatalf("urgent words: %d %d phrases", r.code, len(out.Phrases))
	}
	page := u.get("/new?type=message")
	mustContain(t, "compose", page.body, `id="urgent-live" role="alert" hidden`)
	mustContain(t, "contact", e.anon().get("/contact").body, `id="urgent-live"`)
}

// TestCatalogsHaveNoDuplicateKeys: a key written twice in a catalog would
// silently replace the first text (it happened once: two features both
// chose "link.title").
func TestCatalogsHaveNoDuplicateKeys(t *testing.T) {
	for _, lang := range []string{"en", "es"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "embed", "i18n", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var v string
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if seen[k.(string)] {
				t.Errorf("%s.json: %q appears twice", lang, k)
			}
			seen[k.(string)] = true
		}
	}
}
