package clinic

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"hearth/app/audit"
	"hearth/app/store"
)

// The tests in this file hold what the clinic does with errors it used to
// drop: a read that fails is an error (never "nothing there"), a damaged
// plain value is an error (never zero), a failed attempt is answered as
// failed even when its audit event cannot be written (and the loss is
// logged), and a successful unlock whose audit event cannot be written does
// not unlock.

// errFaulty is the error faultyStore's broken reads and writes give.
var errFaulty = errors.New("test: the store failed")

// faultyStore passes everything to the real store, except what a test
// switches on: writes to the audit buckets fail (and with them their
// transaction), and every read of one bucket or index fails, as a damaged
// disk or a dropped database connection would.
type faultyStore struct {
	store.Store
	failAudit atomic.Bool
	broken    atomic.Pointer[string] // a bucket or index whose reads fail
}

func (f *faultyStore) breakReads(name string) { f.broken.Store(&name) }
func (f *faultyStore) mendReads()             { f.broken.Store(nil) }

func (f *faultyStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.View(ctx, func(tx store.Tx) error { return fn(faultyTx{tx, f}) })
}

func (f *faultyStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Update(ctx, func(tx store.Tx) error { return fn(faultyTx{tx, f}) })
}

type faultyTx struct {
	store.Tx
	f *faultyStore
}

func (t faultyTx) readFails(name string) bool {
	b := t.f.broken.Load()
	return b != nil && *b == name
}

func (t faultyTx) Get(bucket, id string) ([]byte, error) {
	if t.readFails(bucket) {
		return nil, errFaulty
	}
	return t.Tx.Get(bucket, id)
}

func (t faultyTx) Lookup(index string, key []byte) (string, error) {
	if t.readFails(index) {
		return "", errFaulty
	}
	return t.Tx.Lookup(index, key)
}

func (t faultyTx) Scan(index string, r store.Range, fn func(key []byte, id string) error) error {
	if t.readFails(index) {
		return errFaulty
	}
	return t.Tx.Scan(index, r, fn)
}

func (t faultyTx) Put(bucket, id string, value []byte) error {
	if t.f.failAudit.Load() && strings.HasPrefix(bucket, "audit") {
		return errFaulty
	}
	return t.Tx.Put(bucket, id, value)
}

// syncBuffer is a log the clinic can write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// faultyInbox is newInbox's clinic opened a second time over a faultyStore,
// with its log kept for the test to read.
func faultyInbox(t *testing.T) (*inboxClinic, *Clinic, *faultyStore, *syncBuffer) {
	t.Helper()
	ic := newInbox(t)
	fs := &faultyStore{Store: ic.st}
	logs := &syncBuffer{}
	c, err := Open(context.Background(), Deps{Store: fs, Vault: ic.c.v, Now: ic.clock.now, Files: ic.c.files, Argon2: ic.c.argon,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return ic, c, fs, logs
}

func auditCount(t *testing.T, ic *inboxClinic, action, outcome string) int {
	t.Helper()
	evs, err := ic.c.AuditLog(context.Background(), ic.owner, audit.Filter{Action: action}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Outcome == outcome {
			n++
		}
	}
	return n
}

// TestFailedSignInIsAuditedOrLogged: a failed sign-in writes its audit
// event; when the store cannot take the event, the attempt is still
// refused with ErrBadCredential and the lost event is logged by ids only.
func TestFailedSignInIsAuditedOrLogged(t *testing.T) {
	ic, c, fs, logs := faultyInbox(t)
	ctx := context.Background()
	const email, password = "m@maple.test", "a-long-password-2"

	for _, try := range []struct{ email, password string }{{"nobody@maple.test", password}, {email, "not-the-password"}} {
		if _, err := c.SignIn(ctx, try.email, try.password, "", "192.0.2.7"); !errors.Is(err, ErrBadCredential) {
			t.Fatalf("sign-in as %s with a wrong password: %v, want ErrBadCredential", try.email, err)
		}
	}
	if n := auditCount(t, ic, "staff.signin", "failed"); n != 2 {
		t.Fatalf("%d failed staff.signin events after two failed sign-ins, want 2", n)
	}

	fs.failAudit.Store(true)
	for _, try := range []struct{ email, password string }{{"nobody@maple.test", password}, {email, "not-the-password"}} {
		if _, err := c.SignIn(ctx, try.email, try.password, "", "192.0.2.7"); !errors.Is(err, ErrBadCredential) {
			t.Fatalf("sign-in as %s with a wrong password while the audit cannot be written: %v, want ErrBadCredential", try.email, err)
		}
	}
	log := logs.String()
	if n := strings.Count(log, "the audit event of a failed attempt was not written"); n != 2 {
		t.Fatalf("%d lost audit events logged, want 2; log:\n%s", n, log)
	}
	if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "staff:"+ic.front.ID) {
		t.Fatalf("the lost event is not logged at error level with the staff id; log:\n%s", log)
	}
	for _, secret := range []string{"nobody@maple.test", email, "not-the-password", password} {
		if strings.Contains(log, secret) {
			t.Fatalf("the log holds what the client typed (%q):\n%s", secret, log)
		}
	}
	// A sign-in that works but cannot be audited does not sign in.
	if _, err := c.SignIn(ctx, email, password, "", "192.0.2.7"); !errors.Is(err, errFaulty) {
		t.Fatalf("a good sign-in whose audit event cannot be written: %v, want the store's error", err)
	}
}

// TestSessionUnlockNeedsItsAuditEvent: a session unlock whose audit event
// cannot be written fails and leaves the session locked; a wrong password
// is still a wrong password, audited or logged.
func TestSessionUnlockNeedsItsAuditEvent(t *testing.T) {
	_, c, fs, logs := faultyInbox(t)
	ctx := context.Background()
	const email, password = "m@maple.test", "a-long-password-2"
	st, err := c.SignIn(ctx, email, password, "", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := c.StartSession(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LockSession(ctx, token); err != nil {
		t.Fatal(err)
	}

	fs.failAudit.Store(true)
	if err := c.UnlockSession(ctx, token, "not-the-password", "", "192.0.2.7"); !errors.Is(err, ErrBadCredential) {
		t.Fatalf("unlock with a wrong password while the audit cannot be written: %v, want ErrBadCredential", err)
	}
	if !strings.Contains(logs.String(), "session.unlock") {
		t.Fatalf("the lost session.unlock failure is not logged:\n%s", logs.String())
	}
	if err := c.UnlockSession(ctx, token, password, "", "192.0.2.7"); !errors.Is(err, errFaulty) {
		t.Fatalf("unlock whose audit event cannot be written: %v, want the store's error", err)
	}
	if sess, _, err := c.SessionFor(ctx, token, false); err != nil || !sess.Locked {
		t.Fatalf("after an unaudited unlock the session is %+v (%v), want it still locked", sess, err)
	}

	fs.failAudit.Store(false)
	if err := c.UnlockSession(ctx, token, password, "", "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if sess, _, err := c.SessionFor(ctx, token, false); err != nil || sess.Locked {
		t.Fatalf("after the unlock the session is %+v (%v), want it open", sess, err)
	}
}

// TestFailedReadsAreErrors: a read the store cannot answer comes back as
// its error, never as "not set up", "no break-glass reason", "no overdue
// items" or "no such patient".
func TestFailedReadsAreErrors(t *testing.T) {
	ic, c, fs, logs := faultyInbox(t)
	ctx := context.Background()

	fs.breakReads(MetaBucket)
	if _, err := c.IsSetUp(ctx); !errors.Is(err, errFaulty) {
		t.Fatalf("IsSetUp while meta cannot be read: %v, want the store's error", err)
	}
	if _, err := c.Setup(ctx, SetupInput{ClinicName: "Again", OwnerName: "Other Owner", OwnerEmail: "x@maple.test", Password: "a-long-password-9"}, nil, "t"); !errors.Is(err, errFaulty) {
		t.Fatalf("Setup while meta cannot be read: %v, want the store's error", err)
	}
	if _, err := c.ImportMapping(ctx); !errors.Is(err, errFaulty) {
		t.Fatalf("ImportMapping while meta cannot be read: %v, want the store's error", err)
	}
	if st := c.BackupStatus(ctx); st.LastError == "" || !strings.Contains(logs.String(), "the backup status could not be read") {
		t.Fatalf("backup status while meta cannot be read: %+v, want an error shown and logged", st)
	}
	fs.mendReads()

	bill, err := ic.c.CreateItem(ctx, ic.owner, NewItem{Type: TypeBilling, Body: "Statement", PatientID: ic.patA.Patient})
	if err != nil {
		t.Fatal(err)
	}
	fs.breakReads(ixBreakGlassByStaff)
	if _, err := c.GetItem(ctx, ic.clin, bill.Item.ID); !errors.Is(err, errFaulty) {
		t.Fatalf("a clinician opening an item outside their queues while break-glass cannot be read: %v, want the store's error", err)
	}
	fs.mendReads()
	if _, err := c.GetItem(ctx, ic.clin, bill.Item.ID); !errors.Is(err, ErrBreakGlass) {
		t.Fatalf("the same once the store answers: %v, want ErrBreakGlass", err)
	}

	fs.breakReads(ixOpenDue)
	if _, err := c.QueueCounts(ctx, ic.front); !errors.Is(err, errFaulty) {
		t.Fatalf("queue counts while the overdue index cannot be read: %v, want the store's error", err)
	}
	fs.mendReads()
	if _, err := c.QueueCounts(ctx, ic.front); err != nil {
		t.Fatalf("queue counts once the store answers: %v", err)
	}

	file := "Appt ID,Patient,DOB,Date,Time\nA-1,Ada Example,1970-06-15,2026-12-01,14:00\n"
	mapping := map[string]string{"external_id": "Appt ID", "patient_name": "Patient", "patient_dob": "DOB", "date": "Date", "time": "Time"}
	fs.breakReads(ixPatientSearch)
	if res, err := c.ImportAppointments(ctx, ic.front, []byte(file), mapping, false); !errors.Is(err, errFaulty) {
		t.Fatalf("import preview while patients cannot be searched: %+v, %v; want the store's error, not an unmatched row", res, err)
	}
	fs.mendReads()
	if res, err := c.ImportAppointments(ctx, ic.front, []byte(file), mapping, false); err != nil || len(res.Rows) != 1 || res.Rows[0].Status != "ok" {
		t.Fatalf("import preview once the store answers: %+v, %v", res, err)
	}

	// The realtime hub cannot take an error from ItemQueue: a record that
	// cannot be read is logged and answers "" (the presence frame goes to
	// nobody).
	fs.breakReads(bucketItemMeta)
	if q := c.ItemQueue(bill.Item.ID); q != "" || !strings.Contains(logs.String(), "item="+bill.Item.ID) {
		t.Fatalf("ItemQueue while item meta cannot be read: %q; log:\n%s", q, logs.String())
	}
	fs.mendReads()
	if q := c.ItemQueue(bill.Item.ID); q != "billing" {
		t.Fatalf("ItemQueue once the store answers: %q, want billing", q)
	}
}

// TestDamagedPlainValuesAreErrors: a plain value that no longer decodes is
// an error for the caller, not a zero that goes on as if nothing happened.
func TestDamagedPlainValuesAreErrors(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	damage := func(bucket, id string) {
		t.Helper()
		if err := ic.st.Update(ctx, func(tx store.Tx) error { return tx.Put(bucket, id, []byte(`{"open":`)) }); err != nil {
			t.Fatal(err)
		}
	}

	damage(bucketQueueCounts, "frontdesk")
	if _, err := ic.c.QueueCounts(ctx, ic.front); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("queue counts over a damaged count: %v, want a damaged-record error", err)
	}
	if _, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Is the clinic open on Friday?"}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a new item counted onto a damaged count: %v, want a damaged-record error", err)
	}

	damage(MetaBucket, metaImportMapping)
	if _, err := ic.c.ImportMapping(ctx); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a damaged remembered import mapping: %v, want a damaged-record error", err)
	}

	token := RandomToken()
	damage(bucketSignInLinks, hex.EncodeToString(hashKey(token)))
	if ok, err := ic.c.SignInLinkValid(ctx, token); ok || err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a damaged sign-in link: %v, %v; want a damaged-record error, not an invalid link", ok, err)
	}
	if ok, err := ic.c.SignInLinkValid(ctx, RandomToken()); ok || err != nil {
		t.Fatalf("an unknown sign-in link: %v, %v; want not valid, and no error", ok, err)
	}
}
