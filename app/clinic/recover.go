package clinic

import (
	"context"
	"errors"

	"hearth/app/audit"
	"hearth/app/store"
	"hearth/app/vault"
)

// RecoverPassphrase is the way back for an owner who lost the passphrase of
// sealed mode (`hearth recover-passphrase`): the recovery key from the
// emergency kit opens the escrow copy of the clinic key, and newPassphrase
// replaces the passphrase file, so the old passphrase opens nothing from
// then on. It also works in plain mode, where it turns sealed mode on.
//
// A wrong recovery key is vault.ErrBadRecoveryKey and is audited as a
// failed attempt; a new passphrase shorter than 12 characters is an
// InputError and nothing changes. On success the audit events written while
// locked are chained, and a high-severity event records the reset.
func (c *Clinic) RecoverPassphrase(ctx context.Context, client, recoveryKey, newPassphrase string) error {
	if len([]rune(newPassphrase)) < 12 {
		return inputErr("passphrase", "Use at least 12 characters: several unrelated words. Write it down with the emergency kit.")
	}
	a := Actor{Kind: ActorSystem, Client: client}
	if err := c.v.UnlockWithRecovery(recoveryKey); err != nil {
		if errors.Is(err, vault.ErrBadRecoveryKey) {
			c.auditFailure(ctx, a, AuditEvent{Action: "vault.recover", Object: "keys", Outcome: "failed"})
		}
		return err
	}
	if err := c.v.SetPassphrase(newPassphrase); err != nil {
		return err
	}
	key, err := c.v.AuditKey()
	if err != nil {
		return err
	}
	c.settings.Store(nil)
	return c.st.Update(ctx, func(tx store.Tx) error {
		if _, err := audit.Settle(tx, key); err != nil {
			return err
		}
		return c.auditEvent(tx, auditHigh(a, "vault.passphrase_recovered", "keys", ""))
	})
}
