package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// errsBeside checks that a form page shows an error beside each named field
// (its "-err" paragraph) and lists each in the summary.
func errsBeside(t *testing.T, what string, r resp, fields ...string) {
	t.Helper()
	if r.code != http.StatusBadRequest {
		t.Fatalf("%s: status %d, want 400\n%.600s", what, r.code, r.body)
	}
	for _, f := range fields {
		if !strings.Contains(r.body, `id="`+f+`-err"`) {
			t.Errorf("%s: no error beside %q", what, f)
		}
		inSummary := strings.Contains(r.body, `<a href="#`+f+`">`)
		if f == "dob" { // the first of the three boxes: the day first in Spanish
			inSummary = strings.Contains(r.body, `<a href="#dob_month">`) || strings.Contains(r.body, `<a href="#dob_day">`)
		}
		if !inSummary {
			t.Errorf("%s: %q not in the error summary", what, f)
		}
	}
}

// TestContactFormAllErrorsAtOnce: an empty no-account form reports every
// missing answer after one submit, each beside its field, with the words
// typed kept.
func TestContactFormAllErrorsAtOnce(t *testing.T) {
	e := newEnv(t)
	v := e.anon()
	r := v.form("/contact?type=refill", "/contact", url.Values{"type": {"refill"}, "dose": {"2 puffs"}})
	errsBeside(t, "empty refill contact", r, "name", "dob", "phone", "medication", "pharmacy")
	mustContain(t, "typed words kept", r.body, `value="2 puffs"`)
	if strings.Index(r.body, `href="#name"`) > strings.Index(r.body, `href="#pharmacy"`) {
		t.Error("the summary is not in the form's order")
	}

	// A birth date the boxes cannot make, a short phone and a bad email:
	// all three together, and the message the boxes need.
	r = v.form("/contact", "/contact", url.Values{"name": {"Ana Torres"}, "dob_month": {"13"}, "dob_day": {"2"}, "dob_year": {"1980"},
		"phone": {"12"}, "email": {"nope"}, "body": {""}})
	errsBeside(t, "bad message contact", r, "dob", "phone", "email", "body")
	mustContain(t, "month message", r.body, "Enter the month as a number from 1 to 12.")
	if strings.Contains(r.body, `id="name-err"`) {
		t.Error("a good name is reported")
	}

	// Spanish, JavaScript off: the same, in Spanish.
	r = v.form("/contact?lang=es", "/contact", url.Values{"type": {"message"}})
	errsBeside(t, "Spanish contact", r, "name", "dob", "phone", "body")
	mustContain(t, "Spanish", r.body, `<html lang="es">`)

	// Nothing was filed.
	var list struct{ Items []map[string]any }
	e.owner().req("GET", "/api/v1/items?unverified=true", nil).json(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("items filed from forms with errors: %d", len(list.Items))
	}
}

// TestLetterAndNewFormsAllErrorsAtOnce: the new-letter request and a
// signed-in patient's request share the path and report all problems too;
// the staff API keeps answering the first field.
func TestLetterAndNewFormsAllErrorsAtOnce(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	r := e.anon().form("/letter", "/letter", url.Values{})
	errsBeside(t, "empty letter", r, "name", "dob", "phone")

	p, _ := e.patient(owner, "Jorge Ruiz", "1970-01-02")
	r = p.form("/new?type=refill", "/new", url.Values{"type": {"refill"}})
	errsBeside(t, "empty refill", r, "medication", "pharmacy")

	a := owner.req("POST", "/api/v1/patients", map[string]string{"name": "", "dob": "1970-01-02", "email": "nope"})
	if a.code != http.StatusBadRequest || !strings.Contains(a.body, `"field":"name"`) {
		t.Fatalf("staff API with two problems: %d %s", a.code, a.body)
	}
}
