package clinic

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Sign-in links by email, for patients with an address on file: single
// use, 15 minutes, stored as a SHA-256 hash. Opening the link changes
// nothing (mail scanners follow links); the page asks the birth date and
// only that POST uses the link and remembers the device.

// SignInLinkLife is how long an emailed sign-in link works.
const SignInLinkLife = 15 * time.Minute

type signInLink struct {
	PatientID string    `json:"patient_id"`
	Expires   time.Time `json:"expires"`
	Used      bool      `json:"used,omitempty"`
}

// emailToken is the blind-index token of a patient's email address.
func (c *Clinic) emailSearchToken(email string) ([]byte, error) {
	t, err := c.v.BlindToken("email", normalizeEmail(email))
	if err != nil {
		return nil, ErrLocked
	}
	return t, nil
}

// RequestSignInLink emails a sign-in link to the patient with this
// address, if there is exactly one and email is set up. It says nothing
// about whether the address is on file: the caller answers the same either
// way.
func (c *Clinic) RequestSignInLink(ctx context.Context, email, client string) error {
	s, err := c.Settings(ctx)
	if err != nil || !s.MailReady() || strings.TrimSpace(email) == "" {
		return err
	}
	tok, err := c.emailSearchToken(email)
	if err != nil {
		return err
	}
	var ids []string
	if err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixPatientSearch, store.Range{Prefix: tok, Limit: 2}, func(_ []byte, id string) error {
			ids = append(ids, id)
			return nil
		})
	}); err != nil {
		return err // a failed search is not "no such address": nothing was sent
	}
	if len(ids) != 1 {
		c.auditFailure(ctx, Actor{Kind: ActorSystem, Client: client}, AuditEvent{Action: "signin_link.request", Outcome: "failed"})
		return nil
	}
	p, err := c.loadPatient(ctx, ids[0])
	if err != nil || normalizeEmail(p.Email) != normalizeEmail(email) {
		return nil
	}
	token := RandomToken()
	now := c.now().UTC()
	b, _ := json.Marshal(signInLink{PatientID: p.ID, Expires: now.Add(SignInLinkLife)})
	tr, err := c.mailTr(s, p.Lang)
	if err != nil {
		return err
	}
	base := strings.TrimRight(s.PublicURL, "/")
	m := &OutMail{ID: newTimeID(), Kind: textKindSignIn, PatientID: p.ID, To: p.Email, Subject: tr.T("mail.signin.subject", "clinic", s.ClinicName),
		Body: tr.T("mail.signin.body", "clinic", s.ClinicName, "link", base+"/l/"+token,
			"minutes", int(SignInLinkLife/time.Minute)),
		State: MailQueued, NextAt: now, Created: now}
	sealed, err := c.seal(vault.NewRef(bucketOutbox, m.ID, p.ID), m)
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketSignInLinks, hex.EncodeToString(hashKey(token)), b); err != nil {
			return err
		}
		if err := putOutMail(tx, m, sealed, nil); err != nil {
			return err
		}
		return c.audit(tx, Actor{Kind: ActorSystem, Client: client}, "signin_link.request", "patient:"+p.ID, p.ID)
	})
}

// SignInLinkValid reports whether a link can still be used (for the page
// that asks the birth date). A store that cannot answer, or a damaged
// record, is an error rather than "not valid".
func (c *Clinic) SignInLinkValid(ctx context.Context, token string) (bool, error) {
	_, err := c.signInLink(ctx, token)
	if errors.Is(err, ErrCodeInvalid) {
		return false, nil
	}
	return err == nil, err
}

// signInLink reads a link that can still be used: ErrCodeInvalid when
// there is none (unknown, used or expired), another error when it cannot
// be read.
func (c *Clinic) signInLink(ctx context.Context, token string) (signInLink, error) {
	var l signInLink
	err := c.st.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(bucketSignInLinks, hex.EncodeToString(hashKey(token)))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("clinic: a sign-in link record is damaged: %w", err)
		}
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return l, ErrCodeInvalid
	case err != nil:
		return l, err
	case l.Used || c.now().After(l.Expires):
		return l, ErrCodeInvalid
	case l.Expires.Sub(c.now()) > SignInLinkLife+clockSkew:
		// Made "in the future": the clock went back; ask for a new link.
		return l, ErrCodeInvalid
	}
	return l, nil
}

// UseSignInLink checks the birth date and, if it matches, uses the link up
// and remembers the device.
func (c *Clinic) UseSignInLink(ctx context.Context, token, dob, label string, shared bool, client string) (Device, string, error) {
	l, err := c.signInLink(ctx, token)
	if err != nil {
		return Device{}, "", err
	}
	if err := c.checkDOB(ctx, l.PatientID, dob, client, "signin_link.dob_check", "patient:"+l.PatientID); err != nil {
		return Device{}, "", err
	}
	key := hex.EncodeToString(hashKey(token))
	used, _ := json.Marshal(signInLink{PatientID: l.PatientID, Expires: l.Expires, Used: true})
	var spent bool
	err = c.st.Update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(bucketSignInLinks, key)
		if err != nil {
			return err
		}
		var cur signInLink
		if err := json.Unmarshal(b, &cur); err != nil {
			return fmt.Errorf("clinic: a sign-in link record is damaged: %w", err)
		}
		if cur.Used {
			spent = true
			return nil
		}
		return tx.Put(bucketSignInLinks, key, used)
	})
	switch {
	case spent || errors.Is(err, store.ErrNotFound):
		return Device{}, "", ErrCodeInvalid // used or gone since it was checked above
	case err != nil:
		// A damaged record or a failed write: the link was not used up, and
		// the patient sees an error, not "this link is not valid".
		return Device{}, "", err
	}
	return c.addDevice(ctx, Device{PatientID: l.PatientID, Label: label, Shared: shared}, client)
}

// newDevice prepares a device record and its cookie token (outside any
// transaction: sealing is slow); putDevice stores them. After the commit
// the caller remembers the device, so its first page costs no read.
func (c *Clinic) newDevice(dev Device) (Device, string, []byte, error) {
	now := c.now().UTC()
	dev.ID, dev.Created, dev.Expires = newID(), now, now.Add(DeviceLifetime)
	if dev.Shared {
		dev.Expires = now.Add(SharedDeviceLife)
	}
	sealed, err := c.seal(vault.NewRef(bucketDevices, dev.ID, dev.PatientID), dev)
	return dev, RandomToken(), sealed, err
}

func (c *Clinic) putDevice(tx store.Tx, dev Device, token string, sealed []byte, client string) error {
	if err := tx.Put(bucketDevices, dev.ID, sealed); err != nil {
		return err
	}
	if err := tx.SetIndex(ixDeviceToken, hashKey(token), dev.ID); err != nil {
		return err
	}
	if err := tx.SetIndex(ixDeviceByPatient, cat([]byte(dev.PatientID), []byte{0}, idBytes(dev.ID)), dev.ID); err != nil {
		return err
	}
	return c.audit(tx, deviceActor(dev, client), "device.add", "device:"+dev.ID, dev.PatientID)
}

// addDevice remembers a new device for a patient and returns its token.
func (c *Clinic) addDevice(ctx context.Context, dev Device, client string) (Device, string, error) {
	dev, token, sealed, err := c.newDevice(dev)
	if err != nil {
		return Device{}, "", err
	}
	if err := c.st.Update(ctx, func(tx store.Tx) error { return c.putDevice(tx, dev, token, sealed, client) }); err != nil {
		return Device{}, "", err
	}
	c.devices.put(string(hashKey(token)), dev)
	return dev, token, nil
}
