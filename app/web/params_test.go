package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostileText is the unicode corpus every free-text input and every list
// parameter must take without a 5xx: invalid UTF-8, NUL, the right-to-left
// override, zero-width characters, and 100,000 combining marks.
var hostileText = map[string]string{
	"invalid UTF-8":     "Ada \xff\xfe\xc3 Example",
	"NUL":               "Ada\x00Example",
	"RTL override":      "Ada \u202eelpmaxE\u202c",
	"zero-width":        "A\u200bd\u200ca\u200d\ufeff Example",
	"combining marks":   "Ada " + strings.Repeat("\u0301", 100_000),
	"bidi isolate":      "\u2066Ada\u2069 Example",
	"emoji and CJK":     "Ada 👩🏽‍⚕️ 患者",
	"script and braces": "<script>alert(1)</script>{{.}}",
}

// rawJSONString quotes s as a JSON string without repairing it: invalid
// UTF-8 goes on the wire as the bytes it is, the way a hostile client
// sends it (json.Marshal would have replaced them).
func rawJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// jsonSees is what a JSON decoder makes of s: every byte that is not
// UTF-8 becomes U+FFFD (RFC 8259 text is UTF-8; Go replaces, never keeps).
func jsonSees(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		b.WriteRune(r)
		s = s[n:]
	}
	return b.String()
}

// TestFreeTextUnicode: a patient name and a staff message body carrying
// each hostile string are either stored as the JSON the client sent (read
// back identical) or refused with a 400 naming the field; the same input
// always gets the same answer, and nothing answers 5xx.
func TestFreeTextUnicode(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Bo Example", "1980-01-01")
	item := e.patientItem(t, pid, "Hello").Item.ID
	for name, v := range hostileText {
		t.Run(name, func(t *testing.T) {
			want := jsonSees(v)
			// A patient's name.
			var codes []int
			for i := 0; i < 2; i++ {
				r := owner.req("POST", "/api/v1/patients", `{"name":`+rawJSONString(v)+`,"dob":"1970-06-15","phone":"555-201-3344","lang":"en","confirm_duplicate":true}`,
					"Content-Type", "application/json")
				codes = append(codes, r.code)
				switch r.code {
				case 201:
					var out struct{ ID, Name string }
					r.json(t, &out)
					got := owner.req("GET", "/api/v1/patients/"+out.ID, nil)
					if got.code != 200 {
						t.Fatalf("read back: %d", got.code)
					}
					var p struct {
						Name    string `json:"name"`
						Patient struct {
							Name string `json:"name"`
						} `json:"patient"`
					}
					got.json(t, &p)
					if p.Name != want && p.Patient.Name != want {
						t.Errorf("patient name stored lossily: sent %d bytes, read back %q / %q", len(want), trunc(p.Name), trunc(p.Patient.Name))
					}
				case 400:
					if !strings.Contains(r.body, `"field"`) {
						t.Errorf("refused without naming the field: %.200s", r.body)
					}
				default:
					t.Fatalf("patient name: %d %.200s", r.code, r.body)
				}
			}
			if codes[0] != codes[1] {
				t.Errorf("the same name answered %v", codes)
			}
			// A staff reply's body.
			r := owner.req("POST", "/api/v1/items/"+item+"/messages", `{"body":`+rawJSONString(v)+`,"internal":true}`, "Content-Type", "application/json")
			switch r.code {
			case 201:
				got := owner.req("GET", "/api/v1/items/"+item, nil)
				var th struct {
					Messages []struct {
						Body string `json:"body"`
					} `json:"messages"`
				}
				got.json(t, &th)
				found := false
				for _, m := range th.Messages {
					found = found || m.Body == want
				}
				if !found {
					t.Errorf("message body not read back as sent (%d messages)", len(th.Messages))
				}
			case 400:
				if !strings.Contains(r.body, `"field"`) {
					t.Errorf("refused without naming the field: %.200s", r.body)
				}
			default:
				t.Fatalf("message body: %d %.200s", r.code, r.body)
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// listEndpoints are the staff API's list routes, each with the query
// parameters it reads (all others must be refused).
func listEndpoints(pid string) map[string][]string {
	return map[string][]string{
		"/api/v1/items":                      {"queue", "status", "type", "priority", "assignee", "overdue", "unverified", "limit"},
		"/api/v1/patients":                   {"q"},
		"/api/v1/appointments":               {"from", "to"},
		"/api/v1/audit":                      {"after", "before", "order", "actor", "action", "patient", "from", "to", "limit"},
		"/api/v1/staff":                      nil,
		"/api/v1/templates":                  nil,
		"/api/v1/sweep":                      nil,
		"/api/v1/workload":                   nil,
		"/api/v1/patients/" + pid + "/items": nil,
	}
}

// TestListParamsAllowlisted: on every list endpoint a sort, field or
// filter name it does not declare is a 400 naming it; the ones it declares
// take every hostile value with a 200 or a 400, never a 5xx.
func TestListParamsAllowlisted(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	e.patientItem(t, pid, "Hello")
	unknown := []string{"sort", "order_by", "fields", "select", "filter[name]", "include", "__proto__", "Q", "limit ", "dob"}
	for path, known := range listEndpoints(pid) {
		base := path
		if path == "/api/v1/patients" {
			base += "?q=Ada" // a search needs something to search for
		}
		if r := owner.req("GET", base, nil); r.code != 200 {
			t.Errorf("GET %s: %d %.200s", path, r.code, r.body)
		}
		for _, k := range unknown {
			if contains(known, k) {
				continue
			}
			r := owner.req("GET", path+"?"+url.Values{k: {"name"}}.Encode(), nil)
			if r.code != 400 || !strings.Contains(r.body, "Unknown filter") {
				t.Errorf("GET %s?%s=…: %d %.200s", path, k, r.code, r.body)
			}
		}
		for _, k := range known {
			for name, v := range hostileText {
				if len(v) > 4096 {
					v = v[:4096] // a URL, not a body: long enough to matter
				}
				r := owner.req("GET", path+"?"+k+"="+url.QueryEscape(v), nil)
				if r.code != 200 && r.code != 400 {
					t.Errorf("GET %s?%s=<%s>: %d %.200s", path, k, name, r.code, r.body)
				}
				if !json.Valid([]byte(r.body)) {
					t.Errorf("GET %s?%s=<%s>: not JSON: %.200s", path, k, name, r.body)
				}
			}
		}
	}
}

// TestMoreFreeTextUnicode: the staff API's other free-text inputs (a new
// staff member's name, a staff-created item's body, an appointment's
// provider, place and reason, a break-glass reason) take every hostile
// string with a 2xx or a 400 naming the field, never a 5xx, and the same
// input gets the same answer twice.
func TestMoreFreeTextUnicode(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	item := e.patientItem(t, pid, "Hello").Item.ID
	clinician := e.addStaff(owner, "Cal Clinician", "cal@maple.test", "clinician")
	n := 0
	for name, v := range hostileText {
		q := rawJSONString(v)
		cases := []struct {
			what, method, path string
			body               func() string
			as                 *user
		}{
			{"staff name", "POST", "/api/v1/staff", func() string {
				n++
				return fmt.Sprintf(`{"name":%s,"email":"s%d@maple.test","role":"frontdesk","password":"Temporary-Password-x"}`, q, n)
			}, owner},
			{"item body", "POST", "/api/v1/items", func() string {
				return `{"patient_id":"` + pid + `","type":"message","body":` + q + `}`
			}, owner},
			{"appointment text", "POST", "/api/v1/appointments", func() string {
				n++
				return fmt.Sprintf(`{"patient_id":"%s","starts_at":"2026-12-0%dT15:00:00Z","minutes":20,"provider":%s,"location":%s,"reason":%s}`, pid, 1+n%8, q, q, q)
			}, owner},
			{"break-glass reason", "POST", "/api/v1/patients/" + pid + "/break-glass", func() string { return `{"reason":` + q + `}` }, clinician},
			{"status reason", "POST", "/api/v1/items/" + item + "/status", func() string { return `{"status":"open","reason":` + q + `}` }, owner},
		}
		for _, c := range cases {
			var codes []int
			for i := 0; i < 2; i++ {
				r := c.as.req(c.method, c.path, c.body(), "Content-Type", "application/json")
				codes = append(codes, r.code)
				switch {
				case r.code/100 == 2:
				case r.code == 400 || r.code == 409 || r.code == 422:
					if !json.Valid([]byte(r.body)) {
						t.Errorf("%s <%s>: %d not JSON", c.what, name, r.code)
					}
				default:
					t.Errorf("%s <%s>: %d %.200s", c.what, name, r.code, r.body)
				}
			}
			if codes[0]/100 != codes[1]/100 {
				t.Errorf("%s <%s>: the same input answered %v", c.what, name, codes)
			}
		}
	}
}

// TestPatientComposeUnicode: a patient's message carrying each hostile
// string is stored as sent (staff read back the same text, as JSON carries
// it) or the form comes back with its error; never a 5xx.
func TestPatientComposeUnicode(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Ada Example", "1970-06-15")
	for name, v := range hostileText {
		r := u.form("/new?type=message", "/new", url.Values{"type": {"message"}, "body": {v}})
		switch {
		case r.code == 303:
			m := itemRe.FindStringSubmatch(r.h.Get("Location"))
			if m == nil {
				t.Fatalf("<%s>: redirect to %q", name, r.h.Get("Location"))
			}
			var th struct {
				Messages []struct {
					Body string `json:"body"`
				} `json:"messages"`
			}
			owner.req("GET", "/api/v1/items/"+m[1], nil).json(t, &th)
			if len(th.Messages) == 0 || th.Messages[0].Body != jsonSees(v) {
				t.Errorf("<%s>: the patient's message was not stored as sent", name)
			}
		case r.code >= 400 && r.code < 500:
			if !strings.Contains(r.body, "<form") {
				t.Errorf("<%s>: refused without the form to correct: %d", name, r.code)
			}
		default:
			t.Errorf("<%s>: %d %.200s", name, r.code, r.body)
		}
	}
}
