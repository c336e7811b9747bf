package clinic

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"hearth/app/mail"
	"hearth/app/store"
)

// TestCertFilesAreSealedAndListed: a clinic group's certificate files are
// stored sealed (neither the key nor the name readable in the store, the
// record id a hash), read back whole, listed by prefix and deleted with
// everything under them.
func TestCertFilesAreSealedAndListed(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	key := "certificates/acme-v02/portal.maple.example/portal.maple.example.key"
	secret := []byte("-----BEGIN EC PRIVATE KEY-----\nsecretkeymaterial\n-----END EC PRIVATE KEY-----\n")
	if err := ic.c.PutCertFile(ctx, key, secret); err != nil {
		t.Fatal(err)
	}
	if err := ic.c.PutCertFile(ctx, "acme/account.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	f, err := ic.c.CertFile(ctx, key)
	if err != nil || !bytes.Equal(f.Value, secret) || f.Key != key || !f.Modified.Equal(ic.clock.now().UTC()) {
		t.Fatalf("read back: %+v %v", f, err)
	}
	if _, err := ic.c.CertFile(ctx, "certificates/none"); !IsNotFound(err) {
		t.Fatalf("a missing file: %v", err)
	}
	err = ic.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketCertFiles, "", func(id string, raw []byte) error {
			if strings.Contains(id, "portal") || bytes.Contains(raw, []byte("secretkeymaterial")) || bytes.Contains(raw, []byte("portal.maple")) {
				t.Errorf("record %s shows its name or contents", id)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := ic.c.CertFiles(ctx, "certificates/")
	if err != nil || len(list) != 1 || list[0].Key != key {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := ic.c.DeleteCertFiles(ctx, "certificates/acme-v02"); err != nil {
		t.Fatal(err)
	}
	if all, err := ic.c.CertFiles(ctx, ""); err != nil || len(all) != 1 || all[0].Key != "acme/account.json" {
		t.Fatalf("after deleting a folder: %+v %v", all, err)
	}
}

// TestCertLockIsExclusiveAndLapses: one holder at a time; the holder may
// extend it; another gets it once released or once its time has run out
// (a node that died).
func TestCertLockIsExclusiveAndLapses(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	lock := func(holder string) bool {
		t.Helper()
		ok, err := ic.c.TryCertLock(ctx, "issue_cert_portal", holder, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lock("a") || lock("b") || !lock("a") {
		t.Fatal("the lock is not exclusive to its holder")
	}
	if err := ic.c.CertUnlock(ctx, "issue_cert_portal", "b"); err != nil {
		t.Fatal(err)
	}
	if lock("b") {
		t.Fatal("another holder's unlock released the lock")
	}
	if err := ic.c.CertUnlock(ctx, "issue_cert_portal", "a"); err != nil {
		t.Fatal(err)
	}
	if !lock("b") {
		t.Fatal("a released lock was not free")
	}
	ic.clock.t = ic.clock.t.Add(61 * time.Second)
	if !lock("c") {
		t.Fatal("a lock whose holder stopped renewing it did not lapse")
	}
}

// TestCertExpiryMailedOnce: the owner's warning goes through the outbox,
// once per certificate, whatever the number of calls (restarts, nodes),
// names the domain and the reason, and reaches no one but owners.
func TestCertExpiryMailedOnce(t *testing.T) {
	ic, srv := mailClinic(t)
	ctx := context.Background()
	before := len(outbox(t, ic))
	expires := ic.clock.t.Add(10 * 24 * time.Hour)
	why := "port 80 is not reachable from the internet: check the router's port forwarding"
	for i := 0; i < 3; i++ {
		sent, err := ic.c.MailOwnersCertExpiry(ctx, "portal.maple.example", "abc123", expires, why)
		if err != nil || sent != (i == 0) {
			t.Fatalf("call %d: %v %v", i, sent, err)
		}
	}
	mails := outbox(t, ic)[before:]
	if len(mails) != 1 {
		t.Fatalf("%d emails queued", len(mails))
	}
	m := mails[0]
	owner, err := ic.c.Staff(ctx, ic.owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != owner.Email || m.PatientID != "" || !strings.Contains(m.Body, "portal.maple.example") || !strings.Contains(m.Body, why) {
		t.Errorf("the email: %+v", m)
	}
	if n, err := ic.c.SendDueMail(ctx, mail.Send); err != nil || n != 1 {
		t.Fatalf("sent %d: %v", n, err)
	}
	if got := srv.Messages(); len(got) == 0 || !strings.Contains(got[len(got)-1], "portal.maple.example") {
		t.Fatalf("the mail server got %d messages", len(got))
	}
	// A renewed certificate that again cannot be renewed is a new warning.
	if sent, err := ic.c.MailOwnersCertExpiry(ctx, "portal.maple.example", "def456", expires, why); err != nil || !sent {
		t.Fatalf("a new certificate: %v %v", sent, err)
	}
}
