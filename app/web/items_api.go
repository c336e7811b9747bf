package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"rsc.io/qr"

	"hearth/app/clinic"
)

// itemJSON is an inbox row in the contract's shape.
type itemJSON struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Status     string    `json:"status"`
	Queue      string    `json:"queue"`
	Priority   string    `json:"priority"`
	Patient    string    `json:"patient"`
	PatientID  string    `json:"patient_id,omitempty"`
	PatientAge int       `json:"patient_age,omitempty"`
	Unverified bool      `json:"unverified"`
	Subject    string    `json:"subject"`
	DueAt      time.Time `json:"due_at"`
	Overdue    bool      `json:"overdue"`
	Assignee   string    `json:"assignee"`
	UpdatedAt  time.Time `json:"updated_at"`
	CreatedAt  time.Time `json:"created_at"`
	Seen       bool      `json:"seen"`
	Messages   int       `json:"messages"`
	FirstReply time.Time `json:"first_reply_at,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
}

func rowJSON(r clinic.ItemRow) itemJSON {
	return itemJSON{ID: r.ID, Type: r.Type, Status: r.Status, Queue: r.Queue, Priority: r.Priority, Patient: r.PatientName,
		PatientID: r.PatientID, PatientAge: r.PatientAge, Unverified: r.ContactID != "", Subject: r.Subject, DueAt: r.Due,
		Overdue: r.Overdue, Assignee: r.Assignee, UpdatedAt: r.Updated, CreatedAt: r.Created, Seen: r.Seen, Messages: r.Messages,
		FirstReply: r.FirstReply, ClosedAt: r.Closed}
}

var itemParams = map[string]bool{"queue": true, "status": true, "type": true, "priority": true, "assignee": true,
	"overdue": true, "unverified": true, "limit": true}

func (s *Server) handleItemList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	for k := range q {
		if !itemParams[k] {
			return errUnknownParam(k)
		}
	}
	f := clinic.ItemFilter{Queue: q.Get("queue"), Status: q.Get("status"), Type: q.Get("type"), Priority: q.Get("priority"),
		Assignee: q.Get("assignee"), Overdue: q.Get("overdue") == "true", Unverified: q.Get("unverified") == "true"}
	if f.Assignee == "me" {
		f.Assignee = rc.staff.ID
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return errBadParam("limit", "between 1 and 200")
		}
		f.Limit = n
	}
	rows, err := s.c.ListItems(r.Context(), rc.actor, f)
	if err != nil {
		return err
	}
	out := make([]itemJSON, 0, len(rows))
	for _, row := range rows {
		out = append(out, rowJSON(row))
	}
	counts, err := s.c.QueueCounts(r.Context(), rc.actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out, "queues": counts})
	return nil
}

func (s *Server) handleItemGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.c.GetItem(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := map[string]any{"item": v.Item, "messages": v.Messages, "same_name": v.SameName}
	if v.Patient != nil {
		out["patient"] = s.patientOut(*v.Patient)
	}
	if v.Contact != nil {
		out["contact"] = v.Contact
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleItemMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Body     string `json:"body"`
		Internal bool   `json:"internal"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.c.AddMessage(r.Context(), rc.actor, r.PathValue("id"), in.Body, in.Internal)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (s *Server) handleItemAssign(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		StaffID string `json:"staff_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.StaffID == "me" {
		in.StaffID = rc.staff.ID
	}
	it, err := s.c.Assign(r.Context(), rc.actor, r.PathValue("id"), in.StaffID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": it})
	return nil
}

// handleItemQueue is POST /api/v1/items/{id}/queue {queue, reason}: the
// request moves to another queue, whose staff are alerted.
func (s *Server) handleItemQueue(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Queue  string `json:"queue"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	it, err := s.c.MoveQueue(r.Context(), rc.actor, r.PathValue("id"), clinic.QueueMove{Queue: in.Queue, Reason: in.Reason})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": it})
	return nil
}

func (s *Server) handleItemStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Status  string `json:"status"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	it, err := s.c.SetStatus(r.Context(), rc.actor, r.PathValue("id"), clinic.StatusChange{Status: in.Status, Outcome: in.Outcome, Reason: in.Reason})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": it})
	return nil
}

func (s *Server) handleBreakGlass(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.c.BreakGlass(r.Context(), rc.actor, r.PathValue("id"), in.Reason); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "minutes": int(clinic.BreakGlassLifetime.Minutes())})
	return nil
}

func (s *Server) handleInviteCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Caregiver string `json:"caregiver"`
		Letter    bool   `json:"letter"` // for a printed letter: refused until patients have an address to go to
		Text      bool   `json:"text"`   // also text the link and code to the patient (who agreed to texts)
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	if in.Letter || in.Text { // a texted invite's link must lead somewhere too
		if err := s.letterPrintable(r); err != nil {
			return err
		}
	}
	if in.Text {
		if err := s.c.MayTextPatient(r.Context(), rc.actor, r.PathValue("id")); err != nil {
			return err
		}
	}
	inv, code, err := s.c.CreateInvite(r.Context(), rc.actor, r.PathValue("id"), in.Caregiver)
	if err != nil {
		return err
	}
	link := s.publicBase(r) + "/i/" + code
	qrPNG, err := qr.Encode(link, qr.M)
	if err != nil {
		return err
	}
	letter, err := s.c.InviteLetter(r.Context(), rc.actor, inv, code, link)
	if err != nil {
		return err
	}
	if in.Text && inv.Caregiver == "" {
		if err := s.c.TextInvite(r.Context(), rc.actor, inv, code, link); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": inv.ID, "code": code, "url": link,
		"expires_at": inv.Expires, "caregiver": inv.Caregiver, "letter": letter,
		"qr": "data:image/png;base64," + base64.StdEncoding.EncodeToString(qrPNG.PNG())})
	return nil
}

// publicBase is how patients reach Hearth: the owner's public URL, or else
// the address this request came in on.
func (s *Server) publicBase(r *http.Request) string {
	if st, err := s.c.Settings(r.Context()); err == nil && st.PublicURL != "" {
		return trimSlash(st.PublicURL)
	}
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// handleItemCreate lets staff file an item for a patient (a phone call
// written down, a walk-in question), so it is tracked like any other.
func (s *Server) handleItemCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		PatientID string            `json:"patient_id"`
		Type      string            `json:"type"`
		Body      string            `json:"body"`
		Fields    map[string]string `json:"fields"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if _, err := s.c.Patient(r.Context(), rc.actor, in.PatientID); err != nil {
		return errNoPatient
	}
	ack, err := s.c.CreateItem(r.Context(), rc.actor, clinic.NewItem{Type: in.Type, Body: in.Body, Fields: in.Fields, PatientID: in.PatientID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": ack.Item.ID, "item": ack.Item})
	return nil
}
