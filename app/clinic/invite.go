package clinic

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Invite lets one person (the patient, or a caregiver) reach one patient's
// record from one device.
type Invite struct {
	ID        string    `json:"id"`
	PatientID string    `json:"patient_id"`
	Caregiver string    `json:"caregiver,omitempty"` // the caregiver's name; "" for the patient
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Used      time.Time `json:"used,omitzero"`
	CreatedBy string    `json:"created_by"`
}

// NormalizeCode folds what a person typed into an invite code: case,
// spaces and dashes, and the look-alikes 0→O... are not in the alphabet, so
// they are mapped to what the person meant.
func NormalizeCode(s string) string {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "0", "O", "1", "I").Replace(strings.TrimSpace(s)))
	return strings.NewReplacer("O", "0", "I", "1").Replace(s) // never valid: fails cleanly
}

func newInviteCode() string {
	b := make([]byte, inviteCodeLen)
	rand.Read(b)
	out := make([]byte, inviteCodeLen)
	for i := range b {
		out[i] = inviteAlphabet[int(b[i])%len(inviteAlphabet)]
	}
	return string(out)
}

// CreateInvite makes a printable invite for a patient (or, with caregiver
// set, for a parent or carer) and returns the code, shown once.
func (c *Clinic) CreateInvite(ctx context.Context, a Actor, patientID, caregiver string) (Invite, string, error) {
	if a.Kind != ActorStaff {
		return Invite{}, "", ErrForbidden
	}
	if _, err := c.loadPatient(ctx, patientID); err != nil {
		return Invite{}, "", ErrNotFound
	}
	caregiver = strings.Join(strings.Fields(caregiver), " ")
	if len(caregiver) > 100 || !validText(caregiver) {
		return Invite{}, "", inputErr("caregiver", "Enter the caregiver's name (at most 100 characters).")
	}
	now := c.now().UTC()
	inv := Invite{ID: newID(), PatientID: patientID, Caregiver: caregiver, Created: now, Expires: now.Add(InviteLifetime), CreatedBy: a.ID}
	code := newInviteCode()
	sealed, err := c.seal(vault.NewRef(bucketInvites, inv.ID, patientID), inv)
	if err != nil {
		return Invite{}, "", err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketInvites, inv.ID, sealed); err != nil {
			return err
		}
		if err := tx.SetIndex(ixInviteCode, hashKey(code), inv.ID); err != nil {
			return err
		}
		return c.audit(tx, a, "invite.create", "invite:"+inv.ID, patientID)
	})
	return inv, code, err
}

// ErrCodeInvalid covers a wrong, used or expired code, or a birth date that
// does not match: one answer for all, so a guesser learns nothing.
var ErrCodeInvalid = errors.New("clinic: that code and birth date do not match an invitation")

// LookupInvite checks that a code names a live invite (the birth-date form
// is shown only then).
func (c *Clinic) LookupInvite(ctx context.Context, code string) (Invite, error) {
	var inv Invite
	err := c.st.View(ctx, func(tx store.Tx) error {
		id, err := tx.Lookup(ixInviteCode, hashKey(NormalizeCode(code)))
		if err != nil {
			return ErrCodeInvalid
		}
		return c.open(tx, vault.RefAnyPatient(bucketInvites, id), &inv)
	})
	if err != nil {
		return Invite{}, ErrCodeInvalid
	}
	if !inv.Used.IsZero() || c.now().After(inv.Expires) {
		return Invite{}, ErrCodeInvalid
	}
	return inv, nil
}

// checkDOB compares a typed birth date with the patient's; a wrong one is
// audited as a failure and answers the same ErrCodeInvalid as a bad code.
func (c *Clinic) checkDOB(ctx context.Context, patientID, dob, client, action, object string) error {
	p, err := c.loadPatient(ctx, patientID)
	if err != nil {
		return ErrCodeInvalid
	}
	given, err := ParseDOB(dob, c.now())
	if err != nil {
		return err
	}
	if given != p.DOB {
		c.auditFailure(ctx, Actor{Kind: ActorSystem, Client: client}, AuditEvent{Action: action, Object: object, Patient: patientID, Outcome: "failed"})
		return ErrCodeInvalid
	}
	return nil
}

// RedeemInvite checks the birth date against the invited patient's and, if
// it matches, uses up the invite and remembers the device. It returns the
// device token for the cookie.
func (c *Clinic) RedeemInvite(ctx context.Context, code, dob, label string, shared bool, client string) (Device, string, error) {
	inv, err := c.LookupInvite(ctx, code)
	if err != nil {
		return Device{}, "", err
	}
	if err := c.checkDOB(ctx, inv.PatientID, dob, client, "invite.dob_check", "invite:"+inv.ID); err != nil {
		return Device{}, "", err
	}
	dev, token, sealedDev, err := c.newDevice(Device{PatientID: inv.PatientID, Caregiver: inv.Caregiver, Label: label, Shared: shared})
	if err != nil {
		return Device{}, "", err
	}
	inv.Used = c.now().UTC()
	sealedInv, err := c.seal(vault.NewRef(bucketInvites, inv.ID, inv.PatientID), inv)
	if err != nil {
		return Device{}, "", err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		// Someone else may have used the code meanwhile.
		var cur Invite
		if err := c.open(tx, vault.NewRef(bucketInvites, inv.ID, inv.PatientID), &cur); err != nil {
			return err
		}
		if !cur.Used.IsZero() {
			return ErrCodeInvalid
		}
		if err := tx.Put(bucketInvites, inv.ID, sealedInv); err != nil {
			return err
		}
		if err := tx.DeleteIndex(ixInviteCode, hashKey(NormalizeCode(code))); err != nil {
			return err
		}
		return c.putDevice(tx, dev, token, sealedDev, client)
	})
	if err != nil {
		return Device{}, "", err
	}
	c.devices.put(string(hashKey(token)), dev)
	return dev, token, nil
}

// RequestInvite files a front-desk item for a patient on a new device who
// needs a new sign-in letter: not a dead end.
func (c *Clinic) RequestInvite(ctx context.Context, in PatientInput, note, client string) (Ack, string, error) {
	return c.CreateContact(ctx, in, InviteRequestItem(in, note), client)
}

// InviteRequestItem is the request RequestInvite files for in, with the
// person's note.
func InviteRequestItem(in PatientInput, note string) NewItem {
	return NewItem{Type: TypeInviteRequest, Body: note, Fields: map[string]string{"phone": in.Phone}}
}
