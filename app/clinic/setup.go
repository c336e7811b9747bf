package clinic

import (
	"context"

	"hearth/app/store"
	"hearth/app/vault"
)

// SetupInput is what the owner gives on first run.
type SetupInput struct {
	ClinicName string
	OwnerName  string
	OwnerEmail string
	Password   string
}

// Setup names the clinic and creates the owner account, once. It runs in one
// transaction: a crash leaves a clinic either not set up or fully set up.
func (c *Clinic) Setup(ctx context.Context, in SetupInput, common map[string]bool, client string) (Staff, error) {
	if done, err := c.IsSetUp(ctx); err != nil {
		return Staff{}, err
	} else if done {
		return Staff{}, ErrSetupDone
	}
	s := DefaultSettings()
	s.ClinicName = in.ClinicName
	if err := s.normalize(); err != nil {
		return Staff{}, err
	}
	si := StaffInput{Name: in.OwnerName, Email: in.OwnerEmail, Role: RoleOwner, Password: in.Password}
	if err := si.check(common); err != nil {
		return Staff{}, err
	}
	owner, tok, sealedOwner, err := c.prepareStaff(si, false)
	if err != nil {
		return Staff{}, err
	}
	sealedSettings, err := c.seal(vault.RefNoPatient(bucketSettings, "clinic"), s)
	if err != nil {
		return Staff{}, err
	}
	a := Actor{Kind: ActorStaff, ID: owner.ID, Role: RoleOwner, Client: client}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if v, err := getMeta(tx, "setup"); err != nil {
			return err
		} else if v == "done" {
			return ErrSetupDone
		}
		for _, p := range []struct {
			b, id string
			v     []byte
		}{{bucketStaff, owner.ID, sealedOwner}, {bucketSettings, "clinic", sealedSettings}, {MetaBucket, "setup", []byte("done")}} {
			if err := tx.Put(p.b, p.id, p.v); err != nil {
				return err
			}
		}
		if err := tx.SetIndex(ixStaffEmail, tok, owner.ID); err != nil {
			return err
		}
		if err := putPlainSettings(tx, s); err != nil {
			return err
		}
		return c.audit(tx, a, "clinic.setup", "staff:"+owner.ID, "")
	})
	if err == nil {
		c.settings.Store(&s)
		c.changed(ChangedSettings, "")
	}
	return owner, err
}
