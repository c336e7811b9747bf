package web

import (
	"net/http"
	"time"

	"hearth/app/clinic"
)

type patientJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	DOB      string `json:"dob"`
	Age      int    `json:"age"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Lang     string `json:"lang"`
	SameName int    `json:"same_name,omitempty"`
	// Counts: the record's requests and appointments (GET one patient).
	Counts *clinic.PatientCounts `json:"counts,omitempty"`
	// Texts: the number cannot take texts; the consent (when, how, the
	// patient's words); when the patient texted STOP.
	NotMobile  bool                `json:"not_mobile,omitempty"`
	SMS        *clinic.TextConsent `json:"sms_consent,omitempty"`
	SMSStopped *time.Time          `json:"sms_stopped,omitempty"`
}

func (s *Server) patientOut(p clinic.Patient) patientJSON {
	out := patientJSON{ID: p.ID, Name: p.Name, DOB: p.DOB, Age: p.Age(s.c.Now()), Phone: p.Phone, Email: p.Email, Lang: p.Lang,
		NotMobile: p.NotMobile, SMS: p.SMS}
	if !p.SMSStopped.IsZero() {
		out.SMSStopped = &p.SMSStopped
	}
	return out
}

func (s *Server) handlePatientCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Name  string `json:"name"`
		DOB   string `json:"dob"`
		Phone string `json:"phone"`
		Email string `json:"email"`
		Lang  string `json:"lang"`
		// ConfirmDuplicate: staff saw the records with the same name and
		// birth date (the 409 "duplicate" answer) and mean another person.
		ConfirmDuplicate bool `json:"confirm_duplicate"`
		// SMS records the patient's consent to texts, with their words.
		SMS      bool   `json:"sms"`
		SMSWords string `json:"sms_words"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.c.CreatePatient(r.Context(), rc.actor, clinic.PatientInput{Name: in.Name, DOB: in.DOB, Phone: in.Phone, Email: in.Email, Lang: in.Lang,
		ConfirmDuplicate: in.ConfirmDuplicate, SMS: in.SMS, SMSWords: in.SMSWords})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": p.ID})
	return nil
}

func (s *Server) handlePatientSearch(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := onlyParams(r, "q"); err != nil {
		return err
	}
	ps, err := s.c.SearchPatients(r.Context(), rc.actor, r.URL.Query().Get("q"), 20)
	if err != nil {
		return err
	}
	out := make([]patientJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, s.patientOut(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"patients": out})
	return nil
}

func (s *Server) handlePatientGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	p, err := s.c.Patient(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := s.patientOut(p)
	out.SameName, _ = s.c.SameName(r.Context(), p)
	n, err := s.c.CountPatient(r.Context(), rc.actor, p.ID)
	if err != nil {
		return err
	}
	out.Counts = &n
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handlePatientEdit corrects a record: only the fields sent change. It
// answers the record as stored and which fields changed.
func (s *Server) handlePatientEdit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Name  *string `json:"name"`
		DOB   *string `json:"dob"`
		Phone *string `json:"phone"`
		Email *string `json:"email"`
		Lang  *string `json:"lang"`
		// SMS records the patient's consent to texts (or its withdrawal),
		// with their words as staff noted them.
		SMS      *bool  `json:"sms"`
		SMSWords string `json:"sms_words"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, changed, err := s.c.EditPatient(r.Context(), rc.actor, r.PathValue("id"), clinic.PatientEdit{Name: in.Name, DOB: in.DOB, Phone: in.Phone,
		Email: in.Email, Lang: in.Lang, SMS: in.SMS, SMSWords: in.SMSWords})
	if err != nil {
		return err
	}
	if changed == nil {
		changed = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"patient": s.patientOut(p), "changed": changed})
	return nil
}

// handlePatientMerge moves everything of the record `from` into this one
// (clinic.MergePatients); `from` is gone afterwards.
func (s *Server) handlePatientMerge(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		From   string `json:"from"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.c.MergePatients(r.Context(), rc.actor, r.PathValue("id"), in.From, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "moved": res})
	return nil
}
