package web

import (
	"net/http"
	"strings"
	"time"

	"hearth/app/clinic"
)

// Staff: book and list appointments (the contract's shape).

func (s *Server) handleApptCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		PatientID  string `json:"patient_id"`
		StartsAt   string `json:"starts_at"`
		Minutes    int    `json:"minutes"`
		Provider   string `json:"provider"`
		Location   string `json:"location"`
		Reason     string `json:"reason"`
		ExternalID string `json:"external_id"`

		// StartsLocal, instead of StartsAt, is a wall time
		// ("2026-12-01T09:30") in TimeZone, an IANA zone that is the
		// clinic's when left out: the console books in the clinic's time
		// whatever the computer's clock says.
		StartsLocal string `json:"starts_local"`
		TimeZone    string `json:"time_zone"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.apptStart(r, in.StartsAt, in.StartsLocal, in.TimeZone)
	if err != nil {
		return err
	}
	ap, created, err := s.c.CreateAppointment(r.Context(), rc.actor, clinic.ApptInput{PatientID: in.PatientID, StartsAt: t, Minutes: in.Minutes,
		Provider: in.Provider, Location: in.Location, Reason: in.Reason, ExternalID: in.ExternalID})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK // the same external id was booked before
	}
	writeJSON(w, status, map[string]any{"id": ap.ID, "appointment": ap})
	return nil
}

// apptStart is the instant a booking names: an RFC 3339 startsAt, or else
// the wall time local in zone (the clinic's when zone is "").
func (s *Server) apptStart(r *http.Request, startsAt, local, zone string) (time.Time, error) {
	if local != "" && startsAt == "" {
		settings, err := s.c.Settings(r.Context())
		if err != nil {
			return time.Time{}, err
		}
		return wallTime(local, zone, settings.Location())
	}
	t, err := time.Parse(time.RFC3339, startsAt)
	if err != nil {
		return time.Time{}, errBadStartsAt
	}
	return t, nil
}

// wallTime is the instant a wall time ("2026-12-01T09:30", seconds
// optional) names in the IANA zone (clinic when zone is ""). A wall time
// the zone skips (the hour the clocks go forward) is refused rather than
// moved.
func wallTime(local, zone string, clinic *time.Location) (time.Time, error) {
	loc := clinic
	if zone != "" {
		l, err := time.LoadLocation(zone)
		if err != nil || zone == "Local" {
			return time.Time{}, errInvalid("time_zone", "time_zone must be a time zone like America/New_York.")
		}
		loc = l
	}
	layout := "2006-01-02T15:04"
	if len(local) == len("2006-01-02T15:04:05") {
		layout = "2006-01-02T15:04:05"
	}
	w, err := time.Parse(layout, local)
	if err != nil {
		return time.Time{}, errInvalid("starts_at", "Give the date and time, like 2026-12-01T09:30.")
	}
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
	if got := t.In(loc); got.Hour() != w.Hour() || got.Minute() != w.Minute() || got.Day() != w.Day() {
		return time.Time{}, errInvalid("starts_at", "That time does not exist on that day: the clocks go forward. Choose another time.")
	}
	return t, nil
}

func (s *Server) handleApptList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := onlyParams(r, "from", "to"); err != nil {
		return err
	}
	q := r.URL.Query()
	settings, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	loc := settings.Location()
	y, m, d := s.c.Now().In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 2)
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.ParseInLocation("2006-01-02", v, loc); err != nil {
				return errBadParam(p.name, "a date (2026-12-01) or a date and time (RFC 3339)")
			}
		}
		*p.t = t
	}
	rows, err := s.c.ListAppointments(r.Context(), rc.actor, from, to)
	if err != nil {
		return err
	}
	type apptJSON struct {
		clinic.Appointment
		Patient    string `json:"patient"`
		PatientDOB string `json:"patient_dob"`
		Phone      string `json:"phone"`
		HasChannel bool   `json:"has_channel"`
	}
	out := make([]apptJSON, 0, len(rows))
	for _, r := range rows {
		out = append(out, apptJSON{r.Appointment, r.PatientName, r.PatientDOB, r.Phone, r.HasChannel})
	}
	writeJSON(w, http.StatusOK, map[string]any{"appointments": out})
	return nil
}

// Patient: answer from /me, and the calendar file.

func (s *Server) pageApptAnswer(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	// "Another time" opens a front-desk item: it spends the same budget as
	// any new request.
	if pc.form("action") == "reschedule" && !pc.writeAllowed("pitems", itemsPerPatient) {
		return errTooMany
	}
	_, err := s.c.AnswerAppointment(pc.r.Context(), pc.actor(), pc.r.PathValue("id"), pc.form("action"), pc.form("preferred"))
	if err != nil {
		if ie, ok := err.(*clinic.InputError); ok && ie.Field == "preferred" {
			return pc.redirect("/me?appt=" + pc.r.PathValue("id") + "&need=preferred#appt-" + pc.r.PathValue("id"))
		}
		return err
	}
	return pc.redirect("/me?answered=" + pc.form("action") + "#appointments")
}

func (s *Server) pageApptICS(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	id, ok := strings.CutSuffix(pc.r.PathValue("file"), ".ics")
	if !ok {
		return errNotFound
	}
	ap, err := s.c.PatientAppointment(pc.r.Context(), pc.actor(), id)
	if err != nil {
		return err
	}
	h := pc.w.Header()
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="appointment.ics"`)
	_, err = pc.w.Write([]byte(clinic.ICS(ap, pc.st.ClinicName, pc.st.Phone, s.c.Now())))
	s.lostResponse(pc.r, err)
	return nil
}

// apptCard is an appointment as /me shows it.
type apptCard struct {
	ID, When, ISO, Provider, Location, Reason, Status, Class string
	Open, AskPreferred, CanConfirm                           bool
}

func (pc *pctx) apptCards() []apptCard {
	aps, err := pc.s.c.PatientAppointments(pc.r.Context(), pc.actor())
	if err != nil {
		return nil
	}
	var out []apptCard
	for _, ap := range aps {
		c := apptCard{ID: ap.ID, When: pc.tr.When(ap.StartsAt), ISO: pc.tr.ISO(ap.StartsAt), Provider: ap.Provider, Location: ap.Location,
			Reason: ap.Reason, Status: pc.T("appt.status." + ap.Status), Class: "st-" + ap.Status,
			Open:         ap.Status != clinic.ApptCancelled && ap.StartsAt.After(pc.s.c.Now()),
			AskPreferred: pc.r.URL.Query().Get("appt") == ap.ID, CanConfirm: ap.Status != clinic.ApptConfirmed}
		out = append(out, c)
	}
	return out
}

// handleApptImport previews or imports a practice-system export. Without a
// mapping the remembered one is used; a successful import remembers it.
func (s *Server) handleApptImport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		CSV     string            `json:"csv"`
		Mapping map[string]string `json:"mapping"`
		Commit  bool              `json:"commit"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Mapping) == 0 {
		m, err := s.c.ImportMapping(r.Context())
		if err != nil {
			return err
		}
		in.Mapping = m
	}
	res, err := s.c.ImportAppointments(r.Context(), rc.actor, []byte(in.CSV), in.Mapping, in.Commit)
	if err != nil {
		return err
	}
	if in.Commit && res.Bad == 0 {
		// The rows are in; only next time's default mapping is lost, so the
		// answer stays a success and the log says what happened.
		if err := s.c.RememberImportMapping(r.Context(), in.Mapping); err != nil {
			s.log.Warn("import mapping not remembered", "err", err)
		}
	}
	status := http.StatusOK
	if in.Commit && res.Bad > 0 {
		status = http.StatusUnprocessableEntity // nothing was imported; the rows say why
	}
	writeJSON(w, status, map[string]any{"columns": res.Columns, "rows": res.Rows, "imported": res.Imported, "bad": res.Bad, "warned": res.Warned,
		"mapping": in.Mapping, "fields": clinic.ImportFields})
	return nil
}
