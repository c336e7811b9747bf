package clinic

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"hearth/app/sms"
	"hearth/app/store"
)

// A patient's texts: the number on file read in E.164 (with the clinic's
// country for numbers written without one), a flag when it cannot take
// texts, the consent to texts with when and how it was given, and the
// opt-out a patient sends by texting STOP. Texts go only to a patient who
// agreed, whose number is a mobile one and who has not texted STOP.

// TextConsent is a patient's answer about texts: yes or no, when, how, and
// for consent taken by staff, who noted it and the patient's words.
type TextConsent struct {
	On    bool      `json:"on"`
	At    time.Time `json:"at"`
	How   string    `json:"how"`             // ConsentStaff, ConsentInvite, ConsentMe, ConsentText
	By    string    `json:"by,omitempty"`    // the staff member who noted it
	Words string    `json:"words,omitempty"` // the patient's words, as staff noted them
}

// How a patient's consent to texts was given.
const (
	ConsentStaff  = "staff"  // told to staff (on the phone, at the desk)
	ConsentInvite = "invite" // ticked on the invite page
	ConsentMe     = "me"     // turned on (or off) on their own page
	ConsentText   = "text"   // texted START (or STOP)
)

// mayText reports whether the clinic may text this patient.
func (p Patient) mayText() bool {
	return p.SMS != nil && p.SMS.On && p.Phone != "" && !p.NotMobile && p.SMSStopped.IsZero() && strings.HasPrefix(p.Phone, "+")
}

// TextsOn reports whether the patient gets texts, for the pages that show it.
func (p Patient) TextsOn() bool { return p.mayText() }

// MayGetTexts reports whether the patient could turn texts on: a number
// is on file that is not known to be a landline (one written before
// numbers were kept in E.164 is read when they do).
func (p Patient) MayGetTexts() bool {
	return p.Phone != "" && !p.NotMobile
}

// notePhone reads the phone number in E.164 with the clinic's country and
// flags one that cannot take texts. A number it cannot read is kept as
// typed (staff still call it) and flagged.
func notePhone(s Settings, p *Patient) {
	p.NotMobile = false
	if p.Phone == "" {
		return
	}
	e164, mobile, err := sms.Normalize(p.Phone, s.region())
	if err != nil {
		p.NotMobile = true
		return
	}
	p.Phone, p.NotMobile = e164, !mobile
}

// PatientTexts applies to a patient record that staff create or correct
// (POST and PATCH /api/v1/patients) what concerns texts: with phoneChanged,
// the phone number is read in E.164 and flagged when it cannot take texts;
// with sms set, the patient's consent (or refusal) as told to staff a, with
// the patient's words. It changes p only; the caller stores it.
func (c *Clinic) PatientTexts(ctx context.Context, a Actor, p *Patient, phoneChanged bool, sms *bool, words string) error {
	s, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	return c.patientTexts(s, a, p, phoneChanged, sms, words)
}

// patientTexts is PatientTexts with the settings already read (a
// correction reads them before its transaction).
func (c *Clinic) patientTexts(s Settings, a Actor, p *Patient, phoneChanged bool, sms *bool, words string) error {
	if phoneChanged {
		notePhone(s, p)
	}
	if sms == nil {
		return nil
	}
	words = strings.Join(strings.Fields(words), " ")
	if len(words) > 500 || !validText(words) {
		return inputErr("sms_words", "Note the patient's words in at most 500 characters.")
	}
	if *sms && (!p.MayGetTexts() || !strings.HasPrefix(p.Phone, "+")) {
		return inputErr("sms", "Texts need a mobile number on the record. Check the phone number first.")
	}
	p.SMS = &TextConsent{On: *sms, At: c.now().UTC(), How: ConsentStaff, By: a.ID, Words: words}
	if *sms {
		p.SMSStopped = time.Time{}
	}
	return nil
}

// SetPatientTexts is the patient's own answer about texts, on the invite
// page (how = ConsentInvite) or on their page (ConsentMe).
func (c *Clinic) SetPatientTexts(ctx context.Context, a Actor, on bool, how string) error {
	if a.Kind != ActorPatient || a.Patient == "" || (how != ConsentInvite && how != ConsentMe) {
		return ErrForbidden
	}
	p, err := c.loadPatient(ctx, a.Patient)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(p.Phone, "+") {
		// Written before numbers were kept in E.164: read it now (the
		// search index keys on the last ten digits, which do not change).
		s, err := c.Settings(ctx)
		if err != nil {
			return err
		}
		notePhone(s, &p)
	}
	if on && (!p.MayGetTexts() || !strings.HasPrefix(p.Phone, "+")) {
		return inputErr("sms", "The clinic has no mobile number for you. Ask them to add it.")
	}
	p.SMS = &TextConsent{On: on, At: c.now().UTC(), How: how}
	if on {
		p.SMSStopped = time.Time{}
		if err := c.clearTextStop(ctx, p.Phone); err != nil {
			return err
		}
	}
	return c.savePatient(ctx, a, p, "patient.sms_consent")
}

// textStop is the plain record of a number that texted STOP: nothing is
// texted to it until START (or a patient's new consent).
type textStop struct {
	At time.Time `json:"at"`
}

// textStopKey names a number's stop record by a keyed hash: the plain
// bucket holds no phone number.
func (c *Clinic) textStopKey(e164 string) (string, error) {
	t, err := c.v.BlindToken("sms_stop", e164)
	if err != nil {
		return "", ErrLocked
	}
	return hex.EncodeToString(t), nil
}

// textStopped reports whether a number texted STOP.
func (c *Clinic) textStopped(ctx context.Context, e164 string) (bool, error) {
	k, err := c.textStopKey(e164)
	if err != nil {
		return false, err
	}
	err = c.st.View(ctx, func(tx store.Tx) error { _, err := tx.Get(bucketTextStops, k); return err })
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (c *Clinic) putTextStop(ctx context.Context, e164 string) error {
	k, err := c.textStopKey(e164)
	if err != nil {
		return err
	}
	b, err := json.Marshal(textStop{At: c.now().UTC()})
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error { return tx.Put(bucketTextStops, k, b) })
}

func (c *Clinic) clearTextStop(ctx context.Context, e164 string) error {
	if e164 == "" {
		return nil
	}
	k, err := c.textStopKey(e164)
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		err := tx.Delete(bucketTextStops, k)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
}
