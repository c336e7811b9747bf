package clinic

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

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

// CheckContact finds every problem a no-account contact form has at once:
// the person's details (a phone number is required) and their request. It
// is nil, an *InputError, or InputErrors; nothing is written. in and item
// are left cleaned as CreateContact files them.
func (c *Clinic) CheckContact(in *PatientInput, item *NewItem) error {
	var es InputErrors
	if err := es.add(in.check(c.now())); err != nil {
		return err
	}
	if in.Phone == "" && !es.has("phone") {
		es = append(es, &InputError{Field: "phone", Msg: "Write a phone number so we can reach you."})
	}
	if err := es.add(item.check()); err != nil {
		return err
	}
	return es.err()
}

// CreateContact files a first contact from someone without an account: the
// contact record, their item, and the private link token to follow it.
// Every problem with the form comes back at once (see CheckContact).
func (c *Clinic) CreateContact(ctx context.Context, in PatientInput, item NewItem, client string) (Ack, string, error) {
	if err := c.CheckContact(&in, &item); err != nil {
		return Ack{}, "", err
	}
	in.Lang = c.speaks(in.Lang)
	ct := Contact{ID: newID(), Name: in.Name, DOB: in.DOB, Phone: in.Phone, Email: in.Email, Lang: in.Lang, Created: c.now().UTC()}
	token := RandomToken()
	sealed, err := c.seal(vault.NewRef(bucketContacts, ct.ID, "contact:"+ct.ID), ct)
	if err != nil {
		return Ack{}, "", err
	}
	item.Lang = c.speaks(item.Lang)
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
		c.auditFailure(ctx, Actor{Kind: ActorSystem, Client: client}, AuditEvent{Action: "contact.dob_check", Object: "contact:" + ct.ID, Outcome: "failed"})
		return Contact{}, Actor{}, ErrCodeInvalid
	}
	return ct, Actor{Kind: ActorContact, ID: ct.ID, Client: client}, nil
}

func (c *Clinic) loadContact(ctx context.Context, id string) (Contact, error) {
	var ct Contact
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.NewRef(bucketContacts, id, "contact:"+id), &ct) })
	return ct, err
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

// LinkContact moves an unverified contact's items onto a patient record,
// after staff compared both identities side by side. Every item and message
// is re-sealed to the patient.
func (c *Clinic) LinkContact(ctx context.Context, a Actor, contactID, patientID string) (int, error) {
	if a.Kind != ActorStaff {
		return 0, ErrForbidden
	}
	ct, err := c.loadContact(ctx, contactID)
	if err != nil {
		return 0, ErrNotFound
	}
	if _, err := c.loadPatient(ctx, patientID); err != nil {
		return 0, ErrNotFound
	}
	if ct.PatientID != "" {
		return 0, inputErr("contact_id", "This contact is already linked to a patient.")
	}
	owner := "contact:" + contactID
	var ids []string
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixOwner, store.Range{Prefix: append([]byte(owner), 0)}, func(_ []byte, id string) error {
			ids = append(ids, id)
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := c.reownItem(ctx, a, id, owner, patientID); err != nil {
			return 0, err
		}
	}
	ct.PatientID = patientID
	sealed, err := c.seal(vault.NewRef(bucketContacts, ct.ID, owner), ct)
	if err != nil {
		return 0, err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketContacts, ct.ID, sealed); err != nil {
			return err
		}
		return c.audit(tx, a, "contact.link", "contact:"+contactID, patientID)
	})
	return len(ids), err
}

// reownItem re-seals one item and its messages from the contact to the patient.
func (c *Clinic) reownItem(ctx context.Context, a Actor, id, from, patientID string) error {
	var it Item
	msgs := map[string][]byte{}
	err := c.st.View(ctx, func(tx store.Tx) error {
		if err := c.open(tx, vault.NewRef(bucketItems, id, from), &it); err != nil {
			return err
		}
		return tx.Each(bucketMessages, id, func(mid string, raw []byte) error {
			if !strings.HasPrefix(mid, id+":") {
				return store.ErrStop
			}
			var m Message
			if err := c.openRaw(vault.NewRef(bucketMessages, mid, from), raw, &m); err != nil {
				return err
			}
			b, err := c.seal(vault.NewRef(bucketMessages, mid, patientID), m)
			msgs[mid] = b
			return err
		})
	})
	if err != nil {
		return err
	}
	old := it.ItemMeta
	it.PatientID, it.ContactID = patientID, ""
	sealed, err := c.seal(vault.NewRef(bucketItems, id, patientID), it)
	if err != nil {
		return err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketItems, id, sealed); err != nil {
			return err
		}
		for mid, b := range msgs {
			if err := tx.Put(bucketMessages, mid, b); err != nil {
				return err
			}
		}
		if err := putMeta(tx, &old, it.ItemMeta); err != nil {
			return err
		}
		return c.audit(tx, a, "item.link", "item:"+id, patientID)
	})
	if err == nil {
		c.items.drop(id)
	}
	return err
}
