package clinic

import (
	"context"
	"slices"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/sms"
	"hearth/app/sms/smstest"
	"hearth/app/store"
)

// TestSchemaTableIsWellFormed: every name in the table is a valid store
// name, listed once, and every index points at a bucket the table lists.
func TestSchemaTableIsWellFormed(t *testing.T) {
	seen := map[string]SchemaKind{}
	buckets := map[string]bool{}
	for _, e := range Schema() {
		if !store.ValidName(e.Name) {
			t.Errorf("%q is not a valid store name", e.Name)
		}
		if e.Holds == "" {
			t.Errorf("%s %q does not say what it holds", e.Kind, e.Name)
		}
		// Counters live apart from buckets and indexes, so a counter may
		// share a bucket's name; nothing else may repeat.
		key := e.Name
		if e.Kind == Counter {
			key = "seq:" + key
		}
		if k, dup := seen[key]; dup {
			t.Errorf("%q is listed twice (%s and %s)", e.Name, k, e.Kind)
		}
		seen[key] = e.Kind
		if e.Kind == SealedBucket || e.Kind == PlainBucket {
			buckets[e.Name] = true
		}
	}
	for _, ix := range Indexes() {
		if !buckets[store.IndexBucket(ix)] {
			t.Errorf("index %q points at bucket %q, which the table does not list", ix, store.IndexBucket(ix))
		}
	}
	for _, b := range audit.Buckets {
		if !buckets[b] {
			t.Errorf("audit's bucket %q is not in the table", b)
		}
	}
	if !slices.Contains(Indexes(), audit.PatientIndex) {
		t.Errorf("audit's index %q is not in the table", audit.PatientIndex)
	}
}

// runClinicDay is a whole clinic day on ic's real bbolt file: staff,
// settings and a session, patients, a sign-in link, invites redeemed and
// open, an item with a photo, a reply and a note, appointments by hand and
// imported, an unverified contact with its session, break-glass, and a
// week later the overdue announcements.
func runClinicDay(t *testing.T, ic *inboxClinic) {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Staff, settings, a session.
	s, err := ic.c.Staff(ctx, ic.front.ID)
	must("staff", err)
	_, _, err = ic.c.StartSession(ctx, s)
	must("session", err)
	set, err := ic.c.Settings(ctx)
	must("settings", err)
	must("save settings", ic.c.SaveSettings(ctx, ic.owner, set))

	// A patient with an address asks for a sign-in link.
	_, err = ic.c.CreatePatient(ctx, ic.owner, PatientInput{Name: "Cleo Example", DOB: "1975-03-04", Email: "cleo@example.com"})
	must("patient", err)
	must("sign-in link", ic.c.RequestSignInLink(ctx, "cleo@example.com", "1.2.3.4"))

	// An invite redeemed on a device, and one still open.
	_, code, err := ic.c.CreateInvite(ctx, ic.front, ic.patB.Patient, "")
	must("invite", err)
	_, _, err = ic.c.RedeemInvite(ctx, code, "1980-01-01", "phone", false, "1.2.3.4")
	must("redeem", err)
	_, _, err = ic.c.CreateInvite(ctx, ic.front, ic.patA.Patient, "")
	must("second invite", err)

	// An item with an attachment, a reply (mail to patient A), a note.
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Rash on my arm, photo attached",
		Files: []Upload{{Name: "rash.jpg", Data: testJPEG(t)}}})
	must("item", err)
	_, err = ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "Please come in on Tuesday", false)
	must("reply", err)
	_, err = ic.c.AddMessage(ctx, ic.front, ack.Item.ID, "call pharmacy", true)
	must("note", err)

	// Appointments, one by hand and one imported; the import's mapping.
	_, _, err = ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patA.Patient, StartsAt: ic.clock.t.Add(48 * time.Hour), Minutes: 20, ExternalID: "EHR-1"})
	must("appointment", err)
	file := "Appt ID,Patient,DOB,Date,Time,Length,Provider,Location,Reason\n" +
		"B-1,Bo Example,1980-01-01,2026-12-01,14:00,15,Dr. Lee,Room 1,Follow-up\n"
	res, err := ic.c.ImportAppointments(ctx, ic.front, []byte(file), importMapping, true)
	if err == nil && res.Imported != 1 {
		t.Fatalf("import: %+v", res)
	}
	must("import", err)
	must("mapping", ic.c.RememberImportMapping(ctx, importMapping))

	// An unverified contact on its private link.
	_, token, err := ic.c.CreateContact(ctx, PatientInput{Name: "Dee Contact", DOB: "1990-02-03", Phone: "555-201-9999"},
		NewItem{Type: TypeMessage, Body: "I lost my letter"}, "1.2.3.4")
	must("contact", err)
	ct, _, err := ic.c.CheckContactDOB(ctx, token, "1990-02-03", "1.2.3.4")
	must("contact dob", err)
	_, err = ic.c.StartContactSession(ctx, ct)
	must("contact session", err)

	// Break-glass.
	must("break-glass", ic.c.BreakGlass(ctx, ic.clin, ic.patA.Patient, "Patient called about a reaction to the new medicine"))

	// A clinic group's own HTTPS certificate, and the lock of its renewal.
	must("cert file", ic.c.PutCertFile(ctx, "certificates/ca/portal.example.org/portal.example.org.crt", []byte("PEM")))
	_, err = ic.c.TryCertLock(ctx, "issue_cert_portal.example.org", "node-a", time.Minute)
	must("cert lock", err)
	// Texts: a gateway, a patient who agreed, a text in (its id
	// remembered), the acknowledgement sent (its id indexed), a STOP.
	g := smstest.NewGateway(t)
	set, err = ic.c.Settings(ctx)
	must("settings", err)
	set.SMS = SMSSettings{Transport: TextsGateway, GatewayURL: g.URL, Account: g.Account, Token: g.Token, From: g.From}
	must("text settings", ic.c.SaveSettings(ctx, ic.owner, set))
	_, err = ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Tex Example", DOB: "1944-04-04", Phone: "202-555-0143", SMS: true})
	must("texting patient", err)
	must("text in", ic.c.ReceiveText(ctx, sms.Inbound{From: "+12025550143", Body: "Hello", SID: "SMschema1"}))
	_, err = ic.c.SendDue(ctx, Outlets{Text: sms.NewGateway(g.Config())})
	must("send texts", err)
	must("stop", ic.c.ReceiveText(ctx, sms.Inbound{From: "+12025550143", Body: "STOP", SID: "SMschema2"}))
	// Reaching out: a conversation written for next week, the on-call rota,
	// and an urgent request at night that pages the person on call.
	_, err = ic.c.StartConversation(ctx, ic.front, NewConversation{PatientID: ic.patA.Patient, Type: ConvRecall,
		Subject: "Your yearly check-up", Body: "Time to book it.", SendAt: ic.clock.t.Add(30 * 24 * time.Hour)})
	must("scheduled conversation", err)
	_, err = ic.c.SaveOnCall(ctx, ic.owner, OnCall{Rota: []Shift{{StaffID: ic.clin.ID, Phone: "555-201-3344",
		Days: []int{0, 1, 2, 3, 4, 5, 6}, From: "00:00", To: "24:00"}}, EscalateMinutes: 10})
	must("on-call rota", err)
	sent, err := ic.c.SendNotice(ctx, ic.front, NoticeInput{PatientIDs: []string{ic.patA.Patient, ic.patB.Patient},
		Subject: "Parking lot closed", Body: "Please park on Elm Street tomorrow."})
	must("notice", err)
	must("notice conversations", ic.c.RunNotice(ctx, sent.ID))
	night := ic.clock.t
	ic.clock.t = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC) // 22:00 in New York
	paged, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Crushing chest pain since dinner"})
	must("urgent at night", err)
	if !paged.OnCallPaged {
		t.Fatal("the urgent request at night paged nobody")
	}
	ic.clock.t = night

	// Time passes: items fall overdue and are announced.
	ic.clock.t = ic.clock.t.Add(7 * 24 * time.Hour)
	must("every minute", ic.c.EveryMinute(ctx))
	must("tick overdue", func() error { _, err := ic.c.TickOverdue(ctx); return err }())
	// A notice sent just now, its conversations not made yet.
	_, err = ic.c.SendNotice(ctx, ic.front, NoticeInput{PatientIDs: []string{ic.patB.Patient}, Subject: "Flu shots", Body: "They are here."})
	must("notice still open", err)

}

// TestSchemaListsEverythingWritten runs a clinic through a representative
// day on a real bbolt file (patients, staff, settings, invites and devices,
// items with replies and attachments, mail, appointments and an import,
// contacts, break-glass, sessions, sign-in links, overdue alerts, the event
// log and the audit trail), then walks every entry in the store: each
// bucket, index and counter it finds must be in the schema table, with the
// kind the table gives it. And the table names nothing the day did not
// write, apart from what only a locked clinic writes.
func TestSchemaListsEverythingWritten(t *testing.T) {
	ic, _ := mailClinic(t)
	ctx := context.Background()
	runClinicDay(t, ic)

	kinds := map[string]SchemaKind{}
	for _, e := range Schema() {
		if e.Kind == Counter {
			kinds["seq:"+e.Name] = e.Kind
		} else {
			kinds[e.Name] = e.Kind
		}
	}
	found := map[string]bool{}
	err := ic.st.Export(ctx, func(e store.Entry) error {
		var key string
		var ok bool
		switch e.Kind {
		case store.KindRecord:
			key = e.Name
			k := kinds[key]
			ok = k == SealedBucket || k == PlainBucket
		case store.KindIndex:
			key = e.Name
			ok = kinds[key] == Index
		case store.KindSeq:
			key = "seq:" + e.Name
			ok = kinds[key] == Counter
		}
		if !ok && !found[key] {
			t.Errorf("the store holds %q (entry kind %d), which the schema table does not list as such", e.Name, e.Kind)
		}
		found[key] = true
		return nil
	})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	// The sealed buckets hold sealed records (Verify opens each one).
	mustVerifyClean(t, ic.c)

	onlyWhenLocked := map[string]bool{audit.PendingBucket: true, "seq:" + audit.PendingSeq: true}
	for key := range kinds {
		if !found[key] && !onlyWhenLocked[key] {
			t.Errorf("the schema table lists %q, which this workload never wrote: a stale row, or a gap in the workload", key)
		}
	}
}
