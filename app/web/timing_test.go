package web

import (
	"slices"
	"testing"
	"time"

	"hearth/app/clinic"
	"hearth/app/mail/mailtest"
)

// newEnvArgon is newEnv with a password hash of the given cost: a test of
// timing needs the hash to cost what it costs a real sign-in, relative to
// the rest of the request.
func newEnvArgon(t *testing.T, p clinic.Argon2Params) *env {
	t.Helper()
	// Budgets out of the way: this test is about time, not throttling.
	return newEnvWith(t, p, Limits{PerAccount: 1 << 20, PerClient: 1 << 20})
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestEnumerationTiming (checklist 38): over 100 samples each, taken in
// turn (alternating which goes first) so a busy machine slows both alike, a
// wrong password for an account that exists and any password for one that
// does not take the same time: medians within a factor of two, where an
// unknown account skipping the password hash is seven times faster. The
// hash costs a few milliseconds here, as a real one dominates a real
// sign-in. A sign-in link asked for an address on file writes a sealed link
// and email, about a millisecond more than the audit row written for an
// unknown one: medians within a factor of four, where skipping that row is
// eight times faster. The answers are identical, as other tests assert.
func TestEnumerationTiming(t *testing.T) {
	e := newEnvArgon(t, clinic.Argon2Params{Time: 1, MemKiB: 4 << 10, Threads: 1})
	owner := e.owner()
	srv, _ := mailtest.Start(t, "", "")
	if r := owner.req("PUT", "/api/v1/settings", map[string]any{"smtp_host": "127.0.0.1", "smtp_port": srv.Port(), "smtp_mode": "none",
		"mail_from": "front@maple.example", "public_url": "https://portal.maple.example"}); r.code != 200 {
		t.Fatalf("mail settings: %d %s", r.code, r.body)
	}
	e.addPatientEmail(owner, "Rosa Delgado", "1961-03-14", "rosa@example.com")
	const n = 100
	var known, unknown, linkKnown, linkUnknown []time.Duration
	timed := func(f func()) time.Duration { s := time.Now(); f(); return time.Since(s) }
	u := e.anon()
	for i := 0; i < n; i++ {
		pair := []struct {
			email string
			into  *[]time.Duration
		}{{ownerEmail, &known}, {"nobody@maple.test", &unknown}}
		if i%2 == 1 {
			pair[0], pair[1] = pair[1], pair[0] // neither always goes first
		}
		for _, c := range pair {
			var code int
			*c.into = append(*c.into, timed(func() {
				code = u.req("POST", "/api/v1/login", map[string]string{"email": c.email, "password": "Wrong-Password-123"}).code
			}))
			if code != 401 {
				t.Fatalf("login %s: %d", c.email, code)
			}
		}
		// The link form's own budget is per address per window: each pair
		// of samples is taken in a window of its own.
		e.clock.Add(16 * time.Minute)
		links := []struct {
			email string
			into  *[]time.Duration
		}{{"rosa@example.com", &linkKnown}, {"nobody@example.com", &linkUnknown}}
		if i%2 == 1 {
			links[0], links[1] = links[1], links[0]
		}
		for _, c := range links {
			v := e.anon()
			page := v.get("/link")
			fields := hiddenInputs(page.body)
			fields.Set("email", c.email)
			var code int
			*c.into = append(*c.into, timed(func() { code = v.post("/link", fields).code }))
			if code != 200 {
				t.Fatalf("link %s: %d", c.email, code)
			}
		}
	}
	for _, c := range []struct {
		what        string
		known, none []time.Duration
		factor      time.Duration
	}{{"staff sign-in", known, unknown, 2}, {"sign-in link", linkKnown, linkUnknown, 4}} {
		mk, mu := median(c.known), median(c.none)
		t.Logf("%s: median %v for an account on file, %v for none", c.what, mk, mu)
		if mu*c.factor < mk || mk*c.factor < mu {
			t.Errorf("%s: median %v for an account on file, %v for none: the time tells them apart", c.what, mk, mu)
		}
	}
}
