package clinic

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"hearth/app/mail"
)

// TestBookFromRequest: booking from an appointment request creates the
// appointment, closes the request as booked with the two linked both ways,
// writes the line the patient reads, queues the usual reply email (no PHI)
// and audits it; past times, closed days, another patient's id, a request
// of another type and a second booking are refused and change nothing.
func TestBookFromRequest(t *testing.T) {
	ic, srv := mailClinic(t)
	ctx := context.Background()
	loc := ic.clock.t.Location()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeAppointment,
		Fields: map[string]string{"reason": "Knee pain review", "preferred": "Tuesday morning", "provider": "Dr. Patel"}})
	if err != nil {
		t.Fatal(err)
	}
	id := ack.Item.ID
	tue := time.Date(2026, 11, 24, 10, 15, 0, 0, loc)
	in := BookInput{ApptInput: ApptInput{PatientID: ic.patA.Patient, StartsAt: tue, Minutes: 20, Provider: "Dr. Patel", Reason: "Knee pain review"}}

	// Refusals, each beside its field; nothing is written.
	var ie *InputError
	past := in
	past.StartsAt = ic.clock.t.Add(-time.Hour)
	if _, _, err := ic.c.BookFromItem(ctx, ic.front, id, past); !errors.As(err, &ie) || ie.Field != "starts_at" {
		t.Fatalf("a time in the past: %v", err)
	}
	other := in
	other.PatientID = ic.patB.Patient
	if _, _, err := ic.c.BookFromItem(ctx, ic.front, id, other); !errors.As(err, &ie) || ie.Field != "patient_id" {
		t.Fatalf("another patient: %v", err)
	}
	sat := in
	sat.StartsAt = time.Date(2026, 11, 28, 10, 0, 0, 0, loc)
	if _, _, err := ic.c.BookFromItem(ctx, ic.front, id, sat); !errors.Is(err, ErrClosedDay) {
		t.Fatalf("a Saturday (closed): %v", err)
	}
	if _, _, err := ic.c.BookFromItem(ctx, ic.patA, id, in); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a patient booked: %v", err)
	}
	msg, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "A question"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ic.c.BookFromItem(ctx, ic.front, msg.Item.ID, in); !errors.As(err, &ie) || ie.Field != "type" {
		t.Fatalf("a message booked: %v", err)
	}
	week := func() []ApptRow {
		rows, err := ic.c.ListAppointments(ctx, ic.front, ic.clock.t, ic.clock.t.AddDate(0, 0, 14))
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	if n := len(week()); n != 0 {
		t.Fatalf("refused bookings left %d appointments", n)
	}
	if v, err := ic.c.GetItem(ctx, ic.front, id); err != nil || v.Item.Status == StatusClosed || v.Item.Booking != nil || len(outbox(t, ic)) != 0 {
		t.Fatalf("a refused booking changed the request: %+v %v", v.Item, err)
	}

	// The booking.
	ic.events.reset()
	ap, it, err := ic.c.BookFromItem(ctx, ic.front, id, in)
	if err != nil {
		t.Fatal(err)
	}
	if ap.PatientID != ic.patA.Patient || !ap.StartsAt.Equal(tue) || ap.RequestID != id || ap.Minutes != 20 || ap.Status != ApptScheduled {
		t.Fatalf("appointment: %+v", ap)
	}
	if it.Status != StatusClosed || it.Outcome != "booked" || it.Booking == nil || it.Booking.ApptID != ap.ID || !it.Booking.StartsAt.Equal(tue) {
		t.Fatalf("request: %+v", it)
	}
	rows := week()
	if len(rows) != 1 || rows[0].ID != ap.ID || rows[0].RequestID != id {
		t.Fatalf("board: %+v", rows)
	}
	v, err := ic.c.GetItem(ctx, ic.front, id)
	if err != nil {
		t.Fatal(err)
	}
	last := v.Messages[len(v.Messages)-1]
	if v.Item.Status != StatusClosed || last.Kind != KindSystem || last.Body != BookedLine || last.AuthorID != ic.front.ID {
		t.Fatalf("thread: %+v %+v", v.Item, last)
	}
	// The patient sees the line and the booking on their own request.
	pit, pmsgs, err := ic.c.PatientThread(ctx, ic.patA, id)
	if err != nil || pit.Booking == nil || pmsgs[len(pmsgs)-1].Body != BookedLine {
		t.Fatalf("patient's thread: %+v %v", pit, err)
	}
	evs := ic.events.list()
	if len(evs) != 2 || evs[0].Type != "appointment.new" || evs[0].ItemID != ap.ID || evs[1].Type != "item.status" || evs[1].ItemID != id {
		t.Fatalf("events: %+v", evs)
	}
	for _, action := range []string{"item.book", "appointment.create"} {
		log, err := ic.c.AuditLog(ctx, ic.owner, auditFilterAction(action), false, 0)
		if err != nil || len(log) != 1 || log[0].ActorName != "Maria Front" {
			t.Fatalf("audit %s: %+v %v", action, log, err)
		}
	}
	// The usual reply email, and nothing of the visit in it.
	if got := outbox(t, ic); len(got) != 1 || got[0].ItemID != id || got[0].State != MailQueued {
		t.Fatalf("outbox: %+v", got)
	}
	if n, err := ic.c.SendDueMail(ctx, mail.Send); err != nil || n != 1 {
		t.Fatalf("send: %d %v", n, err)
	}
	m := srv.Messages()
	if len(m) != 1 || !strings.Contains(m[0], "/t/"+id) {
		t.Fatalf("email: %q", m)
	}
	for _, canary := range []string{"Knee", "Patel", "Ada", "10:15", "Tuesday"} {
		if strings.Contains(m[0], canary) {
			t.Fatalf("the email carries %q", canary)
		}
	}
	// Booked once: a second try is refused and books nothing more.
	if _, _, err := ic.c.BookFromItem(ctx, ic.front, id, in); !errors.As(err, &ie) || ie.Field != "status" {
		t.Fatalf("a closed request booked again: %v", err)
	}
	// A closed day books once the person confirms it.
	ack2, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeAppointment, Fields: map[string]string{"reason": "Follow-up"}})
	if err != nil {
		t.Fatal(err)
	}
	sat.ClosedDayOK = true
	if _, _, err := ic.c.BookFromItem(ctx, ic.front, ack2.Item.ID, sat); err != nil {
		t.Fatalf("a confirmed Saturday: %v", err)
	}
	if n := len(week()); n != 2 {
		t.Fatalf("appointments after two bookings: %d", n)
	}
}

// TestBookFromRequestIsAtomic: when the commit fails, neither the
// appointment nor the closing nor the thread line is kept.
func TestBookFromRequestIsAtomic(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{time.Date(2026, 11, 23, 10, 0, 0, 0, hoursNY(t))}
	e := fixture(t).Env(t, clock.now, nil)
	disk := &diskStore{Store: e.Store}
	c := fixture(t).Open(t, Deps{Store: disk, Vault: e.Vault, Now: clock.now, Files: os.DirFS("../../embed")})
	st := fixture(t).Setup(t, c, SetupInput{})
	owner := Actor{Kind: ActorStaff, ID: st.ID, Role: RoleOwner}
	p, err := c.CreatePatient(ctx, owner, PatientInput{Name: "Ada Example", DOB: "1970-06-15"})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := c.CreateItem(ctx, Actor{Kind: ActorPatient, ID: p.ID, Patient: p.ID}, NewItem{Type: TypeAppointment, Fields: map[string]string{"reason": "Check-up"}})
	if err != nil {
		t.Fatal(err)
	}
	in := BookInput{ApptInput: ApptInput{StartsAt: time.Date(2026, 11, 24, 9, 30, 0, 0, clock.t.Location())}}
	disk.set(syscall.EPERM)
	if _, _, err := c.BookFromItem(ctx, owner, ack.Item.ID, in); err == nil {
		t.Fatal("a failed commit reported a booking")
	}
	disk.clear()
	c.items.drop(ack.Item.ID)
	v, err := c.GetItem(ctx, owner, ack.Item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Item.Status == StatusClosed || v.Item.Booking != nil || len(v.Messages) != ack.Item.Messages {
		t.Fatalf("half a booking was kept: %+v, %d messages", v.Item, len(v.Messages))
	}
	rows, err := c.ListAppointments(ctx, owner, clock.t, clock.t.AddDate(0, 0, 7))
	if err != nil || len(rows) != 0 {
		t.Fatalf("appointments after the failed commit: %+v %v", rows, err)
	}
	if _, _, err := c.BookFromItem(ctx, owner, ack.Item.ID, in); err != nil {
		t.Fatalf("booking after the disk recovered: %v", err)
	}
}
