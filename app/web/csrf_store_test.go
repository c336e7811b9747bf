package web

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"hearth/app/store"
)

// TestStaffCSRFNotStored: after a real sign-in, no record of the sessions
// bucket holds the CSRF token the login answered with (nor a "csrf" field);
// the session answer gives the same token again (the console after a
// reload); the check still takes the right token and refuses a wrong one.
func TestStaffCSRFNotStored(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	if len(owner.csrf) < 32 {
		t.Fatalf("login answered csrf %q", owner.csrf)
	}
	n := 0
	err := e.st.View(context.Background(), func(tx store.Tx) error {
		return tx.Each("sessions", "", func(id string, v []byte) error {
			n++
			if bytes.Contains(v, []byte(owner.csrf)) || bytes.Contains(v, []byte(`"csrf"`)) {
				t.Errorf("session record %s holds a csrf token: %s", id, v)
			}
			return nil
		})
	})
	if err != nil || n == 0 {
		t.Fatalf("reading the sessions bucket: %v (%d records)", err, n)
	}

	var s struct{ CSRF string }
	r := owner.req("GET", "/api/v1/session", nil)
	r.json(t, &s)
	if r.code != 200 || s.CSRF != owner.csrf {
		t.Fatalf("session answer: %d, csrf %q, login said %q", r.code, s.CSRF, owner.csrf)
	}

	body := map[string]string{"name": "Jorge Ruiz", "dob": "1950-07-04", "phone": "555-201-7777"}
	token := owner.csrf
	owner.csrf = token[:len(token)-1] + map[bool]string{true: "A", false: "B"}[!strings.HasSuffix(token, "A")]
	if r := owner.req("POST", "/api/v1/patients", body); r.code != 403 || !strings.Contains(r.body, `"csrf"`) {
		t.Fatalf("a wrong token: %d %s", r.code, r.body)
	}
	owner.csrf = token
	if r := owner.req("POST", "/api/v1/patients", body); r.code != 200 && r.code != 201 {
		t.Fatalf("the right token: %d %s", r.code, r.body)
	}
	// Another browser's session has another token, which this one cannot use.
	other := e.owner()
	if other.csrf == owner.csrf {
		t.Fatal("two sessions share a csrf token")
	}
	owner.csrf = other.csrf
	if r := owner.req("POST", "/api/v1/patients", body); r.code != 403 {
		t.Fatalf("another session's token: %d %s", r.code, r.body)
	}
}
