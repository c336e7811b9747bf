package vault

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

func loadCheap(t *testing.T, dir string) *Vault {
	t.Helper()
	v, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	v.SetScryptWorkFactor(cheapScrypt)
	return v
}

// Checklist line 59: the passphrase is lost. The recovery key opens the
// escrow copy of the clinic key, a new passphrase replaces the old one, the
// old one opens nothing afterwards, and the records sealed before still open.
func TestRecoveryKeyResetsALostPassphrase(t *testing.T) {
	v, dir, recovery := newVault(t)
	ref := NewRef("messages", "m1", "p1")
	sealed, err := v.Seal(ref, []byte("before the passphrase was lost"))
	if err != nil {
		t.Fatal(err)
	}
	const oldPass, newPass = "old maple lantern orbit", "new birch candle harbor"
	if err := v.SetPassphrase(oldPass); err != nil {
		t.Fatal(err)
	}

	// Restarted: locked, and nobody knows the passphrase.
	v = loadCheap(t, dir)
	if !v.Locked() {
		t.Fatal("sealed mode loads unlocked")
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.UnlockWithRecovery(other.String()); !errors.Is(err, ErrBadRecoveryKey) {
		t.Fatalf("another clinic's recovery key: %v", err)
	}
	if err := v.UnlockWithRecovery("AGE-SECRET-KEY-1NOTAKEY"); err == nil || errors.Is(err, ErrBadRecoveryKey) {
		t.Fatalf("a mistyped recovery key: %v", err)
	}
	if !v.Locked() {
		t.Fatal("a wrong recovery key unlocked the vault")
	}
	if err := v.UnlockWithRecovery(recovery); err != nil {
		t.Fatalf("the recovery key: %v", err)
	}
	if got, err := v.Open(ref, sealed); err != nil || string(got) != "before the passphrase was lost" {
		t.Fatalf("open after recovery: %q %v", got, err)
	}
	if err := v.SetPassphrase(newPass); err != nil {
		t.Fatal(err)
	}

	v = loadCheap(t, dir)
	if err := v.Unlock(oldPass); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("the old passphrase after the reset: %v", err)
	}
	if err := v.Unlock(newPass); err != nil {
		t.Fatalf("the new passphrase: %v", err)
	}
	if got, err := v.Open(ref, sealed); err != nil || string(got) != "before the passphrase was lost" {
		t.Fatalf("open with the new passphrase: %q %v", got, err)
	}
	// No leftover of the old passphrase file in the keys folder.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == fileClinicKey {
			t.Fatal("clinic.key in clear after setting a new passphrase")
		}
		if e.Name() != fileClinicSealed && e.Name() != fileClinicPub && e.Name() != fileRecoveryPub && e.Name() != fileEscrow {
			t.Fatalf("unexpected file %s left in the keys folder", e.Name())
		}
	}
}

// After RotateRecovery only the new recovery key opens the escrow: the
// old kit no longer resets the passphrase (backups are another matter; see
// the clinic package's rotation test).
func TestRecoveryKeyAfterRotation(t *testing.T) {
	v, dir, oldKey := newVault(t)
	newKey, err := v.RotateRecovery()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SetPassphrase("a passphrase nobody remembers"); err != nil {
		t.Fatal(err)
	}
	v = loadCheap(t, dir)
	if err := v.UnlockWithRecovery(oldKey); !errors.Is(err, ErrBadRecoveryKey) {
		t.Fatalf("the rotated-out recovery key: %v", err)
	}
	if err := v.UnlockWithRecovery(newKey); err != nil {
		t.Fatalf("the new recovery key: %v", err)
	}
}

// A damaged escrow is an integrity error, never a silent unlock.
func TestRecoveryWithDamagedEscrow(t *testing.T) {
	v, dir, recovery := newVault(t)
	if err := v.SetPassphrase("a passphrase nobody remembers"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, fileEscrow)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-5] ^= 0x80
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	v = loadCheap(t, dir)
	if err := v.UnlockWithRecovery(recovery); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("damaged escrow: %v", err)
	}
	if !v.Locked() {
		t.Fatal("unlocked from a damaged escrow")
	}
}
