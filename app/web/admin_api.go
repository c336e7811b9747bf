package web

import (
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"rsc.io/qr"

	"hearth/app/audit"
	"hearth/app/clinic"
)

type staffAdminJSON struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Role               string `json:"role"`
	Email              string `json:"email,omitempty"`
	Disabled           bool   `json:"disabled"`
	TOTPEnabled        bool   `json:"totp_enabled"`
	MustChangePassword bool   `json:"must_change_password"`
	// DisplayName is the owner's chosen name patients see ("" = default);
	// SignsAs is the name actually used (the default when unset).
	DisplayName string `json:"display_name"`
	SignsAs     string `json:"signs_as"`
}

func (s *Server) handleStaffList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	all, err := s.c.ListStaff(r.Context(), rc.actor)
	if err != nil {
		return err
	}
	out := make([]staffAdminJSON, 0, len(all))
	for _, st := range all {
		j := staffAdminJSON{ID: st.ID, Name: st.Name, Role: st.Role, Disabled: st.Disabled, DisplayName: st.DisplayName, SignsAs: st.SignedName()}
		if rc.staff.Role == clinic.RoleOwner {
			j.Email, j.TOTPEnabled, j.MustChangePassword = st.Email, st.TOTPEnabled, st.MustChangePassword
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": out})
	return nil
}

func (s *Server) handleStaffUpdate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Name        *string `json:"name"`
		Role        *string `json:"role"`
		Disabled    *bool   `json:"disabled"`
		DisplayName *string `json:"display_name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	st, err := s.c.UpdateStaff(r.Context(), rc.actor, id, clinic.StaffUpdate{Name: in.Name, Role: in.Role, Disabled: in.Disabled, DisplayName: in.DisplayName})
	if err != nil {
		return err
	}
	if in.Role != nil || in.Disabled != nil {
		// Their sessions ended with the generation bump; close live sockets now.
		s.hub.CloseStaff(id)
	}
	writeJSON(w, http.StatusOK, staffAdminJSON{ID: st.ID, Name: st.Name, Role: st.Role, Email: st.Email, Disabled: st.Disabled, TOTPEnabled: st.TOTPEnabled,
		DisplayName: st.DisplayName, SignsAs: st.SignedName()})
	return nil
}

func (s *Server) handleStaffResetPassword(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.c.ResetPassword(r.Context(), rc.actor, id, in.Password, s.common); err != nil {
		return err
	}
	s.hub.CloseStaff(id)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

func (s *Server) handleStaffTOTPOff(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := s.c.DisableTOTP(r.Context(), rc.actor, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

func (s *Server) handleMyPassword(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.limits.blocked("pw:"+rc.staff.ID, s.limits.PerAccount) {
		return errTooMany
	}
	if err := s.c.ChangePassword(r.Context(), rc.actor, in.Current, in.New, s.common); err != nil {
		s.limits.fail("pw:" + rc.staff.ID)
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

func (s *Server) handleMyPIN(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Password string `json:"password"`
		PIN      string `json:"pin"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.limits.blocked("pw:"+rc.staff.ID, s.limits.PerAccount) {
		return errTooMany
	}
	if err := s.c.SetPIN(r.Context(), rc.actor, in.Password, in.PIN); err != nil {
		s.limits.fail("pw:" + rc.staff.ID)
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

func (s *Server) handleMyTOTPStart(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	e, err := s.c.StartTOTP(r.Context(), rc.actor)
	if err != nil {
		return err
	}
	code, err := qr.Encode(e.URL, qr.M)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": e.Secret, "otpauth_url": e.URL,
		"qr": "data:image/png;base64," + base64.StdEncoding.EncodeToString(code.PNG())})
	return nil
}

func (s *Server) handleMyTOTPConfirm(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.limits.blocked("totp:"+rc.staff.ID, s.limits.PerAccount) {
		return errTooMany
	}
	codes, err := s.c.ConfirmTOTP(r.Context(), rc.actor, in.Code)
	if err != nil {
		s.limits.fail("totp:" + rc.staff.ID)
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
	return nil
}

func (s *Server) handleMyTOTPOff(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	// Unknown settings must not read as "two-step sign-in not required".
	settings, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	if settings.RequireTOTP {
		return errClinicNeedsTOTP
	}
	// The password again: an open console is not enough to weaken the sign-in.
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.limits.blocked("pw:"+rc.staff.ID, s.limits.PerAccount) {
		return errTooMany
	}
	if err := s.c.TurnOffOwnTOTP(r.Context(), rc.actor, in.Password); err != nil {
		if len(clinic.AllInputErrors(err)) > 0 {
			s.limits.fail("pw:" + rc.staff.ID)
		}
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

// auditFilter reads the owner's filters; unknown parameters are refused.
// from and to are days of the calendar in loc (the clinic's).
func auditFilter(r *http.Request, loc *time.Location) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Actor: q.Get("actor"), Action: q.Get("action"), Patient: q.Get("patient")}
	for k := range q {
		switch k {
		case "after", "before", "order", "actor", "action", "patient", "from", "to", "limit", "format":
		default:
			return f, errUnknownParam(k)
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return f, errBadParam("after", "an event number")
		}
		f.After = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5000 {
			return f, errBadParam("limit", "between 1 and 5000")
		}
		f.Limit = n
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.ParseInLocation("2006-01-02", v, loc)
			if err != nil {
				return f, errBadParam(p.name, "a date like 2026-11-24")
			}
			if p.name == "to" {
				t = t.AddDate(0, 0, 1)
			}
			*p.t = t
		}
	}
	return f, nil
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	// from and to are days of the clinic's calendar, as the console's date
	// fields mean them.
	settings, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	f, err := auditFilter(r, settings.Location())
	if err != nil {
		return err
	}
	csvOut := r.URL.Query().Get("format") == "csv"
	if csvOut && f.Limit == 0 {
		f.Limit = 1_000_000
	}
	q := r.URL.Query()
	var before uint64
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errBadParam("before", "an event number")
		}
		before = n
	}
	if o := q.Get("order"); o != "" && o != "asc" && o != "desc" {
		return errBadParam("order", "asc or desc")
	}
	if !csvOut {
		// The screen names staff and patients and words each action (the
		// console is in English; its action picker's list is in
		// GET /api/v1/meta); showing patients' names is itself audited.
		entries, err := s.c.AuditLogNamed(r.Context(), rc.actor, f, q.Get("order") == "desc", before, "en")
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": entries})
		return nil
	}
	entries, err := s.c.AuditLog(r.Context(), rc.actor, f, q.Get("order") == "desc", before)
	if err != nil {
		return err
	}
	// The export is a read of patient data: it is recorded, or nothing is sent.
	if err := s.c.Audit(r.Context(), rc.actor, clinic.AuditEvent{Action: "audit.export", Object: "audit"}); err != nil {
		return fmt.Errorf("web: audit the audit export: %w", err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="hearth-audit.csv"`)
	s.lostResponse(r, writeAuditCSV(w, entries))
	return nil
}

// writeAuditCSV writes the export's rows. A list view's event names every
// patient it showed: its patient_id cell holds their ids, space-separated. Its only failure is the client
// going away mid-download (csv buffers, and the status is already sent).
func writeAuditCSV(w io.Writer, entries []clinic.AuditEntry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"seq", "time_utc", "staff_or_actor", "role", "action", "object", "patient_id", "client", "severity", "outcome"}); err != nil {
		return err
	}
	for _, e := range entries {
		if err := cw.Write([]string{strconv.FormatUint(e.Seq, 10), e.At.UTC().Format(time.RFC3339), csvSafe(e.ActorName), e.ActorRole, e.Action,
			e.Object, strings.Join(e.PatientIDs(), " "), e.Client, e.Severity, e.Outcome}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@') {
		return "'" + v
	}
	return v
}

func (s *Server) handleSettingsGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	st, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	eff := st.Effective()
	passwordSet := eff.SMTPPassword != ""
	eff.SMTPPassword = "" // never sent back out
	tokenSet := eff.SMS.Token != ""
	eff.SMS.Token = "" // the gateway token neither
	writeJSON(w, http.StatusOK, struct {
		clinic.Settings
		SMTPPasswordSet bool `json:"smtp_password_set"`
		SMSTokenSet     bool `json:"sms_token_set"`
	}{eff, passwordSet, tokenSet})
	return nil
}

// handleSettingsSave takes a partial settings object: fields left out keep
// their values.
func (s *Server) handleSettingsSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	in, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	keep := in.SMTPPassword
	in.SMTPPassword = ""
	keepToken := in.SMS.Token
	in.SMS.Token = ""
	// The console may send back what it read, smtp_password_set included.
	body := struct {
		*clinic.Settings
		SMTPPasswordSet bool `json:"smtp_password_set"`
		SMSTokenSet     bool `json:"sms_token_set"`
	}{Settings: &in}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if in.SMTPPassword == "" {
		in.SMTPPassword = keep // an empty field keeps the stored password
	}
	if in.SMS.Token == "" {
		in.SMS.Token = keepToken // and the gateway token
	}
	if err := s.c.SaveSettings(r.Context(), rc.actor, in); err != nil {
		return err
	}
	return s.handleSettingsGet(w, r, rc)
}
