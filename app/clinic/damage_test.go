package clinic

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
	"hearth/app/vault"
)

// Checklist line 9: one flipped byte in a stored ciphertext. The read
// returns the vault's integrity error (never garbage, never the plaintext),
// and a high-severity audit event names the bucket and id, with no PHI.
// Meeting the same record again is logged but not audited twice.
func TestDamagedRecordIsRefusedAndAudited(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	const body = "Can I get a flu shot before my trip?"
	res, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Item.ID

	// One byte of the item's ciphertext, past the age header, flips on disk.
	if err := ic.st.Update(ctx, func(tx store.Tx) error {
		raw, err := tx.Get(bucketItems, id)
		if err != nil {
			return err
		}
		raw[len(raw)-20] ^= 0x01
		return tx.Put(bucketItems, id, raw)
	}); err != nil {
		t.Fatal(err)
	}

	// A restarted process has no opened copy in its memory.
	c2 := fixture(t).Open(t, Deps{Store: ic.st, Vault: ic.c.v, Now: ic.clock.now, Files: os.DirFS("../../embed")})
	v, err := c2.GetItem(ctx, ic.owner, id)
	if !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("reading a damaged record: %+v, %v; want vault.ErrIntegrity", v, err)
	}
	if strings.Contains(err.Error(), "flu shot") || strings.Contains(err.Error(), "Ada") {
		t.Fatalf("the error carries PHI: %v", err)
	}

	ev := waitDamageEvents(t, c2, 1)[0]
	if ev.Severity != audit.High || ev.Outcome != "damaged" || ev.Object != bucketItems+":"+id || ev.Actor != string(ActorSystem) {
		t.Fatalf("audit event %+v", ev)
	}
	for _, s := range []string{"flu shot", "Ada", "Example", "1970"} {
		if strings.Contains(ev.Object+ev.Action+ev.Patient+ev.Actor+ev.Client, s) {
			t.Fatalf("the audit event carries PHI (%q): %+v", s, ev)
		}
	}

	// Again: still refused, still one event.
	if _, err := c2.GetItem(ctx, ic.owner, id); !errors.Is(err, vault.ErrIntegrity) {
		t.Fatalf("second read: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // room for a second event, were one written
	if evs := waitDamageEvents(t, c2, 1); len(evs) != 1 {
		t.Fatalf("%d damage events for one record", len(evs))
	}
	// The audit chain still verifies with the event in it.
	if err := ic.st.View(ctx, func(tx store.Tx) error {
		key, err := ic.c.v.AuditKey()
		if err != nil {
			return err
		}
		_, err = audit.Verify(tx, key)
		return err
	}); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

// Checklist line 10's AAD binding, audited the same way: a sound ciphertext
// copied under another record's id does not open there, and is audited.
func TestRecordCopiedToAnotherIDIsAudited(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	a, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "first"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.st.Update(ctx, func(tx store.Tx) error {
		raw, err := tx.Get(bucketItems, a.Item.ID)
		if err != nil {
			return err
		}
		return tx.Put(bucketItems, b.Item.ID, raw)
	}); err != nil {
		t.Fatal(err)
	}
	c2 := fixture(t).Open(t, Deps{Store: ic.st, Vault: ic.c.v, Now: ic.clock.now, Files: os.DirFS("../../embed")})
	if _, err := c2.GetItem(ctx, ic.owner, b.Item.ID); !errors.Is(err, vault.ErrMismatch) {
		t.Fatalf("reading a record copied over another: %v; want vault.ErrMismatch", err)
	}
	if ev := waitDamageEvents(t, c2, 1)[0]; ev.Object != bucketItems+":"+b.Item.ID || ev.Severity != audit.High {
		t.Fatalf("audit event %+v", ev)
	}
}

// waitDamageEvents waits (the event is written from its own goroutine) for
// at least n record.open events and returns them all.
func waitDamageEvents(t *testing.T, c *Clinic, n int) []audit.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var evs []audit.Event
		if err := c.st.View(context.Background(), func(tx store.Tx) error {
			var err error
			evs, err = audit.List(tx, audit.Filter{Action: "record.open"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d record.open audit events after 10 s, want %d", len(evs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
