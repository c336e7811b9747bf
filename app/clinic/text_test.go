package clinic

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/app/sms"
	"hearth/app/sms/smstest"
)

// Texts through a real (simulated) gateway on a local HTTPS server: what
// goes out, when, to whom; what comes in and what it becomes.

const adaMobile = "+12025550143"

// textClinic is the inbox clinic with texts through a simulated gateway,
// and patient A on a mobile number who agreed to texts on the phone.
func textClinic(t *testing.T) (*inboxClinic, *smstest.Gateway, *sms.Gateway) {
	t.Helper()
	ic := newInbox(t)
	ctx := context.Background()
	g := smstest.NewGateway(t)
	s, err := ic.c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.PublicURL = "https://portal.maple.example"
	s.Phone = "555-201-0000"
	s.SMS = SMSSettings{Transport: TextsGateway, GatewayURL: g.URL, Account: g.Account, Token: g.Token, From: g.From}
	if err := ic.c.SaveSettings(ctx, System, s); err != nil {
		t.Fatal(err)
	}
	p, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Ada Textme", DOB: "1950-06-15", Phone: "(202) 555-0143",
		SMS: true, SMSWords: "Yes, text me, my daughter reads them to me"})
	if err != nil {
		t.Fatal(err)
	}
	ic.patA = Actor{Kind: ActorPatient, ID: p.ID, Patient: p.ID}
	return ic, g, sms.NewGateway(g.Config())
}

func sendDue(t *testing.T, ic *inboxClinic, gw *sms.Gateway) int {
	t.Helper()
	n, err := ic.c.SendDue(context.Background(), Outlets{Text: gw})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func receive(t *testing.T, ic *inboxClinic, from, body, sid string) {
	t.Helper()
	if err := ic.c.ReceiveText(context.Background(), sms.Inbound{From: from, To: "+15005550006", Body: body, SID: sid}); err != nil {
		t.Fatalf("receive %q: %v", body, err)
	}
}

func texts(t *testing.T, ic *inboxClinic) []OutMail {
	t.Helper()
	var out []OutMail
	for _, m := range outbox(t, ic) {
		if m.channel() == ChannelSMS {
			out = append(out, m)
		}
	}
	return out
}

func TestTextConsentAndNumbers(t *testing.T) {
	ic, _, _ := textClinic(t)
	ctx := context.Background()
	p, err := ic.c.loadPatient(ctx, ic.patA.Patient)
	if err != nil {
		t.Fatal(err)
	}
	if p.Phone != adaMobile || p.NotMobile || !p.mayText() {
		t.Fatalf("phone %q not_mobile %v may text %v", p.Phone, p.NotMobile, p.mayText())
	}
	if p.SMS.How != ConsentStaff || p.SMS.By != ic.front.ID || p.SMS.Words == "" || p.SMS.At.IsZero() {
		t.Fatalf("consent recorded as %+v", p.SMS)
	}
	// A toll-free number is kept in E.164 and flagged; consent is refused.
	toll, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Tia Tollfree", DOB: "1960-01-01", Phone: "800-555-0100"})
	if err != nil {
		t.Fatal(err)
	}
	if toll.Phone != "+18005550100" || !toll.NotMobile {
		t.Fatalf("toll-free number stored as %q, not mobile %v", toll.Phone, toll.NotMobile)
	}
	_, err = ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Tia Tollfree", DOB: "1960-01-02", Phone: "800-555-0100", SMS: true})
	if ie, ok := err.(*InputError); !ok || ie.Field != "sms" {
		t.Fatalf("consent on a landline: %v", err)
	}
	// The patient turns texts off on /me; nothing more goes.
	if err := ic.c.SetPatientTexts(ctx, ic.patA, false, ConsentMe); err != nil {
		t.Fatal(err)
	}
	if p, _ := ic.c.loadPatient(ctx, ic.patA.Patient); p.mayText() || p.SMS.How != ConsentMe {
		t.Fatalf("after turning texts off: %+v", p.SMS)
	}
}

func TestTextReminderAnsweredByText(t *testing.T) {
	ic, g, gw := textClinic(t)
	ctx := context.Background()
	ap, _, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patA.Patient, StartsAt: ic.clock.t.Add(24 * time.Hour),
		Minutes: 20, Provider: "Dr. Secretname", Reason: "Canary rash review"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.SendReminders(ctx); err != nil {
		t.Fatal(err)
	}
	if n := sendDue(t, ic, gw); n != 1 {
		t.Fatalf("sent %d texts, want the reminder", n)
	}
	sent := g.Sent()
	r := sent[0]
	if r.To != adaMobile || !strings.Contains(r.Body, "Tuesday") || !strings.Contains(r.Body, "Reply C") {
		t.Fatalf("reminder %+v", r)
	}
	for _, secret := range []string{"Ada", "Secretname", "Canary", "rash"} {
		if strings.Contains(r.Body, secret) {
			t.Fatalf("the reminder text carries %q: %q", secret, r.Body)
		}
	}
	receive(t, ic, "(202) 555-0143", " sí ", "SMreply1")
	got, err := ic.c.appointment(ctx, ap.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ApptConfirmed {
		t.Fatalf("after SÍ the appointment is %q", got.Status)
	}
	sendDue(t, ic, gw)
	if last := g.Sent()[len(g.Sent())-1]; !strings.Contains(last.Body, "confirmed") {
		t.Fatalf("the answer to the confirmation: %q", last.Body)
	}
	// "R" asks for another time: a front-desk item, and never "invalid".
	receive(t, ic, adaMobile, "R", "SMreply2")
	got, _ = ic.c.appointment(ctx, ap.ID)
	if got.Status != ApptReschedule || got.ItemID == "" {
		t.Fatalf("after R: %+v", got)
	}
	// Anything else becomes an item (on the open request).
	receive(t, ic, adaMobile, "Can I bring my son?", "SMreply3")
	view, err := ic.c.GetItem(ctx, ic.owner, got.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if last := view.Messages[len(view.Messages)-1]; last.Body != "Can I bring my son?" || last.Kind != KindPatient {
		t.Fatalf("the free text went to %+v", last)
	}
	sendDue(t, ic, gw)
	for _, s := range g.Sent() {
		if strings.Contains(strings.ToLower(s.Body), "invalid") || strings.Contains(s.Body, "my son") {
			t.Fatalf("a text said %q", s.Body)
		}
	}
	if len(view.Texts) == 0 || view.Texts[0].Channel != ChannelSMS {
		t.Fatalf("the item's timeline has no texts: %+v", view.Texts)
	}
}

func TestTextStopEndsEverything(t *testing.T) {
	ic, g, gw := textClinic(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Question about my bill"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Here is the answer", false); err != nil {
		t.Fatal(err)
	}
	// STOP arrives before the reply notice went: it never goes.
	receive(t, ic, adaMobile, "STOP", "SMstop1")
	receive(t, ic, adaMobile, "Parar", "SMstop2")
	sendDue(t, ic, gw)
	sent := g.Sent()
	if len(sent) != 1 || !strings.Contains(sent[0].Body, "no more texts") {
		t.Fatalf("after STOP the gateway got %+v; want one confirmation", sent)
	}
	p, _ := ic.c.loadPatient(ctx, ic.patA.Patient)
	if p.SMSStopped.IsZero() || p.mayText() {
		t.Fatal("the opt-out is not on the patient's record")
	}
	// Nothing more: another reply, a reminder.
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "One more thing", false); err != nil {
		t.Fatal(err)
	}
	sendDue(t, ic, gw)
	if n := len(g.Sent()); n != 1 {
		t.Fatalf("%d texts after STOP", n)
	}
	failed := 0
	for _, m := range texts(t, ic) {
		if m.State == MailFailed && strings.Contains(m.LastError, "STOP") {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d texts marked not sent because of STOP, want the queued reply notice", failed)
	}
	// START resumes.
	receive(t, ic, adaMobile, "start", "SMstart")
	sendDue(t, ic, gw)
	if sent := g.Sent(); len(sent) != 2 || !strings.Contains(sent[1].Body, "on again") {
		t.Fatalf("after START: %+v", sent)
	}
}

func TestTextQuietHours(t *testing.T) {
	ic, g, gw := textClinic(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Question"})
	if err != nil {
		t.Fatal(err)
	}
	ic.clock.t = time.Date(2026, 11, 23, 21, 30, 0, 0, hoursNY(t))
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Answer at night", false); err != nil {
		t.Fatal(err)
	}
	sendDue(t, ic, gw)
	ic.clock.t = time.Date(2026, 11, 24, 7, 59, 0, 0, hoursNY(t))
	sendDue(t, ic, gw)
	if n := len(g.Sent()); n != 0 {
		t.Fatalf("%d texts sent in the quiet hours", n)
	}
	rows, err := ic.c.Outbox(ctx, ic.owner, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !rows[0].Held || rows[0].State != MailQueued {
		t.Fatalf("outbox view: %+v", rows)
	}
	ic.clock.t = time.Date(2026, 11, 24, 8, 0, 0, 0, hoursNY(t))
	if n := sendDue(t, ic, gw); n != 1 {
		t.Fatalf("at 8 am %d texts went", n)
	}
}

func TestTextInbound(t *testing.T) {
	ic, g, gw := textClinic(t)
	ctx := context.Background()
	// A known patient with nothing open: a new item, acknowledged with the
	// reply-by time.
	receive(t, ic, adaMobile, "My knee hurts since Sunday", "SMin1")
	receive(t, ic, adaMobile, "My knee hurts since Sunday", "SMin1") // the gateway retried
	metas, err := ic.c.ownerMetas(ctx, ic.patA.Patient)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 {
		t.Fatalf("%d items from one text sent twice", len(metas))
	}
	sendDue(t, ic, gw)
	sent := g.Sent()
	if len(sent) != 1 || !strings.Contains(sent[0].Body, "will answer by") || strings.Contains(sent[0].Body, "knee") {
		t.Fatalf("acknowledgement %+v", sent)
	}
	// Urgent words: a new urgent item, never a line on the open one.
	receive(t, ic, adaMobile, "I have chest pain", "SMin2")
	metas, _ = ic.c.ownerMetas(ctx, ic.patA.Patient)
	if len(metas) != 2 || metas[0].Priority != PriorityUrgent {
		t.Fatalf("urgent text: %+v", metas)
	}
	// A number nobody has: an unverified contact's item.
	long := strings.Repeat("x", 2000)
	receive(t, ic, "+12125550199", long, "SMin3")
	var contact ItemMeta
	rows, err := ic.c.ListItems(ctx, ic.owner, ItemFilter{Unverified: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ContactID != "" {
			contact = r.ItemMeta
		}
	}
	if contact.ID == "" {
		t.Fatal("no contact item for an unknown number")
	}
	view, err := ic.c.GetItem(ctx, ic.owner, contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	if view.Contact == nil || view.Contact.Phone != "+12125550199" || len([]rune(view.Messages[0].Body)) != MaxTextBody {
		t.Fatalf("contact item: %+v", view.Contact)
	}
	// HELP answers with the clinic's name and phone.
	receive(t, ic, "+12125550199", "AYUDA", "SMin4")
	sendDue(t, ic, gw)
	last := g.Sent()[len(g.Sent())-1]
	// Asked in Spanish, answered in Spanish.
	if !strings.Contains(last.Body, "555-201-0000") || !strings.HasPrefix(last.Body, "Maple Street: Llámenos") {
		t.Fatalf("help answer %q", last.Body)
	}
}

func TestTextDeliveryReportsAndFailure(t *testing.T) {
	ic, g, gw := textClinic(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Question"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Answer", false); err != nil {
		t.Fatal(err)
	}
	sendDue(t, ic, gw)
	sid := g.Sent()[0].SID
	if err := ic.c.ReceiveText(ctx, sms.Inbound{SID: sid, Status: "delivered"}); err != nil {
		t.Fatal(err)
	}
	view, err := ic.c.GetItem(ctx, ic.owner, ack.Item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Texts) != 1 || view.Texts[0].State != MailDelivered || view.Texts[0].DeliveredAt.IsZero() {
		t.Fatalf("timeline after the delivery report: %+v", view.Texts)
	}
	// The gateway refuses the account: permanent, so no retries, and the
	// front desk is asked to call.
	g.Answer(smstest.Unauthorized)
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Another answer", false); err != nil {
		t.Fatal(err)
	}
	sendDue(t, ic, gw)
	var failed *OutMail
	for _, m := range texts(t, ic) {
		if m.State == MailFailed {
			failed = &m
		}
	}
	if failed == nil || failed.Attempts != 1 || failed.LastError == "" {
		t.Fatalf("a refused text: %+v", failed)
	}
	metas, _ := ic.c.ownerMetas(ctx, ic.patA.Patient)
	found := false
	for _, m := range metas {
		it, err := ic.c.loadItem(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(it.Subject, "Call this patient") {
			found = true
		}
	}
	if !found {
		t.Fatal("no call-this-patient item after a text failed for good")
	}
}

// TestTextAbroadFails: a number of a country the clinic does not serve is
// never texted; the outbox says why and the front desk is asked to call.
func TestTextAbroadFails(t *testing.T) {
	ic, g, gw := textClinic(t)
	ctx := context.Background()
	p, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Pia Abroad", DOB: "1970-01-01", Phone: "+34 612 345 678", SMS: true})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := ic.c.CreateItem(ctx, Actor{Kind: ActorPatient, ID: p.ID, Patient: p.ID}, NewItem{Type: TypeMessage, Body: "Hola"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Respuesta", false); err != nil {
		t.Fatal(err)
	}
	sendDue(t, ic, gw)
	if n := g.Attempts(); n != 0 {
		t.Fatalf("a number abroad reached the gateway %d times", n)
	}
	rows, err := ic.c.Outbox(ctx, ic.owner, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].State != MailFailed || !strings.Contains(rows[0].LastError, "another country (ES)") {
		t.Fatalf("outbox: %+v", rows)
	}
}

// TestTextNoticesAndPages: a conversation staff start reaches a patient who
// agreed to texts by text (no subject, no words); an urgent request at
// night pages the clinician on call by text at once, quiet hours or not.
func TestTextNoticesAndPages(t *testing.T) {
	ic, g, gw := textClinic(t)
	ctx := context.Background()
	res, err := ic.c.StartConversation(ctx, ic.front, NewConversation{PatientID: ic.patA.Patient, Type: ConvResults,
		Subject: "Canary lab results", Body: "Your canary cholesterol is fine."})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Channels, ChannelSMS) {
		t.Fatalf("the conversation was told on %v", res.Channels)
	}
	sendDue(t, ic, gw)
	sent := g.Sent()
	if len(sent) != 1 || sent[0].To != adaMobile || !strings.Contains(sent[0].Body, "/t/"+res.ID) || strings.Contains(sent[0].Body, "anary") {
		t.Fatalf("conversation text %+v", sent)
	}
	if _, err := ic.c.SaveOnCall(ctx, ic.owner, OnCall{Rota: []Shift{{StaffID: ic.clin.ID, Phone: "(212) 555-0199",
		Days: []int{0, 1, 2, 3, 4, 5, 6}, From: "00:00", To: "24:00"}}, EscalateMinutes: 10}); err != nil {
		t.Fatal(err)
	}
	ic.clock.t = time.Date(2026, 11, 24, 23, 0, 0, 0, hoursNY(t)) // quiet hours
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Crushing chest pain since dinner"})
	if err != nil {
		t.Fatal(err)
	}
	if !ack.OnCallPaged {
		t.Fatal("nobody was paged")
	}
	sendDue(t, ic, gw)
	sent = g.Sent()
	page := sent[len(sent)-1]
	if page.To != "+12125550199" || !strings.Contains(page.Body, "/staff/#/inbox/"+ack.Item.ID) || strings.Contains(page.Body, "chest") {
		t.Fatalf("page %+v", page)
	}
	// The same at night by text: the page goes, and the patient's
	// acknowledgement goes at once (not held for the quiet hours) with the
	// emergency number first and the on-call words, because a page went.
	before := len(sent)
	if err := ic.c.ReceiveText(ctx, sms.Inbound{From: adaMobile, Body: "I can't breathe and my chest hurts", SID: "SMnightUrgent"}); err != nil {
		t.Fatal(err)
	}
	sendDue(t, ic, gw)
	sent = g.Sent()
	var ackText string
	pages := 0
	for _, m := range sent[before:] {
		switch m.To {
		case adaMobile:
			ackText = m.Body
		case "+12125550199":
			pages++
		}
	}
	if pages != 1 {
		t.Fatalf("%d pages for the urgent text at night, want 1: %+v", pages, sent[before:])
	}
	if !strings.Contains(ackText, "911") || !strings.Contains(ackText, "on-call clinician has been alerted") ||
		strings.Index(ackText, "911") > strings.Index(ackText, "on-call") || strings.Contains(ackText, "chest") {
		t.Fatalf("the acknowledgement at night: %q", ackText)
	}
}

// TestTextOlderRecordNumbers: a number written before numbers were kept in
// E.164 still finds its patient, and turning texts on reads it.
func TestTextOlderRecordNumbers(t *testing.T) {
	ic, _, _ := textClinic(t)
	ctx := context.Background()
	p, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Olga Older", DOB: "1940-04-04", Phone: "(646) 555-0123"})
	if err != nil {
		t.Fatal(err)
	}
	p.Phone = "646.555.0123" // as an older Hearth stored it
	if err := ic.c.savePatient(ctx, ic.front, p, "patient.update"); err != nil {
		t.Fatal(err)
	}
	ps, err := ic.c.patientsByPhone(ctx, "+16465550123")
	if err != nil || len(ps) != 1 || ps[0].ID != p.ID {
		t.Fatalf("found %+v, %v", ps, err)
	}
	a := Actor{Kind: ActorPatient, ID: p.ID, Patient: p.ID}
	if err := ic.c.SetPatientTexts(ctx, a, true, ConsentMe); err != nil {
		t.Fatal(err)
	}
	got, _ := ic.c.loadPatient(ctx, p.ID)
	if got.Phone != "+16465550123" || !got.mayText() {
		t.Fatalf("after turning texts on: %q may text %v", got.Phone, got.mayText())
	}
}

// TestTextThrottle: one number may send 20 texts in ten minutes; the rest
// are dropped (a runaway phone or a flood cannot fill the inbox), and
// another number is not held back by it.
func TestTextThrottle(t *testing.T) {
	ic, _, _ := textClinic(t)
	ctx := context.Background()
	for i := range 25 {
		receive(t, ic, adaMobile, "ping", "SMflood"+strings.Repeat("x", i))
	}
	metas, err := ic.c.ownerMetas(ctx, ic.patA.Patient)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 || metas[0].Messages != textBurst {
		t.Fatalf("after 25 texts: %d items, %+v", len(metas), metas)
	}
	receive(t, ic, "+12125550199", "hello", "SMother")
	rows, err := ic.c.ListItems(ctx, ic.owner, ItemFilter{Unverified: true})
	if err != nil || len(rows) != 1 {
		t.Fatalf("another number: %d items, %v", len(rows), err)
	}
	ic.clock.t = ic.clock.t.Add(textWindow + time.Minute)
	receive(t, ic, adaMobile, "later", "SMlater")
	metas, _ = ic.c.ownerMetas(ctx, ic.patA.Patient)
	if metas[0].Messages != textBurst+1 {
		t.Fatalf("after the window: %d messages", metas[0].Messages)
	}
}

// TestCorrectionCarriesTexts: a correction (PATCH /api/v1/patients/{id})
// reads a new phone number in E.164 and records consent to texts, as
// creating a record does; the same number typed another way is no change,
// and consent on a landline is refused beside its field.
func TestCorrectionCarriesTexts(t *testing.T) {
	ic, _, _ := textClinic(t)
	ctx := context.Background()
	p, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Cora Correct", DOB: "1950-05-05"})
	if err != nil {
		t.Fatal(err)
	}
	phone, yes := "(202) 555-0177", true
	got, changed, err := ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{Phone: &phone, SMS: &yes, SMSWords: "yes, text me"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Phone != "+12025550177" || got.NotMobile || !got.mayText() || got.SMS.How != ConsentStaff || got.SMS.Words != "yes, text me" {
		t.Fatalf("after the correction: phone %q not_mobile %v consent %+v", got.Phone, got.NotMobile, got.SMS)
	}
	if strings.Join(changed, ",") != "phone,sms" {
		t.Fatalf("changed %v, want phone and sms", changed)
	}
	same := "202-555-0177"
	if _, changed, err := ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{Phone: &same}); err != nil || len(changed) != 0 {
		t.Fatalf("the same number typed another way: changed %v, %v", changed, err)
	}
	land := "800-555-0100"
	_, _, err = ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{Phone: &land, SMS: &yes})
	if ie, ok := err.(*InputError); !ok || ie.Field != "sms" {
		t.Fatalf("consent with a toll-free number: %v", err)
	}
	if kept, _ := ic.c.loadPatient(ctx, p.ID); kept.Phone != "+12025550177" {
		t.Fatalf("a refused correction changed the phone to %q", kept.Phone)
	}
}
