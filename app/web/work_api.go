package web

import (
	"net/http"

	"hearth/app/clinic"
)

func (s *Server) handleSweep(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	rows, err := s.c.Sweep(r.Context(), rc.actor)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(rows))
	for _, row := range rows {
		out = append(out, map[string]any{"item": rowJSON(row.ItemRow), "reasons": row.Reasons})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) handleWorkload(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	wl, err := s.c.Workload(r.Context(), rc.actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wl)
	return nil
}

func (s *Server) handleItemAttempt(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Outcome string `json:"outcome"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	it, err := s.c.LogAttempt(r.Context(), rc.actor, r.PathValue("id"), in.Outcome)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": it})
	return nil
}

func (s *Server) handleTemplates(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	st, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	// Each template with its texts by language (the defaults when the
	// owner has written none), and the languages the editor offers.
	writeJSON(w, http.StatusOK, struct {
		Templates []clinic.Template `json:"templates"`
		Langs     []templateLang    `json:"langs"`
	}{st.Effective().Templates, s.templateLangs()})
	return nil
}

func (s *Server) handleTemplateRender(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	body, err := s.c.RenderTemplate(r.Context(), rc.actor, r.PathValue("tid"), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"body": body})
	return nil
}

func (s *Server) handleChartCopy(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	text, err := s.c.ChartSummary(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"text": text})
	return nil
}

func (s *Server) handlePatientItems(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	rows, err := s.c.StaffPatientItems(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]itemJSON, 0, len(rows))
	for _, row := range rows {
		out = append(out, rowJSON(row))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) handlePatientDevices(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	ds, err := s.c.Devices(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": ds})
	return nil
}

func (s *Server) handleDeviceRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := s.c.RevokeDevice(r.Context(), rc.actor, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

func (s *Server) handlePatientAccess(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	rep, err := s.c.AccessReport(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": rep})
	return nil
}

func (s *Server) handleContactLink(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		PatientID string `json:"patient_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	n, err := s.c.LinkContact(r.Context(), rc.actor, r.PathValue("id"), in.PatientID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items_moved": n, "patient_id": in.PatientID})
	return nil
}
