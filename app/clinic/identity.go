package clinic

import (
	"context"
	"crypto/sha256"
	"time"

	"hearth/app/i18n"
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

func hashKey(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// speaks returns lang if the clinic's catalogue has it, else the default
// language: a language is known by its file in embed/i18n, not by a list in
// Go, so adding one is adding a file.
func (c *Clinic) speaks(lang string) string {
	if c.words != nil && c.words.Has(lang) {
		return lang
	}
	return i18n.Default
}

// SetPatientLang remembers the language a patient chose on the record, so a
// new device and emails speak it too.
func (c *Clinic) SetPatientLang(ctx context.Context, a Actor, lang string) error {
	if a.Kind != ActorPatient || c.speaks(lang) != lang {
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
// the acknowledgement's promise, and the preview on the compose page. It
// is never before the clinic next opens.
func (c *Clinic) ExpectedReply(ctx context.Context, typ string, urgent bool) (time.Time, bool, error) {
	s, err := c.Settings(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	now := c.now()
	return s.ReplyBy(now, typ, urgent), s.hours().IsOpen(now, s.Location()), nil
}

// ReplyBy is the answer time a patient is promised for a request of typ
// sent at sent. It is the staff's due time, except that an urgent
// request's hour counts only open time: staff aim to answer urgent wording
// within the hour whatever the clock says, but a patient writing at night
// is never promised an answer while nobody is there. The result is in the
// clinic's time zone.
func (s Settings) ReplyBy(sent time.Time, typ string, urgent bool) time.Time {
	h, loc := s.hours(), s.Location()
	if urgent {
		return h.AddBusiness(sent, time.Hour, loc)
	}
	return DueAt(h, loc, sent, s.target(typ), false)
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
