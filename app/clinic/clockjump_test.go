package clinic

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
)

// Checklist line 14: the office PC's clock jumps a day back or forward (a
// dead CMOS battery, a mistyped date, NTP correcting either). Every expiry
// Hearth keeps is a wall-clock instant stored with its record, compared with
// the clinic's clock (Deps.Now) when next checked; what each does under a
// jump is in docs/SECURITY.md, "Clock jumps", and these tests hold it:
//
//   - a forward jump past an expiry ends what expired (sessions, links,
//     break-glass windows): Hearth fails closed;
//   - a backward jump does not end anything early, and does not undo a
//     use-once mark (sign-in links, invites), a sent reminder or an alert;
//   - the audit trail is ordered by sequence number, not by time.

const day = 24 * time.Hour

// Sessions: a day forward ends the session (idle expiry and the absolute
// limit); a day back keeps it, and the activity recorded during the skew
// ends it once the clock is put right (idle expiry measured from that
// activity), rather than stretching it.
func TestClockJumpSessions(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	owner, err := ic.c.Staff(ctx, ic.owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	t0 := ic.clock.t

	tok, _, err := ic.c.StartSession(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	ic.clock.t = t0.Add(day)
	if _, _, err := ic.c.SessionFor(ctx, tok, true); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("a session a day later (clock forward): %v", err)
	}
	// Putting the clock back does not revive it: the ended session is gone.
	ic.clock.t = t0.Add(time.Minute)
	if _, _, err := ic.c.SessionFor(ctx, tok, true); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("an ended session after the clock came back: %v", err)
	}

	tok, _, err = ic.c.StartSession(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	// A small step back (an NTP correction) leaves it alone.
	ic.clock.t = t0.Add(-time.Minute)
	if sess, _, err := ic.c.SessionFor(ctx, tok, true); err != nil || sess.Locked {
		t.Fatalf("a session after the clock stepped back a minute: %+v %v", sess, err)
	}
	// A day back: the session was made "in the future", so it ends rather
	// than living a day past its absolute limit.
	ic.clock.t = t0.Add(time.Minute - day)
	if _, _, err := ic.c.SessionFor(ctx, tok, true); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("a session after the clock went back a day: %v", err)
	}
	ic.clock.t = t0.Add(2 * time.Minute)
	if _, _, err := ic.c.SessionFor(ctx, tok, true); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("an ended session after the clock was put right: %v", err)
	}
}

// Sign-in links (15 minutes) and invites (30 days): a forward jump past the
// expiry refuses them; a backward jump keeps them usable, but only once.
func TestClockJumpLinksAndInvites(t *testing.T) {
	ic, _ := mailClinic(t)
	ctx := context.Background()
	t0 := ic.clock.t
	if _, err := ic.c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Rosa Delgado", DOB: "1961-03-14", Email: "rosa@example.com"}); err != nil {
		t.Fatal(err)
	}
	linkRe := regexp.MustCompile(`/l/([A-Za-z0-9_-]+)`)
	tokens := func() map[string]bool {
		t.Helper()
		out := map[string]bool{}
		for _, m := range outbox(t, ic) {
			if sub := linkRe.FindStringSubmatch(m.Body); sub != nil {
				out[sub[1]] = true
			}
		}
		return out
	}
	newLink := func() string {
		t.Helper()
		before := tokens()
		if err := ic.c.RequestSignInLink(ctx, "rosa@example.com", "test"); err != nil {
			t.Fatal(err)
		}
		for tok := range tokens() {
			if !before[tok] {
				return tok
			}
		}
		t.Fatal("no new sign-in link in the outbox")
		return ""
	}

	link := newLink()
	ic.clock.t = t0.Add(day)
	if _, _, err := ic.c.UseSignInLink(ctx, link, "1961-03-14", "phone", false, "test"); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("a 15-minute link a day later: %v", err)
	}

	ic.clock.t = t0
	link = newLink()
	ic.clock.t = t0.Add(-day)
	if _, _, err := ic.c.UseSignInLink(ctx, link, "1961-03-14", "phone", false, "test"); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("a link made \"in the future\" (the clock went back a day): %v", err)
	}
	ic.clock.t = t0
	link = newLink()
	ic.clock.t = t0.Add(-time.Minute) // an NTP step back
	if _, _, err := ic.c.UseSignInLink(ctx, link, "1961-03-14", "phone", false, "test"); err != nil {
		t.Fatalf("a fresh link after the clock stepped back a minute: %v", err)
	}
	ic.clock.t = t0.Add(-2 * time.Minute)
	if _, _, err := ic.c.UseSignInLink(ctx, link, "1961-03-14", "phone", false, "test"); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("a used link, the clock further back: %v", err)
	}

	ic.clock.t = t0
	_, code, err := ic.c.CreateInvite(ctx, ic.front, ic.patA.Patient, "")
	if err != nil {
		t.Fatal(err)
	}
	ic.clock.t = t0.Add(InviteLifetime + day)
	if _, err := ic.c.LookupInvite(ctx, code); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("an invite a day past its 30 days: %v", err)
	}
	ic.clock.t = t0.Add(day)
	if _, err := ic.c.LookupInvite(ctx, code); err != nil {
		t.Fatalf("an invite a day into its 30 days: %v", err)
	}
	ic.clock.t = t0.Add(-day)
	if _, _, err := ic.c.RedeemInvite(ctx, code, "1970-06-15", "tablet", false, "test"); err != nil {
		t.Fatalf("redeem after the clock went back: %v", err)
	}
	ic.clock.t = t0.Add(-2 * day)
	if _, _, err := ic.c.RedeemInvite(ctx, code, "1970-06-15", "tablet", false, "test"); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("a used invite, the clock further back: %v", err)
	}
}

// Break-glass (one hour): a day forward ends the window.
func TestClockJumpBreakGlass(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	t0 := ic.clock.t
	bill, err := ic.c.CreateItem(ctx, ic.owner, NewItem{Type: TypeBilling, Body: "Statement", PatientID: ic.patA.Patient})
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.c.BreakGlass(ctx, ic.clin, ic.patA.Patient, "Patient called about a reaction to the new medicine"); err != nil {
		t.Fatal(err)
	}
	ic.clock.t = t0.Add(day)
	if _, err := ic.c.GetItem(ctx, ic.clin, bill.Item.ID); !errors.Is(err, ErrBreakGlass) {
		t.Fatalf("break-glass a day later: %v", err)
	}
	ic.clock.t = t0.Add(30 * time.Minute)
	if _, err := ic.c.GetItem(ctx, ic.clin, bill.Item.ID); err != nil {
		t.Fatalf("break-glass within its hour once the clock is right again: %v", err)
	}
}

// Reminders go once per lead time and overdue alerts once per stage, however
// the clock moves; the audit trail keeps sequence order when time runs
// backwards.
func TestClockJumpRemindersAlertsAndAuditOrder(t *testing.T) {
	ic, _ := mailClinic(t)
	ctx := context.Background()
	t0 := ic.clock.t
	start := t0.Add(72 * time.Hour)
	if _, _, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patA.Patient, StartsAt: start, Minutes: 20}); err != nil {
		t.Fatal(err)
	}
	remind := func() int {
		t.Helper()
		n, err := ic.c.SendReminders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ic.clock.t = start.Add(-47 * time.Hour)
	if n := remind(); n != 1 {
		t.Fatalf("the two-day reminder: %d", n)
	}
	ic.clock.t = start.Add(-47*time.Hour - day) // back a day: before the lead time again
	if n := remind(); n != 0 {
		t.Fatalf("a reminder re-sent after the clock went back: %d", n)
	}
	ic.clock.t = start.Add(-47 * time.Hour)
	if n := remind(); n != 0 {
		t.Fatalf("a reminder re-sent after the clock came forward again: %d", n)
	}
	ic.clock.t = start.Add(-23 * time.Hour)
	if n := remind(); n != 1 {
		t.Fatalf("the one-day reminder: %d", n)
	}

	ic.clock.t = t0
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeCallback, Fields: map[string]string{"phone": "555-201-3344"}})
	if err != nil {
		t.Fatal(err)
	}
	ic.events.reset()
	tick := func() {
		t.Helper()
		if _, err := ic.c.TickOverdue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ic.clock.t = ack.Item.Due.Add(day) // a day forward: overdue and past escalation
	tick()
	ic.clock.t = ack.Item.Due.Add(-day) // back: not due at all
	tick()
	ic.clock.t = ack.Item.Due.Add(day + time.Minute)
	tick()
	var alerts []string
	for _, e := range ic.events.list() {
		if e.ItemID == ack.Item.ID {
			alerts = append(alerts, e.Type)
		}
	}
	if len(alerts) != 1 || alerts[0] != "item.escalated" {
		t.Fatalf("overdue alerts across the jumps: %v (want one item.escalated)", alerts)
	}

	// Audit: an event written after the clock went back carries the earlier
	// time, a higher sequence number, and the chain verifies.
	ic.clock.t = t0.Add(2 * day)
	if err := ic.c.Audit(ctx, ic.owner, AuditEvent{Action: "test.late", Object: "clock"}); err != nil {
		t.Fatal(err)
	}
	ic.clock.t = t0.Add(-day)
	if err := ic.c.Audit(ctx, ic.owner, AuditEvent{Action: "test.early", Object: "clock"}); err != nil {
		t.Fatal(err)
	}
	var all []audit.Event
	if err := ic.st.View(ctx, func(tx store.Tx) error {
		key, err := ic.c.v.AuditKey()
		if err != nil {
			return err
		}
		if _, err := audit.Verify(tx, key); err != nil {
			return err
		}
		all, err = audit.List(tx, audit.Filter{Limit: 100000})
		return err
	}); err != nil {
		t.Fatalf("audit chain across the jump: %v", err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("audit events out of sequence at %d: %d after %d", i, all[i].Seq, all[i-1].Seq)
		}
	}
	n := len(all)
	if n < 2 || all[n-2].Action != "test.late" || all[n-1].Action != "test.early" || !all[n-1].At.Before(all[n-2].At) {
		t.Fatalf("the last two audit events: %+v", all[max(0, n-2):])
	}
	// The console's newest-first page follows the sequence too.
	log, err := ic.c.AuditLog(ctx, ic.owner, audit.Filter{Limit: 2}, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Action != "test.early" || log[1].Action != "test.late" {
		t.Fatalf("newest-first audit page: %+v", log)
	}
}
