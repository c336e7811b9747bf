package web

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestPatientMatchingSeesThroughInvisibleAndCombiningVariants (checklist
// 19): the patient search (blind index) and the same-name warning treat a
// name the same whether its accents are one code point or a letter and a
// combining mark, and whatever zero-width characters, direction overrides
// or stray combining marks are typed or pasted into it, on either side
// (what was stored, what is searched). Variants never make a different
// name match, and the name itself is kept as it was written.
func TestPatientMatchingSeesThroughInvisibleAndCombiningVariants(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	maria := e.addPatient(owner, "María Ortega", "1961-03-14")                      // precomposed í
	jose := e.addPatient(owner, "Jo\u200bse\u0301 Pe\u0301rez\u2060", "1950-01-30") // pasted: zero-width space and joiner, decomposed accents
	mario := e.addPatient(owner, "Mario Ortiz", "1972-07-07")
	search := func(q string) []string {
		t.Helper()
		r := owner.req("GET", "/api/v1/patients?q="+url.QueryEscape(q), nil)
		var out struct {
			Patients []struct{ ID, Name string }
		}
		r.json(t, &out)
		if r.code != 200 {
			t.Fatalf("search %q: %d %s", q, r.code, r.body)
		}
		var ids []string
		for _, p := range out.Patients {
			ids = append(ids, p.ID)
		}
		return ids
	}
	for _, q := range []string{
		"maria", "María", "Mari\u0301a", "MARÍA ortega", "Ma\u200bría", "ma\u200dria", "\u202eMaría\u202c",
		"\ufeffmaria", "mar\u00adia", "Mari\u0301\u0301\u0301a", "Maria" + strings.Repeat("\u0301", 5000), "ort\u200eega mar",
	} {
		if got := search(q); !slices.Contains(got, maria) || slices.Contains(got, mario) || slices.Contains(got, jose) {
			t.Errorf("search %q: %v, want María Ortega (%s) only", trunc(q), got, maria)
		}
	}
	for _, q := range []string{"jose perez", "José Pérez", "JOSE", "pérez", "Jo\u200bsé"} {
		if got := search(q); len(got) != 1 || got[0] != jose {
			t.Errorf("search %q: %v, want the pasted José Pérez (%s)", q, got, jose)
		}
	}
	// A variant is not a different name's key: "mario" is not "maria".
	if got := search("mari\u200bo"); !slices.Contains(got, mario) || slices.Contains(got, maria) {
		t.Errorf("search mari\\u200bo: %v, want Mario only", got)
	}
	// The same-name warning sees through the variants too.
	twin := e.addPatient(owner, "Mari\u0301a\u200b Orte\u200dga", "1990-09-09")
	var got struct {
		Name     string
		SameName int `json:"same_name"`
	}
	r := owner.req("GET", "/api/v1/patients/"+twin, nil)
	r.json(t, &got)
	if r.code != 200 || got.SameName != 1 {
		t.Errorf("a variant of María Ortega: same_name %d, want 1 (%d %s)", got.SameName, r.code, r.body)
	}
	// Stored losslessly: matching folds, the record keeps what was typed.
	r = owner.req("GET", "/api/v1/patients/"+jose, nil)
	r.json(t, &got)
	if got.Name != "Jo\u200bse\u0301 Pe\u0301rez\u2060" {
		t.Errorf("the pasted name came back as %q", got.Name)
	}
	// A direction override (which can make one name look like another on
	// screen) is refused in a name, consistently, never half-stored.
	for _, n := range []string{"\u202eagetrO a\u00edraM", "Mar\u2067ía Ortega", "Maria\x00 Ortega"} {
		if r := owner.req("POST", "/api/v1/patients", map[string]string{"name": n, "dob": "1961-03-14", "lang": "en"}); r.code != 400 || !strings.Contains(r.body, `"field":"name"`) {
			t.Errorf("name %q: %d %s, want 400 on name", n, r.code, r.body)
		}
	}
	if got := search("ortega"); len(got) != 2 {
		t.Errorf("after the refused names, ortega finds %d patients, want 2", len(got))
	}
}
