package clinic

import (
	"context"
	"encoding/json"
	"errors"

	"hearth/app/audit"
	"hearth/app/store"
	"hearth/app/vault"
)

// Sealed mode: the clinic identity sits behind the owner's passphrase. After
// a restart Hearth is up but locked: patients can still send (sealing needs
// only the public recipient), audit events wait as pending, and staff see
// "locked" until an owner unlocks it.

// metaSettingsPlain keeps a copy of the settings for the locked state: they
// carry no PHI and no secret, and routing and due times need them.
const metaSettingsPlain = "settings_plain"

func putPlainSettings(tx store.Tx, s Settings) error {
	s.SMTPPassword = "" // the secrets in the settings stay sealed
	s.SMS.Token = ""
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return tx.Put(MetaBucket, metaSettingsPlain, b)
}

func (c *Clinic) plainSettings(ctx context.Context) (Settings, error) {
	s := DefaultSettings()
	err := c.st.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(MetaBucket, metaSettingsPlain)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &s)
	})
	return s, err
}

// Locked reports whether Hearth waits for an owner's passphrase.
func (c *Clinic) Locked() bool { return c.v.Locked() }

// Unlock opens the clinic identity with the passphrase and chains the audit
// events written while locked.
func (c *Clinic) Unlock(ctx context.Context, passphrase, client string) error {
	if !c.v.Locked() {
		return nil
	}
	if err := c.v.Unlock(passphrase); err != nil {
		c.auditFailure(ctx, Actor{Kind: ActorSystem, Client: client}, AuditEvent{Action: "vault.unlock", Object: "keys", Outcome: "failed"})
		if errors.Is(err, vault.ErrBadPassphrase) {
			return ErrBadCredential
		}
		return err
	}
	key, err := c.v.AuditKey()
	if err != nil {
		return err
	}
	c.settings.Store(nil)
	return c.st.Update(ctx, func(tx store.Tx) error {
		// Before the pending events are chained onto it, the head must be
		// the one this key wrote (integrity.go).
		if err := c.checkAuditHeadTx(tx, key); err != nil {
			return err
		}
		if _, err := audit.Settle(tx, key); err != nil {
			return err
		}
		return c.audit(tx, Actor{Kind: ActorSystem, Client: client}, "vault.unlock", "keys", "")
	})
}

// SetPassphrase puts the clinic key behind a passphrase (sealed mode). The
// owner proves who they are with their password first.
func (c *Clinic) SetPassphrase(ctx context.Context, a Actor, password, passphrase string) error {
	if a.Role != RoleOwner {
		return ErrForbidden
	}
	st, err := c.Staff(ctx, a.ID)
	if err != nil {
		return err
	}
	if !checkPassword(st.PasswordHash, password) {
		return inputErr("password", "Your password is not right.")
	}
	if passphrase == "" {
		if err := c.v.RemovePassphrase(); err != nil {
			return err
		}
		return c.Audit(ctx, a, AuditEvent{Action: "vault.passphrase_off", Object: "keys"})
	}
	if len([]rune(passphrase)) < 12 {
		return inputErr("passphrase", "Use at least 12 characters: several unrelated words. Write it down with the emergency kit.")
	}
	if err := c.v.SetPassphrase(passphrase); err != nil {
		return err
	}
	return c.Audit(ctx, a, AuditEvent{Action: "vault.passphrase_on", Object: "keys"})
}
