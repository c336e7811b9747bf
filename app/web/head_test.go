package web

import (
	"context"
	"net/http"
	"testing"

	"hearth/app/clinic"
)

// TestHeadOnAPatientLinkNeverActs (checklist 36): a HEAD, as a mail scanner
// sends to check a link, is answered as a GET on every patient page, so a
// page that serves its form and its action from one handler only shows:
// the "stop these emails" link in every email stays unclicked until the
// patient presses its button.
func TestHeadOnAPatientLinkNeverActs(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatientEmail(owner, "Rosa Delgado", "1961-03-14", "rosa@example.com")
	ctx := context.Background()
	me := clinic.Actor{Kind: clinic.ActorPatient, ID: pid, Patient: pid}
	if err := e.c.SetEmailReplies(ctx, me, true); err != nil {
		t.Fatal(err)
	}
	subscribed := func() bool {
		t.Helper()
		p, err := e.c.PatientOf(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		return p.EmailReplies
	}
	link := e.c.UnsubscribeLink(pid)
	scanner := e.anon()
	for i := 0; i < 3; i++ {
		if r := scanner.req("HEAD", link, nil); r.code != http.StatusOK || r.body != "" {
			t.Fatalf("HEAD %d: %d %q", i, r.code, r.body)
		}
		if r := scanner.req("GET", link, nil); r.code != http.StatusOK {
			t.Fatalf("GET %d: %d", i, r.code)
		}
	}
	for _, p := range []string{"/link", "/l/not-a-real-token", "/c/not-a-real-token", "/i/ABCDEFGH"} {
		if r := scanner.req("HEAD", p, nil); r.code >= 500 || r.code == http.StatusBadRequest || r.code == http.StatusForbidden {
			t.Errorf("HEAD %s: %d", p, r.code)
		}
	}
	if !subscribed() {
		t.Fatal("a HEAD or GET on the link unsubscribed the patient")
	}
	// The button does it.
	if r := e.anon().form(link, link, nil); r.code != http.StatusOK {
		t.Fatalf("the button: %d %s", r.code, r.body)
	}
	if subscribed() {
		t.Fatal("the button did not unsubscribe")
	}
}
