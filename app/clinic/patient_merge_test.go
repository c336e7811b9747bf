package clinic

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
)

func searchIDs(t *testing.T, c *Clinic, q string) []string {
	t.Helper()
	ps, err := c.SearchPatients(context.Background(), Actor{Kind: ActorStaff, ID: "s1", Role: RoleFrontDesk}, q, 50)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func inputFields(err error) []string {
	var fs []string
	for _, ie := range AllInputErrors(err) {
		fs = append(fs, ie.Field)
	}
	return fs
}

func ptr(s string) *string { return &s }

func TestEditPatientRebuildsSearchAndAudits(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	p, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Zoe Mistyped", DOB: "1990-02-03", Phone: "555-201-3344"})
	if err != nil {
		t.Fatal(err)
	}
	got, changed, err := ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{Name: ptr("Zoe  Corrected"), DOB: ptr("02/04/1990"), Lang: ptr("es")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Zoe Corrected" || got.DOB != "1990-02-04" || got.Lang != "es" || got.Phone != "555-201-3344" {
		t.Fatalf("edited record: %+v", got)
	}
	if !slices.Equal(changed, []string{"name", "dob", "lang"}) {
		t.Fatalf("changed fields: %v", changed)
	}
	for q, want := range map[string]bool{"Mistyped": false, "1990-02-03": false, "Corrected": true, "02/04/1990": true, "zoe": true, "555-201-3344": true} {
		if found := slices.Contains(searchIDs(t, ic.c, q), p.ID); found != want {
			t.Errorf("search %q finds the patient: %v, want %v", q, found, want)
		}
	}
	stored, err := ic.c.Patient(ctx, ic.front, p.ID)
	if err != nil || stored.DOB != "1990-02-04" || stored.Name != "Zoe Corrected" {
		t.Fatalf("stored record: %+v %v", stored, err)
	}
	var evs []audit.Event
	if err := ic.st.View(ctx, func(tx store.Tx) error { evs, err = audit.ForPatient(tx, p.ID, 50); return err }); err != nil {
		t.Fatal(err)
	}
	var edit *audit.Event
	for i := range evs {
		if evs[i].Action == "patient.edit" {
			edit = &evs[i]
		}
	}
	if edit == nil || edit.Object != "patient:"+p.ID+"#name,dob,lang" {
		t.Fatalf("no audit event naming the changed fields: %+v", evs)
	}
	if strings.Contains(edit.Object, "Corrected") || strings.Contains(edit.Object, "1990") {
		t.Fatalf("the audit event holds a value: %q", edit.Object)
	}

	// Nothing changed: nothing written.
	if _, changed, err := ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{Name: ptr("Zoe Corrected")}); err != nil || changed != nil {
		t.Fatalf("an edit that changes nothing: %v %v", changed, err)
	}
	// Every problem at once, each with its field; nothing is stored.
	_, _, err = ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{Name: ptr("  "), DOB: ptr("13/45/1990"), Email: ptr("not-an-email"), Lang: ptr("xx")})
	if fs := inputFields(err); !slices.Equal(fs, []string{"name", "dob", "email", "lang"}) {
		t.Fatalf("errors for a bad edit: %v (%v)", fs, err)
	}
	if _, _, err := ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{DOB: ptr("2099-01-01")}); !slices.Equal(inputFields(err), []string{"dob"}) {
		t.Fatalf("a birth date in the future: %v", err)
	}
	if again, _ := ic.c.Patient(ctx, ic.front, p.ID); again.Name != "Zoe Corrected" || again.Email != "" {
		t.Fatalf("a refused edit changed the record: %+v", again)
	}
	// Clearing the phone takes it out of search.
	if _, _, err := ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{Phone: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(searchIDs(t, ic.c, "555-201-3344"), p.ID) {
		t.Fatal("a cleared phone still finds the patient")
	}
	if _, _, err := ic.c.EditPatient(ctx, ic.patA, ic.patA.Patient, PatientEdit{Name: ptr("Someone Else")}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a patient editing their record: %v", err)
	}
	if _, _, err := ic.c.EditPatient(ctx, ic.front, newTimeID(), PatientEdit{Name: ptr("Nobody")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("editing a record that does not exist: %v", err)
	}
	mustVerifyClean(t, ic.c)
}

// A birth date typed wrong at registration locks the patient out of their
// invite; the corrected one lets them in.
func TestEditedBirthDateUnlocksInvite(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	p, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Luz Typo", DOB: "1961-04-13"}) // really 1961-03-14
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := ic.c.CreateInvite(ctx, ic.front, p.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ic.c.RedeemInvite(ctx, code, "03/14/1961", "phone", false, "test"); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("the right birth date against the mistyped record: %v", err)
	}
	if _, _, err := ic.c.EditPatient(ctx, ic.front, p.ID, PatientEdit{DOB: ptr("03/14/1961")}); err != nil {
		t.Fatal(err)
	}
	dev, _, err := ic.c.RedeemInvite(ctx, code, "03/14/1961", "phone", false, "test")
	if err != nil || dev.PatientID != p.ID {
		t.Fatalf("after the correction: %+v %v", dev, err)
	}
}

func TestCreatePatientRefusesDuplicate(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	// newInbox made Ada Example, 1970-06-15. Case, accents, spacing and the
	// way the birth date is typed do not make another person.
	_, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "ADA  Exámple", DOB: "06/15/1970"})
	var de *DuplicateError
	if !errors.As(err, &de) || !slices.Equal(de.Existing, []string{ic.patA.Patient}) || !errors.Is(err, ErrDuplicate) {
		t.Fatalf("a second Ada Example: %v", err)
	}
	if ids := searchIDs(t, ic.c, "Ada Example"); len(ids) != 1 {
		t.Fatalf("a refused duplicate was stored: %v", ids)
	}
	// Another birth date, or another name, is another person.
	if _, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Ada Example", DOB: "1970-06-16"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Ada Examples", DOB: "1970-06-15"}); err != nil {
		t.Fatal(err)
	}
	twin, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Ada Example", DOB: "1970-06-15", ConfirmDuplicate: true})
	if err != nil {
		t.Fatalf("a confirmed duplicate: %v", err)
	}
	_, err = ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Ada Example", DOB: "1970-06-15"})
	if !errors.As(err, &de) || len(de.Existing) != 2 || !slices.Contains(de.Existing, twin.ID) {
		t.Fatalf("a third Ada Example: %v", err)
	}
	// An edit that makes a record someone else's name and birth date is a
	// correction, not a creation: allowed (merge is how two become one).
	if _, _, err := ic.c.EditPatient(ctx, ic.front, ic.patB.Patient, PatientEdit{Name: ptr("Ada Example"), DOB: ptr("1970-06-15")}); err != nil {
		t.Fatal(err)
	}
}

// mergeFixture is a clinic whose patient A has a duplicate record D that
// holds a bit of everything.
type mergeFixture struct {
	*inboxClinic
	d                 Patient
	dActor            Actor
	item, fileID      string
	appt              string
	devToken, careTok string
	inviteCode        string
	otherItem         string
}

func newMergeFixture(t *testing.T) *mergeFixture {
	t.Helper()
	ic, _ := mailClinic(t) // email set up: D gets reply emails and a sign-in link
	ctx := context.Background()
	f := &mergeFixture{inboxClinic: ic}
	d, err := ic.c.CreatePatient(ctx, ic.front, PatientInput{Name: "Ada Example", DOB: "1970-06-15", Phone: "555-777-1212",
		Email: "ada.d@example.com", ConfirmDuplicate: true})
	if err != nil {
		t.Fatal(err)
	}
	f.d, f.dActor = d, Actor{Kind: ActorPatient, ID: d.ID, Patient: d.ID}
	if err := ic.c.SetEmailReplies(ctx, f.dActor, true); err != nil {
		t.Fatal(err)
	}
	if err := ic.c.RequestSignInLink(ctx, "ada.d@example.com", "test"); err != nil {
		t.Fatal(err)
	}
	ack, err := ic.c.CreateItem(ctx, f.dActor, NewItem{Type: TypeMessage, Body: "Rash, photo attached", Files: []Upload{{Name: "rash.jpg", Data: testJPEG(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	f.item = ack.Item.ID
	_, msgs, err := ic.c.PatientThread(ctx, f.dActor, f.item)
	if err != nil || len(msgs) == 0 || len(msgs[0].Files) != 1 {
		t.Fatalf("thread: %v %v", msgs, err)
	}
	f.fileID = msgs[0].Files[0].ID
	if _, err := ic.c.AddMessage(ctx, ic.owner, f.item, "Please send another photo tomorrow.", false); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.AddMessageFiles(ctx, ic.owner, f.item, "Leaflet attached.", false, []Upload{{Name: "leaflet.pdf", Data: buildPDF(pdfPage(""))}}); err != nil {
		t.Fatal(err)
	}
	ap, _, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: d.ID, StartsAt: ic.clock.t.Add(48 * time.Hour), Minutes: 20, Provider: "Dr. Lee"})
	if err != nil {
		t.Fatal(err)
	}
	f.appt = ap.ID
	_, code, err := ic.c.CreateInvite(ctx, ic.front, d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, f.devToken, err = ic.c.RedeemInvite(ctx, code, "1970-06-15", "phone", false, "test"); err != nil {
		t.Fatal(err)
	}
	_, code, err = ic.c.CreateInvite(ctx, ic.front, d.ID, "Carla Carer")
	if err != nil {
		t.Fatal(err)
	}
	if _, f.careTok, err = ic.c.RedeemInvite(ctx, code, "1970-06-15", "tablet", false, "test"); err != nil {
		t.Fatal(err)
	}
	if _, f.inviteCode, err = ic.c.CreateInvite(ctx, ic.front, d.ID, ""); err != nil { // printed, not used yet
		t.Fatal(err)
	}
	if err := ic.c.BreakGlass(ctx, ic.clin, d.ID, "Covering for Dr. Lee today"); err != nil {
		t.Fatal(err)
	}
	// A's own things, which must stay as they are.
	other, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Refill please"})
	if err != nil {
		t.Fatal(err)
	}
	f.otherItem = other.Item.ID
	return f
}

// boundTo counts the sealed records bound to patient, bucket by bucket.
func boundTo(t *testing.T, c *Clinic, patient string) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := c.st.View(context.Background(), func(tx store.Tx) error {
		for _, b := range SealedBuckets() {
			err := tx.Each(b, "", func(id string, raw []byte) error {
				ref, err := c.v.BoundRef(raw)
				if err != nil {
					return err
				}
				if ref.Patient == patient {
					out[b]++
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMergePatientsMovesEverythingAndReseals(t *testing.T) {
	f := newMergeFixture(t)
	ctx := context.Background()
	c, a, d := f.c, f.patA.Patient, f.d.ID
	before := boundTo(t, c, d)
	for _, b := range []string{bucketPatients, bucketItems, bucketMessages, bucketFiles, bucketAppts, bucketInvites, bucketDevices, bucketBreakGlass, bucketOutbox} {
		if before[b] == 0 {
			t.Fatalf("the fixture has no %s record of D: %v", b, before)
		}
	}

	// Owners only, with a reason, and two different records.
	if _, err := c.MergePatients(ctx, f.front, a, d, "same person, typed twice"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("front desk merging: %v", err)
	}
	if _, err := c.MergePatients(ctx, f.clin, a, d, "same person, typed twice"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a clinician merging: %v", err)
	}
	if _, err := c.MergePatients(ctx, f.owner, a, d, " "); !slices.Equal(inputFields(err), []string{"reason"}) {
		t.Fatalf("no reason: %v", err)
	}
	if _, err := c.MergePatients(ctx, f.owner, a, a, "same person, typed twice"); !slices.Equal(inputFields(err), []string{"from"}) {
		t.Fatalf("a record into itself: %v", err)
	}
	if _, err := c.MergePatients(ctx, f.owner, newTimeID(), d, "same person, typed twice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("into a record that does not exist: %v", err)
	}
	if got := boundTo(t, c, d); got[bucketPatients] != 1 || got[bucketItems] != before[bucketItems] {
		t.Fatalf("a refused merge changed something: %v", got)
	}

	var itemBefore ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; itemBefore, err = getMetaRec(tx, f.item); return err }); err != nil {
		t.Fatal(err)
	}
	res, err := c.MergePatients(ctx, f.owner, a, d, "same person, typed twice")
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != 1 || res.Appointments != 1 || res.Devices != 2 || res.Invites != 3 || res.Files != 2 {
		t.Fatalf("merge result: %+v", res)
	}

	// Nothing is sealed to D any more: everything was sealed again to A.
	if got := boundTo(t, c, d); len(got) != 0 {
		t.Fatalf("records still sealed to the merged record: %v", got)
	}
	after := boundTo(t, c, a)
	for _, b := range []string{bucketItems, bucketMessages, bucketFiles, bucketAppts, bucketInvites, bucketDevices, bucketBreakGlass} {
		if after[b] < before[b] {
			t.Errorf("%s: %d of D's records are not A's now (%d)", b, before[b], after[b])
		}
	}
	mustVerifyClean(t, c)
	links := map[string]int{}
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketSignInLinks, "", func(_ string, raw []byte) error {
			var l signInLink
			if err := json.Unmarshal(raw, &l); err != nil {
				return err
			}
			links[l.PatientID]++
			return nil
		})
	})
	if err != nil || links[d] != 0 || links[a] != 1 {
		t.Fatalf("emailed sign-in links by patient: %v %v", links, err)
	}

	// D answers not-found everywhere.
	if _, err := c.Patient(ctx, f.owner, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the merged record: %v", err)
	}
	if _, _, err := c.EditPatient(ctx, f.owner, d, PatientEdit{Name: ptr("Ada Example")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("editing the merged record: %v", err)
	}
	if _, _, err := c.CreateInvite(ctx, f.front, d, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an invite for the merged record: %v", err)
	}
	if ids := searchIDs(t, c, "555-777-1212"); len(ids) != 0 {
		t.Fatalf("D's phone still finds a record: %v", ids)
	}
	if ids := searchIDs(t, c, "Ada Example"); !slices.Equal(ids, []string{a}) {
		t.Fatalf("search for the name: %v", ids)
	}
	if devs, err := c.Devices(ctx, f.owner, d); err != nil || len(devs) != 0 {
		t.Fatalf("devices of the merged record: %v %v", devs, err)
	}
	if items, err := c.PatientItems(ctx, f.dActor); err != nil || len(items) != 0 {
		t.Fatalf("the merged record's items as its patient: %v %v", items, err)
	}

	// A has it all: the item and its thread, the files, the appointment,
	// both devices (now speaking for A), the printed invite.
	_, pa, err := c.DeviceFor(ctx, f.devToken, "test")
	if err != nil || pa.Kind != ActorPatient || pa.Patient != a {
		t.Fatalf("D's device after the merge: %+v %v", pa, err)
	}
	_, ca, err := c.DeviceFor(ctx, f.careTok, "test")
	if err != nil || ca.Kind != ActorCaregiver || ca.Patient != a {
		t.Fatalf("D's caregiver device after the merge: %+v %v", ca, err)
	}
	items, err := c.PatientItems(ctx, pa)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if !slices.Contains(ids, f.item) || !slices.Contains(ids, f.otherItem) {
		t.Fatalf("A's items: %v", ids)
	}
	// Another node's cached copy of the item is stale by its update time.
	var meta ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { meta, err = getMetaRec(tx, f.item); return err }); err != nil {
		t.Fatal(err)
	}
	if !meta.Updated.After(itemBefore.Updated) || meta.PatientID != a {
		t.Fatalf("the moved item's plain record: %+v (was %+v)", meta, itemBefore)
	}
	_, msgs, err := c.PatientThread(ctx, pa, f.item)
	if err != nil || len(msgs) < 3 || msgs[1].Body != "Please send another photo tomorrow." {
		t.Fatalf("the moved thread: %v %v", msgs, err)
	}
	if _, data, err := c.File(ctx, pa, f.fileID); err != nil || len(data) == 0 {
		t.Fatalf("the moved photo: %v", err)
	}
	aps, err := c.PatientAppointments(ctx, pa)
	if err != nil || len(aps) != 1 || aps[0].ID != f.appt || aps[0].PatientID != a {
		t.Fatalf("A's appointments: %+v %v", aps, err)
	}
	inv, err := c.LookupInvite(ctx, f.inviteCode)
	if err != nil || inv.PatientID != a {
		t.Fatalf("the printed invite: %+v %v", inv, err)
	}
	if ok, err := c.hasBreakGlass(ctx, f.clin.ID, a); err != nil || !ok {
		t.Fatalf("the clinician's break-glass reason: %v %v", ok, err)
	}
	rows, err := c.ListAppointments(ctx, f.front, f.clock.t, f.clock.t.Add(72*time.Hour))
	if err != nil || len(rows) != 1 || rows[0].PatientID != a {
		t.Fatalf("the board: %+v %v", rows, err)
	}

	// Audited on both; the reason is kept, sealed, with the record.
	rep, err := c.AccessReport(ctx, f.owner, a)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range rep {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "patient.merge") || !slices.Contains(actions, "breakglass.open") {
		t.Fatalf("A's audit trail lacks the merge or D's history: %v", actions)
	}
	var evs []audit.Event
	if err := c.st.View(ctx, func(tx store.Tx) error { evs, err = audit.ForPatient(tx, d, 50); return err }); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Action != "patient.merged_into" || evs[0].Object != "patient:"+a {
		t.Fatalf("D's audit trail: %+v", evs)
	}
	pA, err := c.Patient(ctx, f.owner, a)
	if err != nil || len(pA.Merged) != 1 || pA.Merged[0].From != d || pA.Merged[0].Reason != "same person, typed twice" {
		t.Fatalf("the merge note: %+v %v", pA.Merged, err)
	}
	// Merging again: D is gone.
	if _, err := c.MergePatients(ctx, f.owner, a, d, "same person, typed twice"); !slices.Equal(inputFields(err), []string{"from"}) {
		t.Fatalf("merging a merged record: %v", err)
	}
}

// failingStore makes the nth Put of a write transaction fail, as a crash in
// the middle of one would stop it: the transaction must leave nothing.
type failingStore struct {
	store.Store
	failAt int
	puts   int
}

type failingTx struct {
	store.Tx
	s *failingStore
}

var errInjected = errors.New("injected failure")

func (f *failingTx) Put(bucket, id string, v []byte) error {
	f.s.puts++
	if f.s.failAt > 0 && f.s.puts == f.s.failAt {
		return errInjected
	}
	return f.Tx.Put(bucket, id, v)
}

func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Update(ctx, func(tx store.Tx) error { return fn(&failingTx{Tx: tx, s: f}) })
}

// A merge stopped part-way leaves the clinic exactly as before it: one
// transaction, all or nothing.
func TestMergePatientsAllOrNothing(t *testing.T) {
	f := newMergeFixture(t)
	ctx := context.Background()
	a, d := f.patA.Patient, f.d.ID
	before := boundTo(t, f.c, d)
	fs := &failingStore{Store: f.st, failAt: 12} // well inside the merge's writes
	f.c.st = fs
	if _, err := f.c.MergePatients(ctx, f.owner, a, d, "same person, typed twice"); !errors.Is(err, errInjected) {
		t.Fatalf("the interrupted merge: %v", err)
	}
	if fs.puts < 12 {
		t.Fatalf("the failure came before the merge wrote: %d puts", fs.puts)
	}
	f.c.st = f.st
	f.c.ForgetAll()
	if got := boundTo(t, f.c, d); !maps.Equal(got, before) {
		t.Fatalf("an interrupted merge moved records: before %v, after %v", before, got)
	}
	if _, err := f.c.Patient(ctx, f.owner, d); err != nil {
		t.Fatalf("D after an interrupted merge: %v", err)
	}
	_, pd, err := f.c.DeviceFor(ctx, f.devToken, "test")
	if err != nil || pd.Patient != d {
		t.Fatalf("D's device after an interrupted merge: %+v %v", pd, err)
	}
	mustVerifyClean(t, f.c)
	// And the merge then goes through.
	if _, err := f.c.MergePatients(ctx, f.owner, a, d, "same person, typed twice"); err != nil {
		t.Fatal(err)
	}
	mustVerifyClean(t, f.c)
}
