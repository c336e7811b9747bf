package web

import (
	"net/http"

	"hearth/app/clinic"
)

// handleItemBook books the visit an appointment request asked for, from the
// request (POST /api/v1/items/{id}/book): the appointment is created, the
// request closed as booked with the two linked, and the patient told, in
// one transaction (clinic.BookFromItem). Times come as on the board: the
// clinic's wall time (starts_local + time_zone) or an RFC 3339 starts_at.
// A day the clinic is closed answers closed_day until confirm_closed_day.
func (s *Server) handleItemBook(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		PatientID        string `json:"patient_id"`
		StartsAt         string `json:"starts_at"`
		StartsLocal      string `json:"starts_local"`
		TimeZone         string `json:"time_zone"`
		Minutes          int    `json:"minutes"`
		Provider         string `json:"provider"`
		Location         string `json:"location"`
		Reason           string `json:"reason"`
		ConfirmClosedDay bool   `json:"confirm_closed_day"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.apptStart(r, in.StartsAt, in.StartsLocal, in.TimeZone)
	if err != nil {
		return err
	}
	ap, it, err := s.c.BookFromItem(r.Context(), rc.actor, r.PathValue("id"), clinic.BookInput{
		ApptInput: clinic.ApptInput{PatientID: in.PatientID, StartsAt: t, Minutes: in.Minutes, Provider: in.Provider,
			Location: in.Location, Reason: in.Reason},
		ClosedDayOK: in.ConfirmClosedDay,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": ap.ID, "appointment": ap, "item": it})
	return nil
}
