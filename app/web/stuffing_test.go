package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestCredentialStuffing (checklist 39): 1,000 wrong sign-ins over 100
// accounts (five real, the rest unknown) from 50 addresses, each from a
// fresh browser with a made-up session cookie, are counted on the server
// by account and by address, never by cookie: every account has used up
// its budget, and the next try at each, from any address, is 429. One
// address trying 30 accounts is held back too, and only that address.
// Staff who signed in from their own computer before still sign in there,
// and someone whose account was not tried signs in from anywhere: no
// lockout of the clinic. The owners are told: a high-severity audit event
// per held-back address or account, naming the address and never the
// email tried.
func TestCredentialStuffing(t *testing.T) {
	e := newEnv(t)
	owner := e.owner() // the owner's desk is 127.0.0.1
	e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	var real []string
	for i := 0; i < 3; i++ {
		email := fmt.Sprintf("staff%d@maple.test", i)
		e.addStaff(owner, fmt.Sprintf("Staff Number%d", i), email, "frontdesk")
		real = append(real, email)
	}
	e.addStaff(owner, "Una Untouched", "una@maple.test", "clinician")
	// Fran's desk: she signed in there before.
	desk := browserFrom(t, "127.0.0.2")
	if r := hit(t, desk, "POST", e.srv.URL+"/api/v1/login", map[string]string{"email": "fran@maple.test", "password": "Staff-Password-frontdesk"}); r.code != 200 {
		t.Fatalf("Fran at her desk: %d", r.code)
	}
	accounts := append([]string{ownerEmail, "fran@maple.test"}, real...)
	for len(accounts) < 100 {
		accounts = append(accounts, fmt.Sprintf("guess%03d@maple.test", len(accounts)))
	}
	try := func(i int, email string) resp {
		t.Helper()
		c := browserFrom(t, fmt.Sprintf("127.0.0.%d", 10+i%50)) // a fresh browser every time
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return hit(t, c, "POST", e.srv.URL+"/api/v1/login", map[string]string{"email": email, "password": "Summer2026!"},
			"Cookie", e.web.sessionCookie()+"="+hex.EncodeToString(b))
	}
	for i := 0; i < 1000; i++ {
		if r := try(i, accounts[i%100]); r.code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i, r.code, r.body)
		}
	}
	for i, a := range accounts {
		if r := try(i+7, a); r.code != http.StatusTooManyRequests {
			t.Errorf("account %d after its budget, from another address and cookie: %d", i, r.code)
		}
	}
	// One address trying many accounts.
	stuffer := browserFrom(t, "127.0.0.99")
	for i := 0; i < e.web.limits.PerClient; i++ {
		hit(t, stuffer, "POST", e.srv.URL+"/api/v1/login", map[string]string{"email": fmt.Sprintf("other%d@maple.test", i), "password": "x-wrong-1"})
	}
	if r := hit(t, stuffer, "POST", e.srv.URL+"/api/v1/login", map[string]string{"email": "una@maple.test", "password": "Staff-Password-clinician"}); r.code != http.StatusTooManyRequests {
		t.Errorf("the stuffing address, right password: %d, want 429", r.code)
	}
	// The clinic goes on.
	if r := hit(t, desk, "POST", e.srv.URL+"/api/v1/login", map[string]string{"email": "fran@maple.test", "password": "Staff-Password-frontdesk"}); r.code != 200 {
		t.Errorf("Fran at her own desk after the flood: %d %s", r.code, r.body)
	}
	if r := hit(t, browserFrom(t, "127.0.0.3"), "POST", e.srv.URL+"/api/v1/login", map[string]string{"email": "una@maple.test", "password": "Staff-Password-clinician"}); r.code != 200 {
		t.Errorf("an account nobody tried, from a new address: %d", r.code)
	}
	if r := hit(t, browserFrom(t, "127.0.0.1"), "POST", e.srv.URL+"/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass}); r.code != 200 {
		t.Errorf("the owner at the owner's desk after the flood: %d", r.code)
	}
	// The owners were told.
	r := owner.req("GET", "/api/v1/audit?action=staff.signin_flood&limit=500", nil)
	var out struct {
		Events []struct{ Action, Object, Client, Severity string }
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.code != 200 {
		t.Fatalf("audit: %d %v", r.code, err)
	}
	kinds := map[string]int{}
	for _, ev := range out.Events {
		kinds[ev.Object]++
		if ev.Severity != "high" || ev.Client == "" {
			t.Errorf("flood event %+v", ev)
		}
		if ev.Object == "address" && ev.Client != "127.0.0.99" {
			t.Errorf("an address flood blamed %s", ev.Client)
		}
	}
	if kinds["account"] < 100 || kinds["address"] != 1 {
		t.Errorf("flood events: %v, want one per account held back and one for the stuffing address", kinds)
	}
	if strings.Contains(r.body, "@maple.test") || strings.Contains(r.body, "Summer2026") {
		t.Error("the flood events carry what was tried")
	}
}
