package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"hearth/app/clinic"
)

// decodeJSON reads a JSON body strictly: unknown fields are refused, so a
// caller cannot slip in a field it may not set (role, author, timestamps).
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return errNoBody
		}
		return errBadJSON(safeJSONError(err))
	}
	return nil
}

// safeJSONError describes a decode error without echoing the input.
func safeJSONError(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		return "field " + ute.Field + " has the wrong type."
	case errors.As(err, &se):
		return "it is not valid JSON."
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "it has a field this endpoint does not take (" + strings.TrimPrefix(err.Error(), "json: unknown field ") + ")."
	}
	return "it could not be read."
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ *reqCtx) error {
	writeJSON(w, http.StatusOK, s.health())
	return nil
}

type staffJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

func staffOut(st clinic.Staff) staffJSON { return staffJSON{ID: st.ID, Name: st.Name, Role: st.Role} }

func accountKey(email string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "acct:" + hex.EncodeToString(h[:12])
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		TOTP     string `json:"totp"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	// Budgets: the account's across all addresses (a stuffing run spread
	// over many), each address's at this account, and each address's over
	// all accounts. An address that signed in to this account recently is
	// not held back by the account's shared budget: strangers' wrong tries
	// do not lock staff out at their own desk.
	acct, client := accountKey(in.Email), "ip:"+clientAddr(r)
	acctHere := acct + "|" + client
	if s.limits.blocked(acct, s.limits.PerAccount) && !s.limits.trusted(acct, client) ||
		s.limits.blocked(acctHere, s.limits.PerAccount) || s.limits.blocked(client, s.limits.PerClient) {
		if err := s.c.Audit(r.Context(), rc.actor, clinic.AuditEvent{Action: "staff.signin", Outcome: "throttled"}); err != nil {
			s.log.Error("throttled sign-in not audited", "err", err)
		}
		return errTooMany
	}
	st, err := s.c.SignIn(r.Context(), in.Email, in.Password, in.TOTP, clientAddr(r))
	if errors.Is(err, clinic.ErrBadCredential) || errors.Is(err, clinic.ErrBadTOTP) {
		s.limits.fail(acct)
		s.limits.fail(acctHere)
		s.limits.fail(client)
		// This try used up a budget: the owners are told (once per budget
		// and window, as the next try is refused before it counts).
		for _, b := range []struct {
			key, what string
			max       int
		}{{client, "address", s.limits.PerClient}, {acct, "account", s.limits.PerAccount}} {
			if s.limits.blocked(b.key, b.max) {
				if err := s.c.SignInFlood(r.Context(), b.what, clientAddr(r)); err != nil {
					s.log.Error("the owners were not told of a sign-in flood", "err", err)
				}
			}
		}
		if errors.Is(err, clinic.ErrBadTOTP) {
			return errBadTOTP
		}
		return errBadCredentials
	}
	if errors.Is(err, clinic.ErrTOTPRequired) {
		return errTOTPRequired
	}
	if err != nil {
		return err
	}
	s.limits.reset(acctHere)
	s.limits.remember(acct, client)
	// Any session the browser already had ends ("switch user" on a shared
	// PC), and sign-in always starts a new one (no fixation).
	if old, err := r.Cookie(s.sessionCookie()); err == nil {
		if _, pst, err := s.c.SessionFor(r.Context(), old.Value, false); err == nil {
			// The browser gets a new cookie either way; a session left
			// behind ends at its own idle or absolute limit.
			if err := s.c.EndSession(r.Context(), old.Value); err != nil {
				s.log.Warn("previous staff session not ended at sign-in", "err", err)
			} else if err := s.c.Audit(r.Context(), clinic.Actor{Kind: clinic.ActorStaff, ID: pst.ID, Client: clientAddr(r)}, clinic.AuditEvent{Action: "staff.switch_out", Object: "staff:" + pst.ID}); err != nil {
				s.log.Error("switch of user not audited", "err", err)
			}
		}
	}
	token, sess, err := s.c.StartSession(r.Context(), st)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: token, Path: "/", HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode})
	settings, _ := s.c.Settings(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"csrf": sess.CSRF, "staff": staffOut(st), "must_change_password": st.MustChangePassword,
		"must_enroll_totp": settings.RequireTOTP && !st.TOTPEnabled})
	return nil
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := s.c.EndSession(r.Context(), rc.token); err != nil {
		return err
	}
	s.hub.CloseSession(rc.session.ID)
	// The session has ended whatever happens to the audit event.
	if err := s.c.Audit(r.Context(), rc.actor, clinic.AuditEvent{Action: "staff.signout", Object: "staff:" + rc.staff.ID}); err != nil {
		s.log.Error("sign-out not audited", "err", err)
	}
	s.clearSessionCookie(w)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	settings, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	st := rc.staff
	writeJSON(w, http.StatusOK, map[string]any{"csrf": rc.session.CSRF, "staff": staffOut(*st), "email": st.Email, "locked": rc.session.Locked,
		"idle_lock_minutes": settings.IdleLockMinutes, "clinic": settings.ClinicName, "has_pin": st.PINHash != "",
		"clinic_phone": settings.Phone, "emergency_number": settings.EmergencyNumber,
		"totp_enabled": st.TOTPEnabled, "must_change_password": st.MustChangePassword,
		"must_enroll_totp": settings.RequireTOTP && !st.TOTPEnabled})
	return nil
}

func (s *Server) handleLock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := s.c.LockSession(r.Context(), rc.token); err != nil {
		return err
	}
	// The screen is locked whatever happens to the audit event.
	if err := s.c.Audit(r.Context(), rc.actor, clinic.AuditEvent{Action: "session.lock", Object: "staff:" + rc.staff.ID}); err != nil {
		s.log.Error("screen lock not audited", "err", err)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"locked": true})
	return nil
}

func (s *Server) handleUnlock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Password string `json:"password"`
		PIN      string `json:"pin"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Password == "" && in.PIN == "" {
		return errNeedSecret
	}
	acct, pinKey, client := "unlock:"+rc.staff.ID, "pin:"+rc.staff.ID, "ip:"+clientAddr(r)
	if s.limits.blocked(acct, s.limits.PerAccount) || s.limits.blocked(client, s.limits.PerClient) {
		return errTooMany
	}
	if in.PIN != "" && s.limits.blocked(pinKey, pinTries) {
		// A PIN is short: after a few misses only the password resumes.
		return errPINBlocked
	}
	err := s.c.UnlockSession(r.Context(), rc.token, in.Password, in.PIN, clientAddr(r))
	if errors.Is(err, clinic.ErrBadCredential) {
		s.limits.fail(acct)
		s.limits.fail(client)
		if in.PIN != "" {
			s.limits.fail(pinKey)
			return errBadPIN
		}
		return errBadPassword
	}
	if err != nil {
		return err
	}
	s.limits.reset(acct)
	s.limits.reset(pinKey)
	writeJSON(w, http.StatusOK, map[string]bool{"locked": false})
	return nil
}

// pinTries is how many wrong PINs a locked screen allows before only the
// password will do.
const pinTries = 5

func (s *Server) handleStaffCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	st, err := s.c.CreateStaff(r.Context(), rc.actor, clinic.StaffInput{Name: in.Name, Email: in.Email, Role: in.Role, Password: in.Password}, s.common)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, staffOut(st))
	return nil
}

func (s *Server) handleBackupStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	oh := ownerHealth{BackupStatus: s.c.BackupStatus(r.Context()), Health: s.health()}
	if s.cert != nil {
		oh.Certificate = s.cert()
	}
	writeJSON(w, http.StatusOK, oh)
	return nil
}
