package clinic

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
	"hearth/app/store/boltstore"
	"hearth/app/vault"
)

// cutAuditTail deletes the newest n audit events and rewinds the head as
// someone without the audit key can (the head's own MAC cannot be made).
func cutAuditTail(t *testing.T, st store.Store, n int) uint64 {
	t.Helper()
	var last uint64
	err := st.Update(context.Background(), func(tx store.Tx) error {
		h, err := audit.CurrentHead(tx)
		if err != nil {
			return err
		}
		for i := h.Seq - uint64(n) + 1; i <= h.Seq; i++ {
			if err := tx.Delete("audit", fmt.Sprintf("%016x", i)); err != nil {
				return err
			}
		}
		if err := dropStaleAuditIndex(tx); err != nil {
			return err
		}
		last = h.Seq - uint64(n)
		e, err := audit.FindEvent(tx, last)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]any{"seq": e.Seq, "mac": e.MAC})
		return tx.Put("audit_head", "head", b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// dropStaleAuditIndex removes index entries of deleted events, so nothing
// but the head points at a gap.
func dropStaleAuditIndex(tx store.Tx) error {
	var keys [][]byte
	err := tx.Scan(audit.PatientIndex, store.Range{}, func(k []byte, id string) error {
		_, err := tx.Get("audit", id)
		if errors.Is(err, store.ErrNotFound) {
			keys = append(keys, k)
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.DeleteIndex(audit.PatientIndex, k); err != nil {
			return err
		}
	}
	return nil
}

func TestCutAuditTailIsFoundByVerifyAndAtStart(t *testing.T) {
	c, st := newTestClinic(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Ada Example", DOB: "06/15/1970", ConfirmDuplicate: true}); err != nil {
			t.Fatal(err)
		}
	}
	mustVerifyClean(t, c)
	cutAuditTail(t, st, 3)
	r, err := c.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), "head carries no MAC") {
		t.Fatalf("verify after the tail was cut: %+v", r)
	}

	// The next start records a high-severity finding the owner sees.
	c2 := fixture(t).Open(t, Deps{Store: st, Vault: c.v})
	owner := ownerOf(t, c2)
	evs, err := c2.AuditLog(ctx, owner, audit.Filter{Action: audit.ActionIntegrity}, true, 0)
	if err != nil || len(evs) != 1 || evs[0].Severity != audit.High || evs[0].Outcome != "failed" {
		t.Fatalf("the owner's audit log after the start: %+v %v", evs, err)
	}
	if h := c2.BackupStatus(ctx).AuditHead; h == nil || h.LastFinding == "" || h.Seq != evs[0].Seq || h.Fingerprint == "" {
		t.Fatalf("backup status after the finding: %+v", h)
	}
	// The chain goes on from the head as found; verify still fails (here
	// at the gap the cut left in the sequence; tests/ rewinds it too and
	// sees the finding reported).
	if r, _ = c2.Verify(ctx); r.OK() {
		t.Fatalf("verify after the finding: %+v", r)
	}
	// A second start finds nothing new.
	c3 := fixture(t).Open(t, Deps{Store: st, Vault: c.v})
	if evs, _ := c3.AuditLog(ctx, owner, audit.Filter{Action: audit.ActionIntegrity}, true, 0); len(evs) != 1 {
		t.Fatalf("findings after a clean restart: %d", len(evs))
	}
}

func ownerOf(t *testing.T, c *Clinic) Actor {
	t.Helper()
	all, err := c.ListStaff(context.Background(), System)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Role == RoleOwner {
			return Actor{Kind: "staff", ID: s.ID, Role: RoleOwner}
		}
	}
	t.Fatal("no owner")
	return Actor{}
}

func TestSchema3HeadIsAuthenticatedAtFirstStart(t *testing.T) {
	c, st := newTestClinic(t)
	ctx := context.Background()
	// The database as schema 3 left it: a head without its own MAC.
	err := st.Update(ctx, func(tx store.Tx) error {
		h, err := audit.CurrentHead(tx)
		if err != nil {
			return err
		}
		b, err := json.Marshal(map[string]any{"seq": h.Seq, "mac": h.MAC})
		if err != nil {
			return err
		}
		if err := tx.Put("audit_head", "head", b); err != nil {
			return err
		}
		return tx.Put("meta", "schema", []byte("3"))
	})
	if err != nil {
		t.Fatal(err)
	}
	// verify (read-only) accepts it before the upgrade.
	ro := fixture(t).Open(t, Deps{Store: st, Vault: c.v, ReadOnly: true})
	if r, err := ro.Verify(ctx); err != nil || !r.OK() || len(r.Notes) == 0 {
		t.Fatalf("verify of a schema 3 database: %+v %v", r, err)
	}
	c2 := fixture(t).Open(t, Deps{Store: st, Vault: c.v})
	if got, err := c2.Meta(ctx, "schema"); err != nil || got != fmt.Sprint(SchemaVersion) {
		t.Fatalf("schema after the start: %s", got)
	}
	r := mustVerifyClean(t, c2)
	if len(r.Notes) != 0 {
		t.Fatalf("notes after the upgrade: %v", r.Notes)
	}
	evs, _ := c2.AuditLog(ctx, ownerOf(t, c2), audit.Filter{Action: audit.ActionHeadSealed}, true, 0)
	if len(evs) != 1 {
		t.Fatalf("upgrade events: %d", len(evs))
	}
	if evs, _ := c2.AuditLog(ctx, ownerOf(t, c2), audit.Filter{Action: audit.ActionIntegrity}, true, 0); len(evs) != 0 {
		t.Fatalf("the upgrade was taken for tampering: %+v", evs)
	}

	// Once upgraded, a cut tail dressed up as a pre-upgrade head (the
	// mark is plain, anyone can set it; so can the schema number) is a
	// finding, not a second upgrade.
	for i := 0; i < 3; i++ {
		if _, err := c2.CreatePatient(ctx, staffActor, PatientInput{Name: "Ada Example", DOB: "06/15/1970", ConfirmDuplicate: true}); err != nil {
			t.Fatal(err)
		}
	}
	last := cutAuditTail(t, st, 2)
	err = st.Update(ctx, func(tx store.Tx) error {
		e, err := audit.FindEvent(tx, last)
		if err != nil {
			return err
		}
		b, err := json.Marshal(map[string]any{"seq": e.Seq, "mac": e.MAC, "legacy": true})
		if err != nil {
			return err
		}
		if err := tx.Put("audit_head", "head", b); err != nil {
			return err
		}
		return tx.Put("meta", "schema", []byte("3"))
	})
	if err != nil {
		t.Fatal(err)
	}
	ro = fixture(t).Open(t, Deps{Store: st, Vault: c.v, ReadOnly: true})
	if r, err := ro.Verify(ctx); err != nil || r.OK() || len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "head carries no MAC") {
		t.Fatalf("verify of a cut tail marked as pre-upgrade: %+v", r)
	}
	c3 := fixture(t).Open(t, Deps{Store: st, Vault: c.v})
	if evs, _ := c3.AuditLog(ctx, ownerOf(t, c3), audit.Filter{Action: audit.ActionIntegrity}, true, 0); len(evs) != 1 {
		t.Fatalf("a cut tail marked as pre-upgrade: %d findings", len(evs))
	}
}

func TestBackupAnchorCatchesARewriteWithTheKey(t *testing.T) {
	c, st := newTestClinic(t)
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if _, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Ada Example", DOB: "06/15/1970", ConfirmDuplicate: true}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := c.RunScheduledBackup(ctx, dir, 3, "test", "bbolt"); err != nil {
		t.Fatal(err)
	}
	newest, err := NewestBackup(dir)
	if err != nil || newest == "" {
		t.Fatal(newest, err)
	}
	a, err := ReadAnchor(newest + AnchorSuffix)
	if err != nil || a.AuditSeq == 0 || a.AuditMAC == "" || a.AuditFingerprint == "" {
		t.Fatalf("anchor %+v %v", a, err)
	}
	if p, err := c.CheckAnchor(ctx, a); p != "" || err != nil {
		t.Fatalf("a sound chain against its anchor: %q %v", p, err)
	}
	// Someone with the audit key cuts back past the anchor and writes a
	// head that verifies: only the anchor can tell.
	key, err := c.v.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		h, err := audit.CurrentHead(tx)
		if err != nil {
			return err
		}
		for i := a.AuditSeq - 1; i <= h.Seq; i++ {
			if err := tx.Delete("audit", fmt.Sprintf("%016x", i)); err != nil {
				return err
			}
		}
		return dropStaleAuditIndex(tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	forgeHead(t, st, key, a.AuditSeq-2)
	mustVerifyClean(t, c)
	p, err := c.CheckAnchor(ctx, a)
	if err != nil || !strings.Contains(p, "no longer holds") {
		t.Fatalf("anchor after the forged cut: %q %v", p, err)
	}
	// A head written down from the console works the same way.
	if p, _ := c.CheckAnchor(ctx, Anchor{AuditSeq: a.AuditSeq, AuditFingerprint: a.AuditFingerprint}); p == "" {
		t.Fatal("a written-down head did not catch the cut")
	}
}

// forgeHead rewrites the head with the audit key, as an attacker holding
// it (plain key mode, the disk in hand) can.
func forgeHead(t *testing.T, st store.Store, key []byte, seq uint64) {
	t.Helper()
	err := st.Update(context.Background(), func(tx store.Tx) error {
		e, err := audit.FindEvent(tx, seq)
		if err != nil {
			return err
		}
		// The head's MAC as the audit package documents it.
		m := hmac.New(sha256.New, key)
		m.Write([]byte("hearth audit head v1\x00"))
		m.Write(binary.BigEndian.AppendUint64(nil, e.Seq))
		m.Write(e.MAC)
		b, _ := json.Marshal(map[string]any{"seq": e.Seq, "mac": e.MAC, "auth": m.Sum(nil)})
		return tx.Put("audit_head", "head", b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCheckStoreOnASoundStore(t *testing.T) {
	c, _ := newTestClinic(t)
	if err := c.CheckStore(context.Background()); err != nil || c.Damaged() != nil {
		t.Fatalf("a sound store: %v %+v", err, c.Damaged())
	}
}

// TestSealedModeChecksTheHeadAtUnlock: in passphrase mode the key comes
// back only at unlock. The head is checked there, before the events
// written while locked are chained onto it, and the head they leave is
// authenticated.
func TestSealedModeChecksTheHeadAtUnlock(t *testing.T) {
	for _, cut := range []bool{false, true} {
		t.Run(fmt.Sprintf("cut=%v", cut), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			keys := filepath.Join(dir, "keys")
			v, _, err := vault.Create(keys)
			if err != nil {
				t.Fatal(err)
			}
			st, err := boltstore.Open(filepath.Join(dir, "hearth.db"), boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("closing the store: %v", err)
				}
			})
			if err := Init(ctx, st, v, time.Now()); err != nil {
				t.Fatal(err)
			}
			c := fixture(t).Open(t, Deps{Store: st, Vault: v})
			if _, err := c.Setup(ctx, SetupInput{ClinicName: "Maple Street", OwnerName: "Olive Owner", OwnerEmail: "o@maple.test", Password: "a-long-password-1"}, nil, "test"); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 4; i++ {
				if _, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Ada Example", DOB: "06/15/1970", ConfirmDuplicate: true}); err != nil {
					t.Fatal(err)
				}
			}
			const pass = "correct horse battery staple"
			if err := v.SetPassphrase(pass); err != nil {
				t.Fatal(err)
			}
			// A restart: locked until the owner unlocks.
			locked, err := vault.Load(keys)
			if err != nil || !locked.Locked() {
				t.Fatalf("reload: locked=%v %v", locked != nil && locked.Locked(), err)
			}
			c2 := fixture(t).Open(t, Deps{Store: st, Vault: locked})
			if err := c2.Unlock(ctx, "wrong passphrase here", "test"); err == nil {
				t.Fatal("a wrong passphrase unlocked")
			}
			if cut {
				cutAuditTail(t, st, 2)
			}
			if err := c2.Unlock(ctx, pass, "test"); err != nil {
				t.Fatal(err)
			}
			r, err := c2.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			findings, _ := c2.AuditLog(ctx, ownerOf(t, c2), audit.Filter{Action: audit.ActionIntegrity}, true, 0)
			if !cut && (!r.OK() || len(findings) != 0) {
				t.Fatalf("an untouched sealed clinic after unlock: %+v, %d findings", r, len(findings))
			}
			if cut && (r.OK() || len(findings) != 1) {
				t.Fatalf("a cut tail found at unlock: %+v, %d findings", r, len(findings))
			}
			settled, _ := c2.AuditLog(ctx, ownerOf(t, c2), audit.Filter{Action: "vault.unlock"}, true, 0)
			if len(settled) != 2 || settled[1].Outcome != "failed" {
				t.Fatalf("the failed unlock written while locked was not chained: %+v", settled)
			}
		})
	}
}

// TestNoScheduledBackupOfADamagedStore: a nightly backup of a damaged file
// would prune the good backups the restore needs.
func TestNoScheduledBackupOfADamagedStore(t *testing.T) {
	c, _ := newTestClinic(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := c.RunScheduledBackup(ctx, dir, 1, "test", "bbolt"); err != nil {
		t.Fatal(err)
	}
	good, _ := NewestBackup(dir)
	c.damage.Store(&Damage{Reason: "the database file is damaged: its structure check failed"})
	c.now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	if err := c.RunScheduledBackup(ctx, dir, 1, "test", "bbolt"); err == nil {
		t.Fatal("a damaged store was backed up")
	}
	if newest, _ := NewestBackup(dir); newest != good {
		t.Fatalf("the good backup was replaced: %s", newest)
	}
	if st := c.BackupStatus(ctx); !strings.Contains(st.LastError, "damaged") {
		t.Fatalf("backup status: %+v", st)
	}
}
