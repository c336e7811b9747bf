package clinic_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"hearth/app/clinic"
	"hearth/app/clinic/clinictest"
	"hearth/app/store/boltstore"
	"hearth/app/vault"
)

// Checklist line 55: restore across a recovery-key rotation
// (vault.RotateRecovery: a new recovery identity, clinic.escrow.age and
// recovery.pub rewritten). A backup made before the rotation restores with
// the old recovery key and one made after with the new key, never
// crosswise; each restore brings back exactly what its backup held, and the
// restored keys name the recovery recipient of their backup (so backups of
// a clinic restored from an old backup go to the old kit again:
// docs/OPERATIONS.md, "Recovery key").
func TestRestoreAcrossRecoveryKeyRotation(t *testing.T) {
	ctx := context.Background()
	e, c, ownerStaff := clinictest.New(t, clinictest.Options{}, clinic.Deps{})
	owner := clinic.Actor{Kind: clinic.ActorStaff, ID: ownerStaff.ID, Role: clinic.RoleOwner}
	oldKey := e.Recovery
	oldRecipient := e.Vault.RecoveryRecipient()

	before, err := c.CreatePatient(ctx, owner, clinic.PatientInput{Name: "Bea Before", DOB: "1950-02-03"})
	if err != nil {
		t.Fatal(err)
	}
	var b1 bytes.Buffer
	if err := c.Backup(ctx, &b1, "test", "bbolt"); err != nil {
		t.Fatal(err)
	}

	newKey, err := e.Vault.RotateRecovery()
	if err != nil {
		t.Fatal(err)
	}
	if newKey == oldKey || e.Vault.RecoveryRecipient() == oldRecipient {
		t.Fatal("rotation kept the old recovery key")
	}
	after, err := c.CreatePatient(ctx, owner, clinic.PatientInput{Name: "Abe After", DOB: "1960-04-05"})
	if err != nil {
		t.Fatal(err)
	}
	var b2 bytes.Buffer
	if err := c.Backup(ctx, &b2, "test", "bbolt"); err != nil {
		t.Fatal(err)
	}

	// Not crosswise.
	if _, _, err := clinic.ReadBackup(newKey, bytes.NewReader(b1.Bytes())); !errors.Is(err, clinic.ErrBackupDamaged) {
		t.Fatalf("the new key opened a backup from before the rotation: %v", err)
	}
	if _, _, err := clinic.ReadBackup(oldKey, bytes.NewReader(b2.Bytes())); !errors.Is(err, clinic.ErrBackupDamaged) {
		t.Fatalf("the old key opened a backup from after the rotation: %v", err)
	}

	// Each with its own key: a full restore into a new folder.
	r1 := restoreInto(t, oldKey, b1.Bytes())
	if got := r1.v.RecoveryRecipient(); got != oldRecipient {
		t.Fatalf("restored from the old backup, recovery recipient %s, want the old one %s", got, oldRecipient)
	}
	if p, err := r1.c.Patient(ctx, owner, before.ID); err != nil || p.Name != "Bea Before" {
		t.Fatalf("old backup, the patient from before: %+v %v", p, err)
	}
	if _, err := r1.c.Patient(ctx, owner, after.ID); !errors.Is(err, clinic.ErrNotFound) {
		t.Fatalf("old backup holds a patient created after it: %v", err)
	}

	r2 := restoreInto(t, newKey, b2.Bytes())
	if got := r2.v.RecoveryRecipient(); got != e.Vault.RecoveryRecipient() {
		t.Fatalf("restored from the new backup, recovery recipient %s, want the new one", got)
	}
	for id, name := range map[string]string{before.ID: "Bea Before", after.ID: "Abe After"} {
		if p, err := r2.c.Patient(ctx, owner, id); err != nil || p.Name != name {
			t.Fatalf("new backup, patient %s: %+v %v", name, p, err)
		}
	}
}

type restored struct {
	v *vault.Vault
	c *clinic.Clinic
}

// restoreInto does what `hearth restore` does, into a new folder: read the
// backup with the recovery key, write the database, install the keys it
// carries, open and verify.
func restoreInto(t *testing.T, recoveryKey string, backup []byte) restored {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	hdr, snap, err := clinic.ReadBackup(recoveryKey, bytes.NewReader(backup))
	if err != nil {
		t.Fatalf("read the backup: %v", err)
	}
	dbPath := filepath.Join(dir, "hearth.db")
	if err := boltstore.Restore(dbPath, snap); err != nil {
		t.Fatalf("restore the database: %v", err)
	}
	v, err := vault.Install(filepath.Join(dir, "keys"), hdr.ClinicIdentity, hdr.RecoveryRecipient)
	if err != nil {
		t.Fatalf("install the keys: %v", err)
	}
	st, err := boltstore.Open(dbPath, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	c := clinictest.Open(t, clinic.Deps{Store: st, Vault: v})
	rep, err := c.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify the restored copy: %v %v", err, rep.Problems)
	}
	return restored{v: v, c: c}
}
