package clinic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Staff roles.
const (
	RoleOwner     = "owner"
	RoleClinician = "clinician"
	RoleFrontDesk = "frontdesk"
)

// ValidRole reports whether r is a staff role.
func ValidRole(r string) bool { return r == RoleOwner || r == RoleClinician || r == RoleFrontDesk }

// Staff is one staff account. Disabled accounts keep their history.
type Staff struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Email              string    `json:"email"`
	Role               string    `json:"role"`
	PasswordHash       string    `json:"password_hash"`
	MustChangePassword bool      `json:"must_change_password,omitempty"`
	Disabled           bool      `json:"disabled,omitempty"`
	Created            time.Time `json:"created"`
	// Generation changes whenever sessions must end (role change, disable,
	// password reset); sessions carry the generation they were made with.
	Generation int `json:"generation"`

	PINHash       string   `json:"pin_hash,omitempty"`
	TOTPSecret    string   `json:"totp_secret,omitempty"`
	TOTPEnabled   bool     `json:"totp_enabled,omitempty"`
	TOTPLastStep  int64    `json:"totp_last_step,omitempty"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"` // SHA-256 of each unused code

	// DisplayName is the name patients see on replies, signatures and
	// call attempts, set by an owner; empty means the default (SignedName).
	DisplayName string `json:"display_name,omitempty"`
}

// LogValue keeps names and emails out of logs.
func (s Staff) LogValue() slog.Value { return slog.StringValue("staff:" + s.ID) }

// MaxDisplayName bounds the name patients see for a staff member.
const MaxDisplayName = 60

// nameTitles are the words that, first in a name, make the default name
// patients see "title + last name" ("Dr. Patel") instead of the first word.
var nameTitles = map[string]bool{"dr.": true, "dr": true, "doctor": true, "dra.": true, "nurse": true,
	"np": true, "pa": true, "mr.": true, "mrs.": true, "ms.": true, "mx.": true}

// SignedName is how the staff member signs for patients: replies, "seen
// by", template signatures, call attempts and presence. It is the owner's
// DisplayName when set; otherwise the first name, or the title and last
// name when the name starts with a title ("Dr. Raj Patel" signs "Dr.
// Patel"). Credentials after a comma ("Raj Patel, MD") are left out.
func (s Staff) SignedName() string {
	if d := strings.TrimSpace(s.DisplayName); d != "" {
		return d
	}
	name, _, _ := strings.Cut(s.Name, ",")
	words := strings.Fields(name)
	switch {
	case len(words) == 0:
		return strings.TrimSpace(s.Name)
	case len(words) == 1:
		return words[0]
	case nameTitles[strings.ToLower(words[0])]:
		return words[0] + " " + words[len(words)-1]
	}
	return words[0]
}

// checkDisplayName tidies an owner's display name: spaces collapse, ""
// clears it (back to the default), and it follows the rules of names.
func checkDisplayName(d string) (string, error) {
	d = strings.Join(strings.Fields(d), " ")
	switch {
	case len(d) > MaxDisplayName:
		return "", inputErr("display_name", fmt.Sprintf("Enter the name patients see (at most %d characters).", MaxDisplayName))
	case !validText(d):
		return "", inputErr("display_name", "The name has characters that cannot be stored. Type it again.")
	}
	return d, nil
}

// StaffInput creates an account.
type StaffInput struct {
	Name, Email, Role, Password string
}

func normalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func (in *StaffInput) check(common map[string]bool) error {
	in.Name = strings.TrimSpace(in.Name)
	in.Email = normalizeEmail(in.Email)
	if in.Name == "" || len(in.Name) > 100 {
		return inputErr("name", "Enter the person's name (at most 100 characters).")
	}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
		return inputErr("email", "Enter an email address like maria@clinic.example.")
	}
	if !ValidRole(in.Role) {
		return inputErr("role", "Choose a role: owner, clinician or frontdesk.")
	}
	return CheckNewPassword(in.Password, common)
}

func (c *Clinic) emailToken(email string) ([]byte, error) {
	tok, err := c.v.BlindToken("staff-email", normalizeEmail(email))
	if err != nil {
		return nil, ErrLocked
	}
	return tok, nil
}

// createStaff prepares a new account's sealed record outside any transaction
// (sealing and hashing are slow) and returns a function that stores it.
// A password an owner chose for someone else must be replaced at their
// first sign-in (mustChange).
func (c *Clinic) prepareStaff(in StaffInput, mustChange bool) (Staff, []byte, []byte, error) {
	s := Staff{ID: newID(), Name: in.Name, Email: in.Email, Role: in.Role,
		PasswordHash: hashPassword(c.argon, in.Password), Created: c.now().UTC(), Generation: 1, MustChangePassword: mustChange}
	tok, err := c.emailToken(in.Email)
	if err != nil {
		return s, nil, nil, err
	}
	sealed, err := c.seal(vault.RefNoPatient(bucketStaff, s.ID), s)
	return s, tok, sealed, err
}

// CreateStaff adds an account. Owners only.
func (c *Clinic) CreateStaff(ctx context.Context, a Actor, in StaffInput, common map[string]bool) (Staff, error) {
	if a.Kind != ActorSystem && a.Role != RoleOwner {
		return Staff{}, ErrForbidden
	}
	if err := in.check(common); err != nil {
		return Staff{}, err
	}
	s, tok, sealed, err := c.prepareStaff(in, true)
	if err != nil {
		return Staff{}, err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Lookup(ixStaffEmail, tok); err == nil {
			return inputErr("email", "Another staff account already uses that email address.")
		}
		if err := tx.Put(bucketStaff, s.ID, sealed); err != nil {
			return err
		}
		if err := tx.SetIndex(ixStaffEmail, tok, s.ID); err != nil {
			return err
		}
		return c.audit(tx, a, "staff.create", "staff:"+s.ID, "")
	})
	return s, err
}

// Staff reads one account.
func (c *Clinic) Staff(ctx context.Context, id string) (Staff, error) {
	var s Staff
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefNoPatient(bucketStaff, id), &s) })
	return s, err
}

// SignIn checks an email and password. Every failure is the same
// ErrBadCredential, and an unknown email costs the same hashing time as a
// known one, so neither the answer nor its timing tells whether the account
// exists. Throttling is the caller's (it knows the client address).
func (c *Clinic) SignIn(ctx context.Context, email, password, totpCode, client string) (Staff, error) {
	var s Staff
	tok, err := c.emailToken(email)
	if err != nil {
		return s, err
	}
	err = c.st.View(ctx, func(tx store.Tx) error {
		id, err := tx.Lookup(ixStaffEmail, tok)
		if err != nil {
			return err
		}
		return c.open(tx, vault.RefNoPatient(bucketStaff, id), &s)
	})
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNotFound):
		checkPassword(c.dummyHash(), password)
		c.auditFailure(ctx, Actor{Kind: ActorSystem, Client: client}, AuditEvent{Action: "staff.signin", Outcome: "failed"})
		return Staff{}, ErrBadCredential
	case err != nil:
		return Staff{}, err
	}
	if !checkPassword(s.PasswordHash, password) || s.Disabled {
		c.auditFailure(ctx, Actor{Kind: ActorStaff, ID: s.ID, Client: client}, AuditEvent{Action: "staff.signin", Object: "staff:" + s.ID, Outcome: "failed"})
		return Staff{}, ErrBadCredential
	}
	if s.TOTPEnabled {
		if strings.TrimSpace(totpCode) == "" {
			return Staff{}, ErrTOTPRequired
		}
		if err := c.useSecondFactor(ctx, &s, totpCode); err != nil {
			c.auditFailure(ctx, Actor{Kind: ActorStaff, ID: s.ID, Client: client}, AuditEvent{Action: "staff.signin_totp", Object: "staff:" + s.ID, Outcome: "failed"})
			return Staff{}, err
		}
	}
	err = c.Audit(ctx, Actor{Kind: ActorStaff, ID: s.ID, Role: s.Role, Client: client}, AuditEvent{Action: "staff.signin", Object: "staff:" + s.ID})
	return s, err
}

// dummyHash is a real hash of nothing, computed once, so that a sign-in for
// an unknown email does the same work as one for a known email.
func (c *Clinic) dummyHash() string {
	c.dummyOnce.Do(func() { c.dummy = hashPassword(c.argon, newID()) })
	return c.dummy
}
