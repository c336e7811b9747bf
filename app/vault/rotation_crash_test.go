package vault

import (
	"errors"
	"testing"
)

var errCrash = errors.New("test: the process died here")

// TestRecoveryRotationCrashLeavesOneWholeKey (checklist 62): the recovery
// key rotation is cut short after each file it writes, as a kill -9 would
// cut it (the files stay as written, the process's memory is gone). After
// each, a restarted vault loads unlocked with the same clinic key (every
// record sealed before opens), and exactly one of the old and the new
// recovery key is whole: it opens the escrow (the lost-passphrase path)
// and is the key backups are sealed to. Before the new key's escrow is on
// disk that is the old key, which the owner holds; the rotation's answer
// (the new key) is only given once the new key is whole.
func TestRecoveryRotationCrashLeavesOneWholeKey(t *testing.T) {
	for _, crashAfter := range []string{"escrow to both", "recovery.pub", "escrow to the new key", ""} {
		v, dir, oldKey := newVault(t)
		sealed, err := v.Seal(RefNoPatient("staff", "s1"), []byte("sealed before the rotation"))
		if err != nil {
			t.Fatal(err)
		}
		var newKey string
		v.stepDone = func(step, key string) error {
			newKey = key
			if step == crashAfter {
				return errCrash
			}
			return nil
		}
		got, err := v.RotateRecovery()
		if crashAfter != "" && !errors.Is(err, errCrash) || crashAfter == "" && (err != nil || got != newKey) {
			t.Fatalf("crash after %q: RotateRecovery %v", crashAfter, err)
		}
		// Restart.
		w := loadCheap(t, dir)
		if w.Locked() || w.Recipient() != v.Recipient() {
			t.Fatalf("crash after %q: the restarted vault is locked or has another clinic key", crashAfter)
		}
		if b, err := w.Open(RefNoPatient("staff", "s1"), sealed); err != nil || string(b) != "sealed before the rotation" {
			t.Fatalf("crash after %q: a record sealed before does not open: %v", crashAfter, err)
		}
		whole := func(key string) bool {
			t.Helper()
			id, err := parseIdentity(key)
			if err != nil {
				t.Fatal(err)
			}
			u := loadCheap(t, dir)
			return u.UnlockWithRecovery(key) == nil && u.RecoveryRecipient() == id.Recipient().String()
		}
		oldWhole, newWhole := whole(oldKey), whole(newKey)
		if oldWhole == newWhole {
			t.Errorf("crash after %q: old key whole %v, new key whole %v: want exactly one", crashAfter, oldWhole, newWhole)
		}
		if crashAfter == "escrow to both" && !oldWhole {
			t.Errorf("crash after %q: the key the owner holds is not whole", crashAfter)
		}
	}
}
