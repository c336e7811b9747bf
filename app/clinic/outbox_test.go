package clinic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hearth/app/mail"
	"hearth/app/mail/mailtest"
	"hearth/app/store"
	"hearth/app/vault"
)

func mailClinic(t *testing.T) (*inboxClinic, *mailtest.Server) {
	ic := newInbox(t)
	ctx := context.Background()
	srv, _ := mailtest.Start(t, "clinic", "mail-pass")
	s, _ := ic.c.Settings(ctx)
	s.SMTPHost, s.SMTPPort, s.SMTPMode, s.SMTPUser, s.SMTPPassword, s.MailFrom = "127.0.0.1", srv.Port(), "none", "clinic", "mail-pass", "front@maple.example"
	s.PublicURL = "https://portal.maple.example"
	if err := ic.c.SaveSettings(ctx, System, s); err != nil {
		t.Fatal(err)
	}
	// Patient A has an address and opts in.
	p, err := ic.c.loadPatient(ctx, ic.patA.Patient)
	if err != nil {
		t.Fatal(err)
	}
	p.Email = "ada@example.com"
	sealed, err := ic.c.seal(vault.NewRef(bucketPatients, p.ID, p.ID), p)
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.st.Update(ctx, func(tx store.Tx) error { return tx.Put(bucketPatients, p.ID, sealed) }); err != nil {
		t.Fatal(err)
	}
	ic.c.patients.drop(p.ID)
	if err := ic.c.SetEmailReplies(ctx, ic.patA, true); err != nil {
		t.Fatal(err)
	}
	return ic, srv
}

func outbox(t *testing.T, ic *inboxClinic) []OutMail {
	t.Helper()
	var out []OutMail
	err := ic.st.View(context.Background(), func(tx store.Tx) error {
		return tx.Each(bucketOutbox, "", func(id string, raw []byte) error {
			var m OutMail
			if err := ic.c.openRaw(vault.RefAnyPatient(bucketOutbox, id), raw, &m); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplyEmailIsSentAfterCommitWithoutPHI(t *testing.T) {
	ic, srv := mailClinic(t)
	ctx := context.Background()
	ack, _ := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "My rutabaga rash question"})
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Xylophonic answer about the rash", false); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "internal: call pharmacy", true); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, ic); len(got) != 1 || got[0].State != MailQueued {
		t.Fatalf("outbox after one reply and one note: %+v", got)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("mail left before the sender ran")
	}
	n, err := ic.c.SendDueMail(ctx, mail.Send)
	if err != nil || n != 1 {
		t.Fatalf("send: %d %v", n, err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Hello,\r\n") || strings.Contains(msgs[0], "Ada") || !strings.Contains(msgs[0], "Maple Street") ||
		!strings.Contains(msgs[0], "https://portal.maple.example/t/"+ack.Item.ID) || !strings.Contains(msgs[0], "/u/"+ic.patA.Patient+"/") {
		t.Fatalf("email: %q", msgs)
	}
	for _, canary := range []string{"Xylophonic", "rutabaga", "rash", "Example", "1970"} {
		if strings.Contains(msgs[0], canary) {
			t.Fatalf("the email carries %q", canary)
		}
	}
	if got := outbox(t, ic); got[0].State != MailSent {
		t.Fatalf("state after sending: %s", got[0].State)
	}
	// Sending again sends nothing twice.
	if n, _ := ic.c.SendDueMail(ctx, mail.Send); n != 0 || len(srv.Messages()) != 1 {
		t.Fatal("a sent email went out again")
	}
	// Patient B did not opt in: no email.
	ackB, _ := ic.c.CreateItem(ctx, ic.patB, NewItem{Type: TypeMessage, Body: "hi"})
	if _, err := ic.c.AddMessage(ctx, ic.front, ackB.Item.ID, "hello B", false); err != nil {
		t.Fatal(err)
	}
	if len(outbox(t, ic)) != 1 {
		t.Fatal("an email was queued for a patient who did not ask for one")
	}
	// The opt-out link works once proven; a forged one does nothing.
	if err := ic.c.Unsubscribe(ctx, ic.patA.Patient, "forged"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("forged opt-out: %v", err)
	}
	if err := ic.c.Unsubscribe(ctx, ic.patA.Patient, ic.c.unsubscribeMAC(ic.patA.Patient)); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "another reply", false); err != nil {
		t.Fatal(err)
	}
	if len(outbox(t, ic)) != 1 {
		t.Fatal("an email was queued after the patient opted out")
	}
}

func TestMailServerDownRetriesThenTellsTheFrontDesk(t *testing.T) {
	ic, _ := mailClinic(t)
	ctx := context.Background()
	ack, _ := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Question"})
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Answer", false); err != nil {
		t.Fatal(err)
	}
	down := func(ctx context.Context, cfg mail.Config, m mail.Message) error {
		cfg.Port = 1 // nothing listens there
		return mail.Send(ctx, cfg, m)
	}
	for i := 0; i < maxAttempts; i++ {
		if n, err := ic.c.SendDueMail(ctx, down); err != nil || n != 0 {
			t.Fatalf("attempt %d: %d %v", i, n, err)
		}
		m := outbox(t, ic)[0]
		if i < maxAttempts-1 && (m.State != MailQueued || m.Attempts != i+1 || !m.NextAt.After(ic.clock.t)) {
			t.Fatalf("after attempt %d: %+v", i+1, m)
		}
		ic.clock.t = ic.clock.t.Add(7 * time.Hour)
	}
	m := outbox(t, ic)[0]
	if m.State != MailFailed || !strings.Contains(m.LastError, "cannot reach") {
		t.Fatalf("after %d attempts: %+v", maxAttempts, m)
	}
	rows, _ := ic.c.ListItems(ctx, ic.front, ItemFilter{})
	found := false
	for _, r := range rows {
		found = found || r.Subject == "Email not delivered"
	}
	if !found {
		t.Fatalf("no inbox item for the failed email: %+v", rows)
	}
}

func TestCrashWhileSendingNeverSendsTwice(t *testing.T) {
	ic, srv := mailClinic(t)
	ctx := context.Background()
	ack, _ := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Question"})
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Answer", false); err != nil {
		t.Fatal(err)
	}
	// The process dies after marking "sending": the sender never returns.
	crash := errors.New("crash")
	func() {
		defer func() {
			if r := recover(); r != crash {
				t.Fatalf("the sender did not crash as planned: %v", r)
			}
		}()
		_, err := ic.c.SendDueMail(ctx, func(context.Context, mail.Config, mail.Message) error { panic(crash) })
		t.Fatalf("SendDueMail returned (%v) although its sender crashed", err)
	}()
	if m := outbox(t, ic)[0]; m.State != MailSending {
		t.Fatalf("state at the crash: %s", m.State)
	}
	// Start again.
	if err := ic.c.RecoverMail(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := ic.c.SendDueMail(ctx, mail.Send); n != 0 || len(srv.Messages()) != 0 {
		t.Fatal("the interrupted email was sent again")
	}
	if m := outbox(t, ic)[0]; m.State != MailFailed {
		t.Fatalf("after recovery: %s", m.State)
	}
	// The plain settings copy (for the locked state) never holds the password.
	var plain []byte
	if err := ic.st.View(ctx, func(tx store.Tx) (err error) { plain, err = tx.Get(MetaBucket, metaSettingsPlain); return err }); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "mail-pass") {
		t.Fatal("the mail password is in the plain settings copy")
	}
}

func TestAppointmentRemindersAtLeadTimes(t *testing.T) {
	ic, srv := mailClinic(t)
	ctx := context.Background()
	start := ic.clock.t.Add(72 * time.Hour)
	ap, _, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patA.Patient, StartsAt: start, Minutes: 20, Provider: "Dr. Lee"})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, _, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patA.Patient, StartsAt: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AnswerAppointment(ctx, ic.patA, cancelled.ID, "cancel", ""); err != nil {
		t.Fatal(err)
	}
	run := func() int {
		n, err := ic.c.SendReminders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if run() != 0 {
		t.Fatal("a reminder went out three days ahead")
	}
	ic.clock.t = start.Add(-47 * time.Hour)
	if run() != 1 || run() != 0 {
		t.Fatal("the two-day reminder did not go exactly once")
	}
	ic.clock.t = start.Add(-23 * time.Hour)
	if run() != 1 {
		t.Fatal("the one-day reminder did not go")
	}
	if n, _ := ic.c.SendDueMail(ctx, mail.Send); n != 2 {
		t.Fatalf("sent %d reminders", n)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || !strings.Contains(msgs[0], "You have an appointment at Maple Street") || strings.Contains(msgs[0], "Dr. Lee") {
		t.Fatalf("reminders: %q", msgs)
	}
	if got, _ := ic.c.appointment(ctx, ap.ID); len(got.Reminded) != 2 {
		t.Fatalf("reminded: %v", got.Reminded)
	}
}
