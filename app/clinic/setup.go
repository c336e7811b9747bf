package clinic

import (
	"context"
	"net/mail"
	"strings"

	"hearth/app/store"
	"hearth/app/vault"
)

// SetupInput is what the owner gives on first run.
type SetupInput struct {
	ClinicName string
	OwnerName  string
	OwnerEmail string
	Password   string
	// Domain, optional, is the internet name for Hearth's own HTTPS
	// (Settings.Domain); it takes effect at the next start.
	Domain string
}

// CheckSetup finds every problem with the setup form at once: the clinic's
// name, the owner's name and email, the password's length and strength, and
// only then whether again repeats it (a too-short password is reported as
// too short, not as a mismatch). It is nil, an *InputError or InputErrors,
// with the fields clinic_name, name, email, password and password_again.
func CheckSetup(in SetupInput, again string, common map[string]bool) error {
	var es InputErrors
	s := DefaultSettings()
	s.ClinicName, s.Domain = in.ClinicName, in.Domain
	if err := es.add(s.normalize()); err != nil {
		return err
	}
	name := strings.TrimSpace(in.OwnerName)
	if name == "" || len(name) > 100 {
		es = append(es, &InputError{Field: "name", Msg: "Enter your name (at most 100 characters)."})
	}
	email := normalizeEmail(in.OwnerEmail)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		es = append(es, &InputError{Field: "email", Msg: "Enter an email address like maria@clinic.example."})
	}
	if err := es.add(CheckNewPassword(in.Password, common)); err != nil {
		return err
	}
	if !es.has("password") && in.Password != again {
		es = append(es, &InputError{Field: "password_again", Msg: "The two passwords are not the same. Type the password again."})
	}
	return es.err()
}

// SetupSession signs the owner in on the browser that just set the clinic
// up (they typed the password twice a moment ago), so the emergency kit
// leads straight into the console. The sign-in is audited like any other.
func (c *Clinic) SetupSession(ctx context.Context, owner Staff, client string) (string, Session, error) {
	a := Actor{Kind: ActorStaff, ID: owner.ID, Role: owner.Role, Client: client}
	if err := c.Audit(ctx, a, AuditEvent{Action: "staff.signin", Object: "staff:" + owner.ID}); err != nil {
		return "", Session{}, err
	}
	return c.StartSession(ctx, owner)
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
	s.ClinicName, s.Domain = in.ClinicName, in.Domain
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
