package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// enrolTOTP turns two-step sign-in on for u (signed in with email and
// password) and returns the secret.
func enrolTOTP(t *testing.T, e *env, u *user) string {
	t.Helper()
	r := u.req("POST", "/api/v1/me/totp", nil)
	var en struct{ Secret string }
	r.json(t, &en)
	if r.code != 200 || en.Secret == "" {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	if r := u.req("POST", "/api/v1/me/totp/confirm", map[string]string{"code": totpCode(t, en.Secret, e.clock.Now())}); r.code != 200 {
		t.Fatalf("confirm: %d %s", r.code, r.body)
	}
	return en.Secret
}

// TestWrongTOTPCodesUseTheSignInBudget (checklist 37): with the right
// password, wrong two-step codes (and wrong recovery codes) count against
// the account's and the address's sign-in budget exactly as wrong
// passwords do, so a search of the 10^6 codes gets PerAccount tries per
// window: after them even the right code is 429, until the window ends.
func TestWrongTOTPCodesUseTheSignInBudget(t *testing.T) {
	e := newEnv(t)
	secret := enrolTOTP(t, e, e.owner())
	e.clock.Add(30 * time.Second) // the next step: the confirm code is spent
	u := e.anon()
	limit := e.web.limits.PerAccount
	right := totpCode(t, secret, e.clock.Now())
	for i := 0; i < limit; i++ {
		wrong := fmt.Sprintf("%06d", i)
		if wrong == right {
			wrong = "999999"
		}
		if i%2 == 1 {
			wrong = "ABCD-EFGH-" + fmt.Sprint(i) // a wrong recovery code counts too
		}
		r := u.req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass, "totp": wrong})
		if r.code != http.StatusUnauthorized || !strings.Contains(r.body, "bad_totp") {
			t.Fatalf("wrong code %d: %d %s", i, r.code, r.body)
		}
	}
	r := e.anon().req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass, "totp": right})
	if r.code != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong codes the right code answered %d, want 429: the codes are not counted", limit, r.code)
	}
	// The hold ends with its window.
	e.clock.Add(e.web.limits.Window)
	if r := e.anon().req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass, "totp": totpCode(t, secret, e.clock.Now())}); r.code != 200 {
		t.Fatalf("after the window the right code: %d %s", r.code, r.body)
	}
}
