package clinic

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"hearth/app/i18n"
	"hearth/app/mail"
	"hearth/app/store"
	"hearth/app/vault"
)

// Second-factor errors.
var (
	ErrTOTPRequired = errors.New("clinic: a code from the authenticator app is needed")
	ErrBadTOTP      = errors.New("clinic: that code is not right")
)

// ListStaff returns every account, sorted by name. Any staff member may
// list colleagues (to assign work); the web layer shows emails to owners only.
func (c *Clinic) ListStaff(ctx context.Context, a Actor) ([]Staff, error) {
	if a.Kind != ActorStaff && a.Kind != ActorSystem {
		return nil, ErrForbidden
	}
	var out []Staff
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketStaff, "", func(id string, raw []byte) error {
			var s Staff
			if err := c.openRaw(vault.RefNoPatient(bucketStaff, id), raw, &s); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, err
}

// changeStaff reads, changes and reseals one staff record the retry-safe
// way (changeSealed), audits it as action ("" for none) and drops every
// node's remembered copy.
func (c *Clinic) changeStaff(ctx context.Context, a Actor, id, action string, change func(s *Staff) error) (Staff, error) {
	next, wrote, err := changeSealed(ctx, c, id, reseal[Staff]{
		bucket: bucketStaff,
		sealAs: func(Staff) vault.Ref { return vault.RefNoPatient(bucketStaff, id) },
		also: func(tx store.Tx, _ *Staff) error {
			if action == "" {
				return nil
			}
			return c.audit(tx, a, action, "staff:"+id, "")
		},
	}, func(s *Staff) (bool, error) { return true, change(s) })
	if wrote {
		c.forgetStaff(id)
	}
	if err != nil {
		return Staff{}, err
	}
	return next, nil
}

// StaffUpdate is an owner's change to an account; nil fields stay.
type StaffUpdate struct {
	Name     *string
	Role     *string
	Disabled *bool
	// DisplayName is the name patients see; "" returns to the default.
	DisplayName *string
}

// UpdateStaff changes a role, a name, or disables/enables an account. A
// role change or a disable ends every session of that account. The last
// active owner cannot be demoted or disabled.
func (c *Clinic) UpdateStaff(ctx context.Context, a Actor, id string, u StaffUpdate) (Staff, error) {
	if a.Kind != ActorSystem && a.Role != RoleOwner {
		return Staff{}, ErrForbidden
	}
	if u.Role != nil && !ValidRole(*u.Role) {
		return Staff{}, inputErr("role", "Choose a role: owner, clinician or frontdesk.")
	}
	if u.Name != nil {
		n := strings.TrimSpace(*u.Name)
		if n == "" || len(n) > 100 {
			return Staff{}, inputErr("name", "Enter the person's name (at most 100 characters).")
		}
		u.Name = &n
	}
	if u.DisplayName != nil {
		d, err := checkDisplayName(*u.DisplayName)
		if err != nil {
			return Staff{}, err
		}
		u.DisplayName = &d
	}
	losesOwner := (u.Role != nil && *u.Role != RoleOwner) || (u.Disabled != nil && *u.Disabled)
	if losesOwner {
		all, err := c.ListStaff(ctx, System)
		if err != nil {
			return Staff{}, err
		}
		owners := 0
		for _, s := range all {
			if s.Role == RoleOwner && !s.Disabled && s.ID != id {
				owners++
			}
		}
		if owners == 0 {
			for _, s := range all {
				if s.ID == id && s.Role == RoleOwner {
					return Staff{}, inputErr("role", "This is the only owner. Make someone else an owner first.")
				}
			}
		}
	}
	return c.changeStaff(ctx, a, id, "staff.change", func(s *Staff) error {
		if u.Name != nil {
			s.Name = *u.Name
		}
		if u.DisplayName != nil {
			s.DisplayName = *u.DisplayName
		}
		if u.Role != nil && *u.Role != s.Role {
			s.Role = *u.Role
			s.Generation++
		}
		if u.Disabled != nil && *u.Disabled != s.Disabled {
			s.Disabled = *u.Disabled
			s.Generation++
		}
		return nil
	})
}

// ResetPassword sets a temporary password the person must replace at their
// next sign-in, and ends their sessions. Owners only.
func (c *Clinic) ResetPassword(ctx context.Context, a Actor, id, temp string, common map[string]bool) error {
	if a.Kind != ActorSystem && a.Role != RoleOwner {
		return ErrForbidden
	}
	if err := CheckNewPassword(temp, common); err != nil {
		return err
	}
	hash := hashPassword(c.argon, temp)
	_, err := c.changeStaff(ctx, a, id, "staff.password_reset", func(s *Staff) error {
		s.PasswordHash, s.MustChangePassword = hash, true
		s.PINHash = ""
		s.Generation++
		return nil
	})
	return err
}

// ChangePassword is a staff member changing their own password. Sessions
// stay signed in (the person just proved who they are).
func (c *Clinic) ChangePassword(ctx context.Context, a Actor, current, next string, common map[string]bool) error {
	st, err := c.Staff(ctx, a.ID)
	if err != nil {
		return err
	}
	if !checkPassword(st.PasswordHash, current) {
		return inputErr("current", "Your current password is not right.")
	}
	if err := CheckNewPassword(next, common); err != nil {
		return &InputError{Field: "new", Msg: err.(*InputError).Msg}
	}
	if current == next {
		return inputErr("new", "Choose a password different from the current one.")
	}
	hash := hashPassword(c.argon, next)
	_, err = c.changeStaff(ctx, a, a.ID, "staff.password_change", func(s *Staff) error {
		s.PasswordHash, s.MustChangePassword = hash, false
		return nil
	})
	return err
}

// SetPIN sets the short PIN that resumes a locked screen (4 to 8 digits).
func (c *Clinic) SetPIN(ctx context.Context, a Actor, password, pin string) error {
	st, err := c.Staff(ctx, a.ID)
	if err != nil {
		return err
	}
	if !checkPassword(st.PasswordHash, password) {
		return inputErr("password", "Your password is not right.")
	}
	if pin != "" {
		if len(pin) < 4 || len(pin) > 8 || strings.Trim(pin, "0123456789") != "" {
			return inputErr("pin", "A PIN is 4 to 8 digits.")
		}
	}
	hash := ""
	if pin != "" {
		hash = hashPassword(c.argon, pin)
	}
	_, err = c.changeStaff(ctx, a, a.ID, "staff.pin_change", func(s *Staff) error { s.PINHash = hash; return nil })
	return err
}

// TOTPEnrollment is what the authenticator app needs.
type TOTPEnrollment struct {
	Secret string
	URL    string
}

// StartTOTP makes a new secret for the caller; it takes effect only once
// ConfirmTOTP sees a code made from it.
func (c *Clinic) StartTOTP(ctx context.Context, a Actor) (TOTPEnrollment, error) {
	st, err := c.Staff(ctx, a.ID)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	settings, _ := c.Settings(ctx)
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Hearth " + settings.ClinicName, AccountName: st.Email})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	_, err = c.changeStaff(ctx, a, a.ID, "", func(s *Staff) error {
		if s.TOTPEnabled {
			return inputErr("totp", "Two-step sign-in is already on.")
		}
		s.TOTPSecret = key.Secret()
		return nil
	})
	return TOTPEnrollment{Secret: key.Secret(), URL: key.URL()}, err
}

func totpStep(t time.Time) int64 { return t.Unix() / 30 }

// validTOTP checks a 6-digit code within one step of now, refusing a step
// already used (no replay).
func validTOTP(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	for _, d := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(d) * 30 * time.Second)
		ok, err := totp.ValidateCustom(code, secret, t, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && ok && totpStep(t) > lastStep {
			return totpStep(t), true
		}
	}
	return 0, false
}

func hashCode(code string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))))
	return hex.EncodeToString(h[:])
}

// ConfirmTOTP turns two-step sign-in on and returns ten single-use recovery
// codes (shown once; only their hashes are kept).
func (c *Clinic) ConfirmTOTP(ctx context.Context, a Actor, code string) ([]string, error) {
	codes := make([]string, 10)
	hashes := make([]string, 10)
	for i := range codes {
		b := make([]byte, 5)
		rand.Read(b)
		h := hex.EncodeToString(b)
		codes[i] = h[:5] + "-" + h[5:]
		hashes[i] = hashCode(codes[i])
	}
	_, err := c.changeStaff(ctx, a, a.ID, "staff.totp_on", func(s *Staff) error {
		if s.TOTPSecret == "" || s.TOTPEnabled {
			return inputErr("code", "Start the set-up again.")
		}
		step, ok := validTOTP(s.TOTPSecret, code, c.now(), s.TOTPLastStep)
		if !ok {
			return inputErr("code", "That code is not right. Type the 6 digits the app shows now.")
		}
		s.TOTPEnabled, s.TOTPLastStep, s.RecoveryCodes = true, step, hashes
		return nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns two-step sign-in off for an account (the person
// themselves, or an owner for someone who lost their phone).
func (c *Clinic) DisableTOTP(ctx context.Context, a Actor, id string) error {
	if a.ID != id && a.Role != RoleOwner {
		return ErrForbidden
	}
	st, err := c.changeStaff(ctx, a, id, "staff.totp_off", func(s *Staff) error {
		s.TOTPEnabled, s.TOTPSecret, s.RecoveryCodes, s.TOTPLastStep = false, "", nil, 0
		return nil
	})
	if err != nil {
		return err
	}
	// The person is told, whoever turned it off (they, or an owner for a
	// lost phone).
	go c.tellStaff(st, "mail.totp_off")
	return nil
}

// TurnOffOwnTOTP is a staff member turning their own two-step sign-in off.
// It needs their password again (a console left signed in on a shared PC
// is not enough), and the account's email address is told, so that a
// change someone else made in their name does not go unnoticed.
func (c *Clinic) TurnOffOwnTOTP(ctx context.Context, a Actor, password string) error {
	st, err := c.Staff(ctx, a.ID)
	if err != nil {
		return err
	}
	if !checkPassword(st.PasswordHash, password) {
		return inputErr("password", "Your password is not right.")
	}
	return c.DisableTOTP(ctx, a, a.ID)
}

// tellStaff emails a staff member's own address about a change to their
// account (words: key+".subject" and key+".body", with the clinic's name).
// It is sent once, after the change is stored, straight to the clinic's
// mail server: a notice that fails is logged, never retried.
func (c *Clinic) tellStaff(st Staff, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.Settings(ctx)
	if err != nil || s.SMTPHost == "" || s.MailFrom == "" || st.Email == "" {
		c.log.Warn("a staff member was not emailed about a change to their account: no mail server is set up", "staff", st.ID, "notice", key)
		return
	}
	tr, err := c.mailTr(s, i18n.Default) // staff read the console's language
	if err != nil {
		c.log.Error("a staff member was not emailed about a change to their account", "staff", st.ID, "notice", key, "err", err)
		return
	}
	msg := mail.Message{To: st.Email, Subject: tr.T(key+".subject", "clinic", s.ClinicName), Body: tr.T(key+".body", "clinic", s.ClinicName)}
	if err := mail.Send(ctx, s.MailConfig(), msg); err != nil {
		c.log.Error("a staff member was not emailed about a change to their account", "staff", st.ID, "notice", key, "err", err)
	}
}

// useSecondFactor accepts a current TOTP code or an unused recovery code and
// records its use.
func (c *Clinic) useSecondFactor(ctx context.Context, st *Staff, code string) error {
	_, err := c.changeStaff(ctx, Actor{Kind: ActorStaff, ID: st.ID}, st.ID, "", func(s *Staff) error {
		if step, ok := validTOTP(s.TOTPSecret, code, c.now(), s.TOTPLastStep); ok {
			s.TOTPLastStep = step
			return nil
		}
		h := hashCode(code)
		for i, rc := range s.RecoveryCodes {
			if subtle.ConstantTimeCompare([]byte(rc), []byte(h)) == 1 {
				s.RecoveryCodes = append(s.RecoveryCodes[:i:i], s.RecoveryCodes[i+1:]...)
				return nil
			}
		}
		return ErrBadTOTP
	})
	return err
}

// CheckPIN compares a PIN for the locked-screen resume.
func (c *Clinic) checkPIN(st Staff, pin string) bool {
	return st.PINHash != "" && checkPassword(st.PINHash, pin)
}
