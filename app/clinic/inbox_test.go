package clinic

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/app/store"
)

type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time { return f.t }

// inboxClinic is a set-up clinic with a settable clock, the real urgent-word
// lists, an owner, a front-desk member, a clinician and two patients.
type inboxClinic struct {
	c                  *Clinic
	st                 store.Store
	clock              *fakeClock
	owner, front, clin Actor
	patA, patB         Actor
	events             *recorder
}

// recorder keeps the events the clinic published; writers may publish
// from several goroutines at once.
type recorder struct {
	mu  sync.Mutex
	evs []Event
}

func (r *recorder) Publish(e Event) { r.mu.Lock(); r.evs = append(r.evs, e); r.mu.Unlock() }

// list is a copy of the events so far.
func (r *recorder) list() []Event { r.mu.Lock(); defer r.mu.Unlock(); return slices.Clone(r.evs) }

// reset forgets the events so far.
func (r *recorder) reset() { r.mu.Lock(); r.evs = nil; r.mu.Unlock() }

func newInbox(t *testing.T) *inboxClinic {
	t.Helper()
	clock := &fakeClock{time.Date(2026, 11, 23, 10, 0, 0, 0, hoursNY(t))} // Monday 10:00
	ctx := context.Background()
	e := fixture(t).Env(t, clock.now, nil)
	st := e.Store
	rec := &recorder{}
	c := fixture(t).Open(t, Deps{Store: st, Vault: e.Vault, Now: clock.now, Events: rec, Files: os.DirFS("../../embed")})
	owner := fixture(t).Setup(t, c, SetupInput{})
	ic := &inboxClinic{c: c, st: st, clock: clock, events: rec}
	ic.owner = Actor{Kind: ActorStaff, ID: owner.ID, Role: RoleOwner}
	mk := func(name, email, role string) Actor {
		s, err := c.CreateStaff(ctx, ic.owner, StaffInput{Name: name, Email: email, Role: role, Password: "a-long-password-2"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return Actor{Kind: ActorStaff, ID: s.ID, Role: role}
	}
	ic.front = mk("Maria Front", "m@maple.test", RoleFrontDesk)
	ic.clin = mk("Carl Clinician", "c@maple.test", RoleClinician)
	pa, err := c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Ada Example", DOB: "1970-06-15"})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Bo Example", DOB: "1980-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	ic.patA = Actor{Kind: ActorPatient, ID: pa.ID, Patient: pa.ID}
	ic.patB = Actor{Kind: ActorPatient, ID: pb.ID, Patient: pb.ID}
	return ic
}

func TestItemRoutingDueAndAfterHours(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeRefill, Fields: map[string]string{"medication": "Lisinopril 10 mg", "pharmacy": "Main St Pharmacy"}})
	if err != nil {
		t.Fatal(err)
	}
	it := ack.Item
	if it.Queue != "refills" || it.Status != StatusNew || it.Priority != PriorityNormal || it.Subject != "Refill: Lisinopril 10 mg" {
		t.Fatalf("refill: %+v", it.ItemMeta)
	}
	// Refill target: 2 business days from Monday 10:00 → Wednesday 10:00.
	if got := it.Due.In(ic.clock.t.Location()); got.Weekday() != time.Wednesday || got.Hour() != 10 {
		t.Fatalf("refill due %v", got)
	}
	if ack.AfterHours {
		t.Fatal("Monday 10:00 is not after hours")
	}
	// Friday 18:00: after hours, due Monday 17:00, with the opening time.
	ic.clock.t = time.Date(2026, 11, 20, 18, 0, 0, 0, ic.clock.t.Location())
	ack, err = ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Question about my results"})
	if err != nil {
		t.Fatal(err)
	}
	due := ack.Item.Due.In(ic.clock.t.Location())
	if !ack.AfterHours || due.Weekday() != time.Monday || due.Hour() != 17 || ack.OpensAt.In(ic.clock.t.Location()).Hour() != 9 {
		t.Fatalf("after hours: %v due %v opens %v", ack.AfterHours, due, ack.OpensAt)
	}
	_, msgs, err := ic.c.PatientThread(ctx, ic.patA, ack.Item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Kind != KindSystem || msgs[1].Body != "after_hours" {
		t.Fatalf("thread: %+v", msgs)
	}
	// Urgent wording: clinical queue, urgent, due within the hour, delivered.
	ack, err = ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "I have crushing chest pain since this morning"})
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Urgent || ack.Item.Queue != UrgentQueue || ack.Item.Priority != PriorityUrgent || ack.Item.Due.Sub(ic.clock.t) != time.Hour {
		t.Fatalf("urgent: %+v", ack.Item.ItemMeta)
	}
	if len(ic.events.list()) != 3 || ic.events.list()[2].ItemID != ack.Item.ID || ic.events.list()[2].Priority != PriorityUrgent {
		t.Fatalf("events: %+v", ic.events.list())
	}
}

func TestItemValidation(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	cases := []struct {
		in    NewItem
		field string
	}{
		{NewItem{Type: "spam", Body: "x"}, "type"},
		{NewItem{Type: TypeMessage, Body: "   "}, "body"},
		{NewItem{Type: TypeRefill, Fields: map[string]string{"pharmacy": "Main St"}}, "medication"},
		{NewItem{Type: TypeCallback, Fields: map[string]string{"phone": "12"}}, "phone"},
		{NewItem{Type: TypeMessage, Body: strings.Repeat("a", maxBody+1)}, "body"},
		{NewItem{Type: TypeMessage, Body: "bad \x00 byte"}, "body"},
	}
	for _, tc := range cases {
		_, err := ic.c.CreateItem(ctx, ic.patA, tc.in)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%+v: %v, want an input error on %s", tc.in.Type, err, tc.field)
		}
	}
	// A patient cannot file for someone else: the patient id comes from the actor.
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "hello", PatientID: ic.patB.Patient})
	if err != nil || ack.Item.PatientID != ic.patA.Patient {
		t.Fatalf("patient id taken from input: %v %v", err, ack.Item.PatientID)
	}
}

func TestInboxAccessAndReadReceipts(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	msg, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Can I get a flu shot?"})
	if err != nil {
		t.Fatal(err)
	}
	urgent, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "I want to kill myself"})
	if err != nil {
		t.Fatal(err)
	}
	if urgent.Item.Queue != UrgentQueue {
		t.Fatalf("urgent routed to %s", urgent.Item.Queue)
	}
	rows, err := ic.c.ListItems(ctx, ic.front, ItemFilter{})
	if err != nil || len(rows) != 1 || rows[0].ID != msg.Item.ID || rows[0].PatientName != "Ada Example" {
		t.Fatalf("front desk inbox: %+v %v", rows, err)
	}
	if rows, err = ic.c.ListItems(ctx, ic.owner, ItemFilter{}); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ID != urgent.Item.ID {
		t.Fatalf("owner inbox, urgent first: %+v", rows)
	}
	if _, err := ic.c.ListItems(ctx, ic.front, ItemFilter{Queue: "clinical"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("front desk listing the clinical queue: %v", err)
	}
	if _, err := ic.c.GetItem(ctx, ic.front, urgent.Item.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("front desk opening a clinical item: %v", err)
	}
	// Read receipt: the patient sees who opened it, once per person.
	v, err := ic.c.GetItem(ctx, ic.front, msg.Item.ID)
	if err != nil || v.Patient == nil || len(v.Messages) != 1 {
		t.Fatalf("open: %+v %v", v, err)
	}
	if _, err := ic.c.GetItem(ctx, ic.front, msg.Item.ID); err != nil {
		t.Fatal(err)
	}
	it, _, err := ic.c.PatientThread(ctx, ic.patA, msg.Item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(it.SeenBy) != 1 || it.SeenBy[0].Name != "Maria" || it.SeenBy[0].Role != RoleFrontDesk {
		t.Fatalf("seen by: %+v", it.SeenBy)
	}
	// Patient B learns nothing of A's items.
	if _, _, err := ic.c.PatientThread(ctx, ic.patB, msg.Item.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("patient B read A's thread: %v", err)
	}
	if _, err := ic.c.AddMessage(ctx, ic.patB, msg.Item.ID, "hi", false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("patient B replied on A's item: %v", err)
	}
	items, err := ic.c.PatientItems(ctx, ic.patB)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Fatalf("patient B's list shows %d items", len(items))
	}
}

func TestThreadNotesReplyReopen(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Results?"})
	if err != nil {
		t.Fatal(err)
	}
	id := ack.Item.ID
	if _, err := ic.c.AddMessage(ctx, ic.front, id, "Called the lab.", true); err != nil {
		t.Fatal(err)
	}
	ic.clock.t = ic.clock.t.Add(30 * time.Minute)
	if _, err := ic.c.AddMessage(ctx, ic.front, id, "Your results are normal.", false); err != nil {
		t.Fatal(err)
	}
	it, msgs, err := ic.c.PatientThread(ctx, ic.patA, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == KindNote || strings.Contains(m.Body, "lab") {
			t.Fatal("an internal note reached the patient")
		}
	}
	if msgs[len(msgs)-1].AuthorName != "Maria" || msgs[len(msgs)-1].AuthorRole != RoleFrontDesk {
		t.Fatalf("reply signature: %+v", msgs[len(msgs)-1])
	}
	if it.Status != StatusOpen || it.FirstReply.IsZero() {
		t.Fatalf("after the first reply: %+v", it.ItemMeta)
	}
	if _, err := ic.c.SetStatus(ctx, ic.front, id, StatusChange{Status: StatusClosed}); err != nil {
		t.Fatal(err)
	}
	if err := ic.c.Feedback(ctx, ic.patA, id, "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AddMessage(ctx, ic.patA, id, "One more question", false); err != nil {
		t.Fatal(err)
	}
	if it, _, err = ic.c.PatientThread(ctx, ic.patA, id); err != nil {
		t.Fatal(err)
	}
	if it.Status != StatusOpen {
		t.Fatalf("a patient reply did not reopen the closed item: %s", it.Status)
	}
	// Refills end with an outcome; declining needs a reason the patient reads.
	rf, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeRefill, Fields: map[string]string{"medication": "X", "pharmacy": "Y"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.SetStatus(ctx, ic.clin, rf.Item.ID, StatusChange{Status: StatusClosed}); err == nil {
		t.Fatal("a refill closed without an outcome")
	}
	if _, err := ic.c.SetStatus(ctx, ic.clin, rf.Item.ID, StatusChange{Status: StatusClosed, Outcome: "declined"}); err == nil {
		t.Fatal("a refill declined without a reason")
	}
	if it, err := ic.c.SetStatus(ctx, ic.clin, rf.Item.ID, StatusChange{Status: StatusClosed, Outcome: "declined", Reason: "Please book a visit first."}); err != nil || it.ClosedReason == "" {
		t.Fatalf("decline: %v", err)
	}
}

func TestAssignAndBreakGlass(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Billing question"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.Assign(ctx, ic.owner, ack.Item.ID, ic.front.ID); err != nil {
		t.Fatal(err)
	}
	it, msgs, err := ic.c.PatientThread(ctx, ic.patA, ack.Item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if it.Assignee != ic.front.ID || msgs[len(msgs)-1].Body != "assigned:Maria" {
		t.Fatalf("assign: %s %+v", it.Assignee, msgs)
	}
	// A billing item: outside the clinician's queues.
	bill, err := ic.c.CreateItem(ctx, ic.owner, NewItem{Type: TypeBilling, Body: "Statement", PatientID: ic.patA.Patient})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.Assign(ctx, ic.owner, bill.Item.ID, ic.clin.ID); err == nil {
		t.Fatal("assigned to someone outside the queue")
	}
	if _, err := ic.c.GetItem(ctx, ic.clin, bill.Item.ID); !errors.Is(err, ErrBreakGlass) {
		t.Fatalf("clinician outside queue: %v", err)
	}
	if err := ic.c.BreakGlass(ctx, ic.clin, ic.patA.Patient, "short"); err == nil {
		t.Fatal("break-glass without a real reason")
	}
	ic.events.reset()
	if err := ic.c.BreakGlass(ctx, ic.clin, ic.patA.Patient, "Patient called about a reaction to the new medicine"); err != nil {
		t.Fatal(err)
	}
	// The owners are told at once, and only they (the event's queue is no
	// one else's), with no name, patient or reason in it.
	evs := ic.events.list()
	if len(evs) != 1 || evs[0].Type != EventBreakGlass || evs[0].Queue != OwnerQueue || evs[0].ItemID != "" {
		t.Fatalf("break-glass notice: %+v", evs)
	}
	settings, err := ic.c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !settings.MayQueue(RoleOwner, OwnerQueue) || settings.MayQueue(RoleClinician, OwnerQueue) || settings.MayQueue(RoleFrontDesk, OwnerQueue) {
		t.Fatal("the break-glass notice reaches someone other than the owners")
	}
	if _, err := ic.c.GetItem(ctx, ic.clin, bill.Item.ID); err != nil {
		t.Fatalf("after break-glass: %v", err)
	}
	log, err := ic.c.AuditLog(ctx, ic.owner, auditFilterAction("breakglass.open"), false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Severity != "high" || log[0].ActorName != "Carl Clinician" {
		t.Fatalf("break-glass audit: %+v", log)
	}
	ic.clock.t = ic.clock.t.Add(61 * time.Minute)
	if _, err := ic.c.GetItem(ctx, ic.clin, bill.Item.ID); !errors.Is(err, ErrBreakGlass) {
		t.Fatalf("break-glass outlived its hour: %v", err)
	}
}

func TestOverdueEscalationAndSweep(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeCallback, Fields: map[string]string{"phone": "555-201-3344"}})
	if err != nil {
		t.Fatal(err)
	}
	ic.events.reset()
	if err := ic.c.EveryMinute(ctx); err != nil || len(ic.events.list()) != 0 {
		t.Fatalf("nothing is overdue yet: %v %+v", err, ic.events.list())
	}
	ic.clock.t = ack.Item.Due.Add(time.Minute)
	if err := ic.c.EveryMinute(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ic.c.EveryMinute(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ic.events.list()) != 1 || ic.events.list()[0].Type != "item.overdue" || ic.events.list()[0].Queue != "frontdesk" {
		t.Fatalf("overdue alert (once): %+v", ic.events.list())
	}
	ic.clock.t = ack.Item.Due.Add(EscalateAfter + time.Minute)
	if err := ic.c.EveryMinute(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ic.events.list()) != 2 || ic.events.list()[1].Type != "item.escalated" {
		t.Fatalf("escalation: %+v", ic.events.list())
	}
	// Closing time (17:00 Monday): one sweep alert a day.
	ic.clock.t = time.Date(2026, 11, 23, 17, 1, 0, 0, hoursNY(t))
	ic.events.reset()
	for i := 0; i < 2; i++ {
		if err := ic.c.EveryMinute(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sweeps := 0
	for _, e := range ic.events.list() {
		if e.Type == "sweep" {
			sweeps++
		}
	}
	if sweeps != 1 {
		t.Fatalf("closing sweep alerts: %d", sweeps)
	}
	rows, err := ic.c.Sweep(ctx, ic.front)
	if err != nil || len(rows) != 1 || !slices.Contains(rows[0].Reasons, "unanswered") || !slices.Contains(rows[0].Reasons, "unassigned") {
		t.Fatalf("sweep: %+v %v", rows, err)
	}
	if _, err := ic.c.LogAttempt(ctx, ic.front, ack.Item.ID, "tried at 10:05, no answer"); err != nil {
		t.Fatal(err)
	}
	it, _, err := ic.c.PatientThread(ctx, ic.patA, ack.Item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(it.Attempts) != 1 || it.Attempts[0].Name != "Maria" {
		t.Fatalf("attempts: %+v", it.Attempts)
	}
	wl, err := ic.c.Workload(ctx, ic.owner)
	if err != nil || wl.ByType[TypeCallback] != 1 || wl.Unassigned != 1 {
		t.Fatalf("workload: %+v %v", wl, err)
	}
}

func TestTemplatesChartAndContactLink(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "When is my next visit?"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := ic.c.RenderTemplate(ctx, ic.front, "call-us", ack.Item.ID)
	if err != nil || !strings.HasPrefix(body, "Hi Ada,") || !strings.Contains(body, "— Maria") {
		t.Fatalf("template: %q %v", body, err)
	}
	text, err := ic.c.ChartSummary(ctx, ic.front, ack.Item.ID)
	if err != nil || !strings.HasPrefix(text, "Patient: Ada Example  DOB: 1970-06-15") || !strings.Contains(text, "When is my next visit?") {
		t.Fatalf("chart: %q %v", text, err)
	}
	if log, err := ic.c.AuditLog(ctx, ic.owner, auditFilterAction("item.export"), false, 0); err != nil || len(log) != 1 {
		t.Fatalf("chart copy not audited as an export: %d (%v)", len(log), err)
	}
	// An unverified contact, then linked to patient A after a side-by-side check.
	cack, token, err := ic.c.CreateContact(ctx, PatientInput{Name: "Ada Example", DOB: "06/15/1970", Phone: "555-201-3344"},
		NewItem{Type: TypeMessage, Body: "I lost my letter"}, "1.2.3.4")
	if err != nil || token == "" || cack.Item.ContactID == "" {
		t.Fatalf("contact: %v", err)
	}
	if _, _, err := ic.c.CheckContactDOB(ctx, token, "1970-06-16", "1.2.3.4"); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("wrong dob on the private link: %v", err)
	}
	_, ca, err := ic.c.CheckContactDOB(ctx, token, "1970-06-15", "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ic.c.PatientThread(ctx, ca, cack.Item.ID); err != nil {
		t.Fatalf("the contact's own thread: %v", err)
	}
	rows, err := ic.c.ListItems(ctx, ic.front, ItemFilter{Unverified: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].PatientName != "Ada Example" {
		t.Fatalf("unverified filter: %+v", rows)
	}
	if n, err := ic.c.LinkContact(ctx, ic.front, cack.Item.ContactID, ic.patA.Patient); err != nil || n != 1 {
		t.Fatalf("link: %d %v", n, err)
	}
	it, msgs, err := ic.c.PatientThread(ctx, ic.patA, cack.Item.ID)
	if err != nil || it.PatientID != ic.patA.Patient || len(msgs) == 0 || msgs[0].Body != "I lost my letter" {
		t.Fatalf("after linking, patient A owns the thread: %v %+v", err, it.ItemMeta)
	}
	rep, err := ic.c.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify after linking: %v", rep.Problems)
	}
}

// TestQueueCountsStayExact: the kept counts always equal a recount from
// the items, through creates, status changes and reassignment, and the
// schema migration rebuilds them for an older database.
func TestQueueCountsStayExact(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	recount := func() map[string]queueTally { return recountQueues(t, ic) }
	check := func(when string) {
		t.Helper()
		want := recount()
		got, err := ic.c.QueueCounts(ctx, ic.owner)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range got {
			w := want[g.Queue.ID]
			if g.Open != w.Open || g.New != w.New || g.Urgent != w.Urgent {
				t.Fatalf("%s: queue %s counts %+v, recount %+v", when, g.Queue.ID, g, w)
			}
		}
	}
	var ids []string
	for i, body := range []string{"Refill please", "I have chest pain", "Billing question", "Another question"} {
		ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: body + strings.Repeat("!", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ack.Item.ID)
	}
	check("after creating")
	if _, err := ic.c.GetItem(ctx, ic.front, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.Assign(ctx, ic.owner, ids[2], ic.front.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.SetStatus(ctx, ic.owner, ids[3], StatusChange{Status: StatusClosed}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AddMessage(ctx, ic.patA, ids[3], "Reopening", false); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.SetStatus(ctx, ic.clin, ids[1], StatusChange{Status: StatusWaiting}); err != nil {
		t.Fatal(err)
	}
	check("after working them")
	// An older database: no counts, schema 1. Opening migrates.
	err := ic.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Each(bucketQueueCounts, "", func(id string, _ []byte) error { return tx.Delete(bucketQueueCounts, id) }); err != nil {
			return err
		}
		return tx.Put(MetaBucket, "schema", []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	ic.c = fixture(t).Open(t, Deps{Store: ic.st, Vault: ic.c.v, Now: ic.clock.now, Files: ic.c.files})
	check("after migrating")
}

// metasEntryByEntry is the inbox walk as ListItems did it before scanMetas:
// one getMetaRec per index entry. TestChunkedWalksMatchEntryByEntry holds
// the chunked walks to it.
func metasEntryByEntry(t *testing.T, ic *inboxClinic, a Actor, f ItemFilter) []string {
	t.Helper()
	ctx := context.Background()
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	settings, err := ic.c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	queues := []string{f.Queue}
	if f.Queue == "" {
		queues = nil
		for _, q := range settings.QueuesFor(a.Role) {
			queues = append(queues, q.ID)
		}
	}
	now := ic.c.now()
	var metas []ItemMeta
	err = ic.st.View(ctx, func(tx store.Tx) error {
		collect := func(ix string, prefix []byte, allowed func(ItemMeta) bool) error {
			n := 0
			return tx.Scan(ix, store.Range{Prefix: prefix}, func(_ []byte, id string) error {
				m, err := getMetaRec(tx, id)
				if err != nil {
					return err
				}
				if allowed(m) && f.match(m, now) {
					metas = append(metas, m)
					if n++; n >= f.Limit {
						return store.ErrStop
					}
				}
				return nil
			})
		}
		if f.Status != "" && f.Queue == "" {
			return collect(ixStatus, append([]byte(f.Status), 0), func(m ItemMeta) bool { return slices.Contains(queues, m.Queue) })
		}
		for _, q := range queues {
			open := byte(0)
			if f.Status == StatusClosed {
				open = 1
			}
			if err := collect(ixQueue, append([]byte(q), 0, open), func(ItemMeta) bool { return true }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(metas, func(x, y ItemMeta) int {
		if x.Priority != y.Priority {
			if x.Priority == PriorityUrgent {
				return -1
			}
			return 1
		}
		return x.Due.Compare(y.Due)
	})
	ids := make([]string, 0, f.Limit)
	for i, m := range metas {
		if i == f.Limit {
			break
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// TestChunkedWalksMatchEntryByEntry: ListItems and the patient item lists
// read metas a chunk at a time (scanMetas); for every filter they return
// exactly what a walk reading one meta per index entry returns, across chunk
// boundaries and limits on both sides of a chunk.
func TestChunkedWalksMatchEntryByEntry(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	res, err := ic.c.BulkLoad(ctx, BulkSpec{Patients: 3, Items: 700, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"I lost my letter", "Please call me"} {
		if _, _, err := ic.c.CreateContact(ctx, PatientInput{Name: "Cy Contact", DOB: "1990-02-03", Phone: "555-201-9999"},
			NewItem{Type: TypeMessage, Body: body}, "1.2.3.4"); err != nil {
			t.Fatal(err)
		}
	}
	settings, err := ic.c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assigned := 0
	for _, id := range res.ItemIDs {
		if assigned == 70 {
			break
		}
		var m ItemMeta
		if err := ic.st.View(ctx, func(tx store.Tx) error { m, err = getMetaRec(tx, id); return err }); err != nil {
			t.Fatal(err)
		}
		if m.Status == StatusClosed || !settings.mayQueue(RoleFrontDesk, m.Queue) {
			continue
		}
		if _, err := ic.c.Assign(ctx, ic.owner, id, ic.front.ID); err != nil {
			t.Fatal(err)
		}
		assigned++
	}
	// Half the bulk items (created over the last 60 days) are overdue.
	ic.clock.t = ic.clock.t.AddDate(0, 0, -30)

	filters := []ItemFilter{{}, {Overdue: true}, {Unverified: true}, {Assignee: "none"}, {Assignee: ic.front.ID}, {Assignee: ic.front.ID, Overdue: true}}
	for _, limit := range []int{1, 50, 63, 64, 65, 129, 200, 500} {
		filters = append(filters, ItemFilter{Limit: limit}, ItemFilter{Limit: limit, Status: StatusClosed}, ItemFilter{Limit: limit, Assignee: "none"})
	}
	for _, s := range Statuses {
		filters = append(filters, ItemFilter{Status: s, Limit: 200}, ItemFilter{Status: s, Overdue: true})
		for _, q := range settings.queues() {
			filters = append(filters, ItemFilter{Status: s, Queue: q.ID, Limit: 200})
		}
	}
	for _, typ := range ItemTypes {
		filters = append(filters, ItemFilter{Type: typ, Limit: 200}, ItemFilter{Type: typ, Status: StatusClosed, Limit: 200})
	}
	for _, p := range []string{PriorityUrgent, PriorityNormal} {
		filters = append(filters, ItemFilter{Priority: p, Limit: 200}, ItemFilter{Priority: p, Status: StatusClosed, Limit: 200})
	}
	for _, q := range settings.queues() {
		filters = append(filters, ItemFilter{Queue: q.ID, Limit: 200}, ItemFilter{Queue: q.ID, Overdue: true, Assignee: "none"})
	}
	lists, nonEmpty := 0, 0
	for _, a := range []Actor{ic.owner, ic.front, ic.clin} {
		for _, f := range filters {
			rows, err := ic.c.ListItems(ctx, a, f)
			if errors.Is(err, ErrForbidden) && f.Queue != "" {
				continue // not this role's queue
			}
			if err != nil {
				t.Fatalf("%s %+v: %v", a.Role, f, err)
			}
			want := metasEntryByEntry(t, ic, a, f)
			got := make([]string, len(rows))
			for i, r := range rows {
				got[i] = r.ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %+v: ListItems gave %d rows, entry by entry %d; first difference at %d",
					a.Role, f, len(got), len(want), firstDiff(got, want))
			}
			lists++
			if len(want) > 0 {
				nonEmpty++
			}
		}
	}
	if nonEmpty < lists*2/3 {
		t.Fatalf("only %d of %d lists had rows: the data does not exercise the filters", nonEmpty, lists)
	}

	// A patient's own list: newest first, at most 200, across chunks.
	for _, p := range res.PatientIDs {
		var want []string
		err := ic.st.View(ctx, func(tx store.Tx) error {
			return tx.Scan(ixOwner, store.Range{Prefix: append([]byte(p), 0), Reverse: true, Limit: 200}, func(_ []byte, id string) error {
				want = append(want, id)
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		metas, err := ic.c.ownerMetas(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(metas))
		for i, m := range metas {
			got[i] = m.ID
			if i > 0 && m.Created.After(metas[i-1].Created) {
				t.Fatalf("patient list not newest first at %d", i)
			}
		}
		if len(want) < 200 || !slices.Equal(got, want) {
			t.Fatalf("patient %s: ownerMetas gave %d items, the index %d", p, len(got), len(want))
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// recountQueues counts every open item's meta queue by queue, the slow way,
// to hold QueueCounts' running tallies against.
func recountQueues(t *testing.T, ic *inboxClinic) map[string]queueTally {
	t.Helper()
	m := map[string]queueTally{}
	err := ic.st.View(context.Background(), func(tx store.Tx) error {
		return tx.Each(bucketItemMeta, "", func(_ string, v []byte) error {
			var im ItemMeta
			if err := json.Unmarshal(v, &im); err != nil {
				return err
			}
			if im.Status != StatusClosed {
				q := m[im.Queue]
				q.Open++
				if im.Status == StatusNew {
					q.New++
				}
				if im.Priority == PriorityUrgent {
					q.Urgent++
				}
				m[im.Queue] = q
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
