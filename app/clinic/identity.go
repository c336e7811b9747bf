package clinic

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Patient access without passwords: printed invites with a short code, a
// birth-date check, then a remembered device. Codes and device tokens are
// stored only as SHA-256 hashes (index keys), so a copied database holds no
// usable code or token.

const (
	InviteLifetime     = 30 * 24 * time.Hour
	DeviceLifetime     = 180 * 24 * time.Hour
	SharedDeviceLife   = 12 * time.Hour
	inviteAlphabet     = "23456789ABCDEFGHJKMNPQRSTUVWXYZ" // no 0/O, 1/I/l: easy to read aloud
	inviteCodeLen      = 8
	BreakGlassLifetime = time.Hour
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

// Device is a remembered browser.
type Device struct {
	ID        string    `json:"id"`
	PatientID string    `json:"patient_id"`
	Caregiver string    `json:"caregiver,omitempty"`
	Label     string    `json:"label"` // "Android phone, Chrome"
	Shared    bool      `json:"shared"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Revoked   bool      `json:"revoked,omitempty"`
}

// Contact is a person who wrote without an account; unverified until staff
// match them to a patient record.
type Contact struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	DOB       string    `json:"dob"`
	Phone     string    `json:"phone"`
	Email     string    `json:"email,omitempty"`
	Lang      string    `json:"lang"`
	Created   time.Time `json:"created"`
	PatientID string    `json:"patient_id,omitempty"` // set once staff link it
}

// LogValue keeps contacts' details out of logs.
func (ct Contact) LogValue() slog.Value { return slog.StringValue("contact:" + ct.ID) }

// Age in whole years.
func (ct Contact) Age(now time.Time) int { return Patient{DOB: ct.DOB}.Age(now) }

func hashKey(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
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
		c.Audit(ctx, Actor{Kind: ActorSystem, Client: client}, AuditEvent{Action: action, Object: object, Patient: patientID, Outcome: "failed"})
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

func deviceActor(d Device, client string) Actor {
	if d.Caregiver != "" {
		return Actor{Kind: ActorCaregiver, ID: d.ID, Patient: d.PatientID, Client: client}
	}
	return Actor{Kind: ActorPatient, ID: d.PatientID, Patient: d.PatientID, Client: client}
}

// ErrDeviceUnknown: the cookie names no live device.
var ErrDeviceUnknown = errors.New("clinic: this device is not signed in")

// DeviceFor checks a device cookie and returns the device and the actor it
// speaks as.
func (c *Clinic) DeviceFor(ctx context.Context, token, client string) (Device, Actor, error) {
	if token == "" {
		return Device{}, Actor{}, ErrDeviceUnknown
	}
	key := string(hashKey(token))
	if d, ok := c.devices.get(key); ok {
		if d.Revoked || c.now().After(d.Expires) {
			return Device{}, Actor{}, ErrDeviceUnknown
		}
		return d, deviceActor(d, client), nil
	}
	var d Device
	err := c.st.View(ctx, func(tx store.Tx) error {
		id, err := tx.Lookup(ixDeviceToken, []byte(key))
		if err != nil {
			return err
		}
		return c.open(tx, vault.RefAnyPatient(bucketDevices, id), &d)
	})
	if err != nil || d.Revoked || c.now().After(d.Expires) {
		return Device{}, Actor{}, ErrDeviceUnknown
	}
	c.devices.put(key, d)
	return d, deviceActor(d, client), nil
}

// Devices lists the devices signed in to a patient's record (the patient
// sees theirs; staff see any patient's).
func (c *Clinic) Devices(ctx context.Context, a Actor, patientID string) ([]Device, error) {
	if err := c.mayReadPatient(a, patientID); err != nil && a.Kind != ActorCaregiver {
		return nil, err
	}
	if (a.Kind == ActorPatient || a.Kind == ActorCaregiver) && a.Patient != patientID {
		return nil, ErrNotFound
	}
	var out []Device
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixDeviceByPatient, store.Range{Prefix: append([]byte(patientID), 0)}, func(_ []byte, id string) error {
			var d Device
			if err := c.open(tx, vault.NewRef(bucketDevices, id, patientID), &d); err != nil {
				return err
			}
			if !d.Revoked && c.now().Before(d.Expires) {
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

// RevokeDevice signs a device out: the patient for their own devices, staff
// for any (revoking a caregiver's access).
func (c *Clinic) RevokeDevice(ctx context.Context, a Actor, deviceID string) error {
	if !validItemID(deviceID) {
		return ErrNotFound
	}
	var d Device
	var raw []byte
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		if raw, err = tx.Get(bucketDevices, deviceID); err != nil {
			return ErrNotFound
		}
		return c.openRaw(vault.RefAnyPatient(bucketDevices, deviceID), raw, &d)
	})
	if err != nil {
		return err
	}
	switch a.Kind {
	case ActorStaff:
	case ActorPatient:
		if d.PatientID != a.Patient {
			return ErrNotFound
		}
	case ActorCaregiver:
		if d.ID != a.ID {
			return ErrNotFound
		}
	default:
		return ErrNotFound
	}
	d.Revoked = true
	sealed, err := c.seal(vault.NewRef(bucketDevices, d.ID, d.PatientID), d)
	if err != nil {
		return err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketDevices, d.ID, sealed); err != nil {
			return err
		}
		return c.audit(tx, a, "device.revoke", "device:"+d.ID, d.PatientID)
	})
	c.devices.clear()
	c.changed(ChangedDevices, "")
	return err
}

// CreateContact files a first contact from someone without an account: the
// contact record, their item, and the private link token to follow it.
func (c *Clinic) CreateContact(ctx context.Context, in PatientInput, item NewItem, client string) (Ack, string, error) {
	if err := in.check(c.now()); err != nil {
		return Ack{}, "", err
	}
	if in.Phone == "" {
		return Ack{}, "", inputErr("phone", "Write a phone number so we can reach you.")
	}
	ct := Contact{ID: newID(), Name: in.Name, DOB: in.DOB, Phone: in.Phone, Email: in.Email, Lang: in.Lang, Created: c.now().UTC()}
	token := RandomToken()
	sealed, err := c.seal(vault.NewRef(bucketContacts, ct.ID, "contact:"+ct.ID), ct)
	if err != nil {
		return Ack{}, "", err
	}
	if err := item.check(); err != nil {
		return Ack{}, "", err
	}
	a := Actor{Kind: ActorContact, ID: ct.ID, Client: client}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketContacts, ct.ID, sealed); err != nil {
			return err
		}
		if err := tx.SetIndex(ixContactByToken, hashKey(token), ct.ID); err != nil {
			return err
		}
		return c.audit(tx, a, "contact.create", "contact:"+ct.ID, "")
	})
	if err != nil {
		return Ack{}, "", err
	}
	item.Lang = in.Lang
	ack, err := c.CreateItem(ctx, a, item)
	return ack, token, err
}

// ContactFor checks a private link token plus the birth date given with it.
func (c *Clinic) ContactFor(ctx context.Context, token string) (Contact, error) {
	var ct Contact
	err := c.st.View(ctx, func(tx store.Tx) error {
		id, err := tx.Lookup(ixContactByToken, hashKey(token))
		if err != nil {
			return err
		}
		return c.open(tx, vault.RefAnyPatient(bucketContacts, id), &ct)
	})
	if err != nil {
		return Contact{}, ErrCodeInvalid
	}
	return ct, nil
}

// CheckContactDOB confirms the birth date for a private link.
func (c *Clinic) CheckContactDOB(ctx context.Context, token, dob, client string) (Contact, Actor, error) {
	ct, err := c.ContactFor(ctx, token)
	if err != nil {
		return Contact{}, Actor{}, err
	}
	given, err := ParseDOB(dob, c.now())
	if err != nil {
		return Contact{}, Actor{}, err
	}
	if given != ct.DOB {
		c.Audit(ctx, Actor{Kind: ActorSystem, Client: client}, AuditEvent{Action: "contact.dob_check", Object: "contact:" + ct.ID, Outcome: "failed"})
		return Contact{}, Actor{}, ErrCodeInvalid
	}
	return ct, Actor{Kind: ActorContact, ID: ct.ID, Client: client}, nil
}

func (c *Clinic) loadContact(ctx context.Context, id string) (Contact, error) {
	var ct Contact
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.NewRef(bucketContacts, id, "contact:"+id), &ct) })
	return ct, err
}

// BreakGlass lets a clinician open a patient's items outside their queues
// for an hour, with a reason. It is logged at high severity for the owner.
func (c *Clinic) BreakGlass(ctx context.Context, a Actor, patientID, reason string) error {
	if a.Kind != ActorStaff || a.Role != RoleClinician {
		return ErrForbidden
	}
	reason, err := cleanBody("reason", reason, true)
	if err != nil || len(reason) < 10 {
		return inputErr("reason", "Write why you need to open this record (at least a few words).")
	}
	if _, err := c.loadPatient(ctx, patientID); err != nil {
		return ErrNotFound
	}
	now := c.now().UTC()
	rec := struct {
		Staff, Patient, Reason string
		At, Until              time.Time
	}{a.ID, patientID, reason, now, now.Add(BreakGlassLifetime)}
	id := newID()
	sealed, err := c.seal(vault.NewRef(bucketBreakGlass, id, patientID), rec)
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketBreakGlass, id, sealed); err != nil {
			return err
		}
		key := cat([]byte(a.ID), []byte{0}, []byte(patientID), []byte{0}, be64(rec.Until))
		if err := tx.SetIndex(ixBreakGlassByStaff, key, id); err != nil {
			return err
		}
		return c.auditEvent(tx, auditHigh(a, "breakglass.open", "breakglass:"+id, patientID))
	})
}

func (c *Clinic) hasBreakGlass(ctx context.Context, staffID, patientID string) bool {
	ok := false
	now := c.now()
	c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixBreakGlassByStaff, store.Range{Prefix: cat([]byte(staffID), []byte{0}, []byte(patientID), []byte{0})}, func(k []byte, _ string) error {
			until := time.UnixMilli(int64(beUint(k[len(k)-8:])))
			if now.Before(until) {
				ok = true
				return store.ErrStop
			}
			return nil
		})
	})
	return ok
}

// Contact sessions: a browser that proved the birth date on a private link.
// Kept in the clear (a contact id and an expiry, keyed by the SHA-256 of the
// cookie token) and ended after ContactSessionLife or at sign-out.
const ContactSessionLife = 12 * time.Hour

type contactSession struct {
	ContactID string    `json:"contact_id"`
	Expires   time.Time `json:"expires"`
}

// StartContactSession follows a successful birth-date check on a private
// link: it returns a browser-session token (stored hashed).
func (c *Clinic) StartContactSession(ctx context.Context, ct Contact) (string, error) {
	token := RandomToken()
	b, _ := json.Marshal(contactSession{ContactID: ct.ID, Expires: c.now().UTC().Add(ContactSessionLife)})
	err := c.st.Update(ctx, func(tx store.Tx) error {
		return tx.Put(bucketContactSessions, hex.EncodeToString(hashKey(token)), b)
	})
	return token, err
}

// ContactSession returns the actor a contact-session cookie speaks as.
func (c *Clinic) ContactSession(ctx context.Context, token, client string) (Contact, Actor, error) {
	if token == "" {
		return Contact{}, Actor{}, ErrDeviceUnknown
	}
	var cs contactSession
	err := c.st.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(bucketContactSessions, hex.EncodeToString(hashKey(token)))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &cs)
	})
	if err != nil || c.now().After(cs.Expires) {
		return Contact{}, Actor{}, ErrDeviceUnknown
	}
	ct, err := c.loadContact(ctx, cs.ContactID)
	if err != nil {
		return Contact{}, Actor{}, ErrDeviceUnknown
	}
	return ct, Actor{Kind: ActorContact, ID: ct.ID, Client: client}, nil
}

// EndContactSession signs a private-link browser out.
func (c *Clinic) EndContactSession(ctx context.Context, token string) error {
	return c.st.Update(ctx, func(tx store.Tx) error {
		return tx.Delete(bucketContactSessions, hex.EncodeToString(hashKey(token)))
	})
}

// SetPatientLang remembers the language a patient chose on the record, so a
// new device and emails speak it too.
func (c *Clinic) SetPatientLang(ctx context.Context, a Actor, lang string) error {
	if a.Kind != ActorPatient || (lang != "en" && lang != "es") {
		return nil
	}
	p, err := c.loadPatient(ctx, a.Patient)
	if err != nil || p.Lang == lang {
		return err
	}
	p.Lang = lang
	return c.savePatient(ctx, a, p, "patient.lang")
}

// savePatient reseals a patient's own change to their record (language,
// email preference), audits it and refreshes the cache.
func (c *Clinic) savePatient(ctx context.Context, a Actor, p Patient, action string) error {
	sealed, err := c.seal(vault.NewRef(bucketPatients, p.ID, p.ID), p)
	if err != nil {
		return err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketPatients, p.ID, sealed); err != nil {
			return err
		}
		return c.audit(tx, a, action, "patient:"+p.ID, p.ID)
	})
	if err == nil {
		c.patients.put(p.ID, p)
		c.changed(ChangedPatient, p.ID)
	}
	return err
}

// ExpectedReply is when a request of this type sent now would be answered:
// the acknowledgement's promise, and the preview on the compose page.
func (c *Clinic) ExpectedReply(ctx context.Context, typ string, urgent bool) (time.Time, bool, error) {
	s, err := c.Settings(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	now := c.now()
	h := s.hours()
	return DueAt(h, s.Location(), now, s.target(typ), urgent), h.IsOpen(now, s.Location()), nil
}

// PatientOf returns the caller's own patient record (a patient or caregiver
// looking at /me), without an audit event: patients reading their own
// record are not what the access report is for.
func (c *Clinic) PatientOf(ctx context.Context, a Actor) (Patient, error) {
	if (a.Kind != ActorPatient && a.Kind != ActorCaregiver) || a.Patient == "" {
		return Patient{}, ErrNotFound
	}
	return c.loadPatient(ctx, a.Patient)
}

// RequestInvite files a front-desk item for a patient on a new device who
// needs a new sign-in letter: not a dead end.
func (c *Clinic) RequestInvite(ctx context.Context, in PatientInput, note, client string) (Ack, string, error) {
	return c.CreateContact(ctx, in, NewItem{Type: TypeInviteRequest, Body: note,
		Fields: map[string]string{"phone": in.Phone}}, client)
}
