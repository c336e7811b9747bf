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

// Letter is what a printed invite letter says, in the language of the
// patient it is for: its words come from the message catalogue (keys
// invite_letter.*), the console only lays them out and prints them.
type Letter struct {
	Lang      string `json:"lang"`      // the language the letter is written in, for <article lang>
	Label     string `json:"label"`     // what the letter is, for screen readers
	Clinic    string `json:"clinic"`    // the clinic's name, as patients know it
	To        string `json:"to"`        // who the letter is for
	Title     string `json:"title"`     // the heading
	Lead      string `json:"lead"`      // what the portal does for them
	StepScan  string `json:"step_scan"` // the first step when a QR code is printed
	StepType  string `json:"step_type"` // the first step without one
	URL       string `json:"url"`       // the sign-in address, with the code
	StepCode  string `json:"step_code"` // the second step
	Code      string `json:"code"`      // the code, in groups of four
	StepDOB   string `json:"step_dob"`  // the third step
	Private   string `json:"private"`   // when the code expires, and to keep it private
	Emergency string `json:"emergency"` // what to do in an emergency, with the clinic's number
	QRAlt     string `json:"qr_alt"`    // the QR code's text alternative
}

// groupCode writes an invite code in groups of four, "ABCD-EFGH", the
// way a person copies it (NormalizeCode takes the dashes out again).
func groupCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// InviteLetter writes the letter for an invite CreateInvite just made: code
// is the code it returned and link the address patients open (with the
// code in it). The letter speaks the patient's language, with the clinic's
// own emergency number.
func (c *Clinic) InviteLetter(ctx context.Context, a Actor, inv Invite, code, link string) (Letter, error) {
	if a.Kind != ActorStaff {
		return Letter{}, ErrForbidden
	}
	p, err := c.loadPatient(ctx, inv.PatientID)
	if err != nil {
		return Letter{}, ErrNotFound
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return Letter{}, err
	}
	lang := c.speaks(p.Lang)
	t, err := c.mailTr(s, lang)
	if err != nil {
		return Letter{}, err
	}
	emergency := s.EmergencyNumber
	if emergency == "" {
		emergency = "911"
	}
	name, first := p.Name, p.FirstName()
	l := Letter{
		Lang: lang, Label: t.T("invite_letter.label"), Clinic: s.ClinicName,
		To:       t.T("invite_letter.to", "name", name),
		Title:    t.T("invite_letter.title", "clinic", s.ClinicName),
		Lead:     t.T("invite_letter.lead"),
		StepScan: t.T("invite_letter.step_scan"), StepType: t.T("invite_letter.step_type"), URL: link,
		StepCode: t.T("invite_letter.step_code"), Code: groupCode(code),
		StepDOB:   t.T("invite_letter.step_dob"),
		Private:   t.T("invite_letter.private", "date", t.DayDate(inv.Expires)),
		Emergency: t.T("invite_letter.emergency", "number", emergency),
		QRAlt:     t.T("invite_letter.qr_alt"),
	}
	if inv.Caregiver != "" {
		l.To = t.T("invite_letter.to_caregiver", "caregiver", inv.Caregiver, "name", name)
		l.Title = t.T("invite_letter.title_caregiver", "clinic", s.ClinicName, "first", first)
		l.Lead = t.T("invite_letter.lead_caregiver", "name", name)
		l.StepDOB = t.T("invite_letter.step_dob_caregiver", "first", first)
		l.Private = t.T("invite_letter.private_caregiver", "date", t.DayDate(inv.Expires), "first", first)
	}
	return l, nil
}
