package clinic

import (
	"context"
	"errors"
	"slices"
	"strings"

	"hearth/app/store"
	"hearth/app/vault"
)

// PatientEdit corrects a patient's record: a nil field stays as it is. An
// empty phone or email clears it; the name and birth date cannot be cleared.
type PatientEdit struct {
	Name, DOB, Phone, Email, Lang *string
	// SMS, when set, records the patient's consent to texts (or its
	// withdrawal) as told to staff, with their words (SMSWords).
	SMS      *bool
	SMSWords string
}

// EditPatient corrects a patient's record (a mistyped birth date, a new
// phone), rebuilds its search tokens so the old name and birth date no
// longer find it and the new ones do, and audits which fields changed
// (never their values). Any staff member may, as any may create a patient.
// It returns the record as stored and the names of the fields that
// changed (none: nothing was written).
func (c *Clinic) EditPatient(ctx context.Context, a Actor, id string, e PatientEdit) (Patient, []string, error) {
	if a.Kind != ActorStaff {
		return Patient{}, nil, ErrForbidden
	}
	if !validItemID(id) {
		return Patient{}, nil, ErrNotFound
	}
	// Read before the transaction: a phone number is read in the clinic's
	// country (text_patient.go).
	set, err := c.Settings(ctx)
	if err != nil {
		return Patient{}, nil, err
	}
	var changed []string
	var oldToks, newToks [][]byte
	r := reseal[Patient]{
		bucket: bucketPatients,
		openAs: func(store.Tx) (vault.Ref, error) { return vault.NewRef(bucketPatients, id, id), nil },
		sealAs: func(p Patient) vault.Ref { return vault.NewRef(bucketPatients, p.ID, p.ID) },
		also: func(tx store.Tx, p *Patient) error {
			for _, t := range oldToks {
				if err := tx.DeleteIndex(ixPatientSearch, searchKey(t, p.ID)); err != nil {
					return err
				}
			}
			for _, t := range newToks {
				if err := tx.SetIndex(ixPatientSearch, searchKey(t, p.ID), p.ID); err != nil {
					return err
				}
			}
			return c.audit(tx, a, "patient.edit", "patient:"+p.ID+"#"+strings.Join(changed, ","), p.ID)
		},
	}
	p, wrote, err := changeSealed(ctx, c, id, r, func(p *Patient) (bool, error) {
		in := PatientInput{Name: p.Name, DOB: p.DOB, Phone: p.Phone, Email: p.Email, Lang: p.Lang}
		for _, f := range []struct {
			from *string
			to   *string
		}{{e.Name, &in.Name}, {e.DOB, &in.DOB}, {e.Phone, &in.Phone}, {e.Email, &in.Email}, {e.Lang, &in.Lang}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		var es InputErrors
		if err := es.add(in.check(c.now())); err != nil {
			return false, err
		}
		if e.Lang != nil && c.speaks(*e.Lang) != *e.Lang {
			es = append(es, &InputError{Field: "lang", Msg: "Choose a language Hearth speaks (en or es)."})
		}
		if err := es.err(); err != nil {
			return false, err
		}
		// The phone as it would be stored (E.164 when it can be read), so
		// the same number typed another way is no change; texts' consent.
		texts := *p
		texts.Phone = in.Phone
		if e.Phone != nil && in.Phone != p.Phone {
			notePhone(set, &texts)
		}
		if err := c.patientTexts(set, a, &texts, false, e.SMS, e.SMSWords); err != nil {
			return false, err
		}
		changed = changed[:0]
		for _, f := range []struct {
			name     string
			old, new string
		}{{"name", p.Name, in.Name}, {"dob", p.DOB, in.DOB}, {"phone", p.Phone, texts.Phone}, {"email", p.Email, in.Email}, {"lang", p.Lang, in.Lang}} {
			if f.old != f.new {
				changed = append(changed, f.name)
			}
		}
		if e.SMS != nil {
			changed = append(changed, "sms")
		}
		if len(changed) == 0 {
			return false, nil
		}
		var err error
		if oldToks, err = c.patientTokens(*p); err != nil {
			return false, err
		}
		p.Name, p.DOB, p.Email, p.Lang = in.Name, in.DOB, in.Email, in.Lang
		p.Phone, p.NotMobile, p.SMS, p.SMSStopped = texts.Phone, texts.NotMobile, texts.SMS, texts.SMSStopped
		if newToks, err = c.patientTokens(*p); err != nil {
			return false, err
		}
		// A token both versions share (the unchanged surname's prefixes)
		// is deleted and set again in the same transaction: kept.
		oldToks = slices.DeleteFunc(oldToks, func(t []byte) bool {
			return slices.ContainsFunc(newToks, func(n []byte) bool { return string(n) == string(t) })
		})
		return true, nil
	})
	if err != nil {
		return Patient{}, nil, err
	}
	if !wrote {
		return p, nil, nil
	}
	c.patients.drop(id)
	c.changed(ChangedPatient, id)
	return p, changed, nil
}

// DuplicateError refuses a new patient with the same name and birth date
// as existing records (Existing, their ids), unless the caller confirms.
type DuplicateError struct {
	Existing []string
}

func (e *DuplicateError) Error() string {
	return "clinic: a patient with this name and birth date already exists"
}

// ErrDuplicate is what a DuplicateError is (errors.Is).
var ErrDuplicate = errors.New("clinic: duplicate patient")

// Is makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// samePatients lists the patients whose full name and birth date are
// name's and dob's (already checked and normalised), through the blind
// index: the same test the CSV import matches patients by.
func (c *Clinic) samePatients(tx store.Tx, name, dob string) ([]string, error) {
	nameTok, err := c.v.BlindToken("fullname", nameKey(name))
	if err != nil {
		return nil, ErrLocked
	}
	dobTok, err := c.v.BlindToken("dob", dob)
	if err != nil {
		return nil, ErrLocked
	}
	var found []string
	err = tx.Scan(ixPatientSearch, store.Range{Prefix: nameTok}, func(k []byte, id string) error {
		if len(k) != len(nameTok)+len(idBytes(id)) {
			return nil // a longer token that begins with this one
		}
		_, err := tx.Lookup(ixPatientSearch, searchKey(dobTok, id))
		switch {
		case err == nil:
			if !slices.Contains(found, id) {
				found = append(found, id)
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	})
	return found, err
}
