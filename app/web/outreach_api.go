package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"hearth/app/clinic"
)

// Reaching out: conversations staff start, the on-call rota and the
// "I've got it" answer to a page (app/clinic conversation.go, oncall.go).

// handleConversationCreate writes to a patient, now or at send_at
// (RFC 3339) / send_local ("2027-03-03T09:00", clinic time).
func (s *Server) handleConversationCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Type      string `json:"type"`
		Subject   string `json:"subject"`
		Body      string `json:"body"`
		SendAt    string `json:"send_at"`
		SendLocal string `json:"send_local"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	when, err := s.sendTime(r, in.SendAt, in.SendLocal)
	if err != nil {
		return err
	}
	res, err := s.c.StartConversation(r.Context(), rc.actor, clinic.NewConversation{PatientID: r.PathValue("id"), Type: in.Type,
		Subject: in.Subject, Body: in.Body, SendAt: when})
	if err != nil {
		return err
	}
	if res.Channels == nil {
		res.Channels = []string{}
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// handlePatientChannels says where a patient can be told, before writing.
func (s *Server) handlePatientChannels(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	chs, err := s.c.PatientChannelsOf(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": chs})
	return nil
}

// handlePatientTemplate fills a template for a new conversation, in the
// patient's language.
func (s *Server) handlePatientTemplate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	text, lang, err := s.c.RenderPatientTemplate(r.Context(), rc.actor, r.PathValue("tid"), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"text": text, "lang": lang})
	return nil
}

// sendTime reads a schedule: an instant, or the clinic's wall time.
func (s *Server) sendTime(r *http.Request, at, local string) (time.Time, error) {
	switch {
	case at != "":
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return time.Time{}, errInvalid("send_at", "Give the date and time to send it, like 2027-03-03T09:00:00-05:00.")
		}
		return t, nil
	case local != "":
		settings, err := s.c.Settings(r.Context())
		if err != nil {
			return time.Time{}, err
		}
		t, err := wallTime(local, "", settings.Location())
		if err != nil {
			return time.Time{}, errInvalid("send_at", "Give the date and time to send it, like 2027-03-03T09:00.")
		}
		return t, nil
	}
	return time.Time{}, nil
}

// onCallJSON is the rota as the console reads and writes it.
type onCallJSON struct {
	clinic.OnCall
	OnCallNow string `json:"on_call_now,omitempty"` // staff id of the person on call now
}

func (s *Server) handleOnCallGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	oc, err := s.c.GetOnCall(r.Context(), rc.actor)
	if err != nil {
		return err
	}
	settings, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	out := onCallJSON{OnCall: oc}
	if sh, ok := oc.OnCallAt(s.c.Now(), settings.Location()); ok {
		out.OnCallNow = sh.StaffID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleOnCallSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in clinic.OnCall
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	oc, err := s.c.SaveOnCall(r.Context(), rc.actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, onCallJSON{OnCall: oc})
	return nil
}

// handleItemPageAck is "I've got it" from the console.
func (s *Server) handleItemPageAck(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := s.c.AckItemPage(r.Context(), rc.actor, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

// pageOnCallAck is the "I've got it" link in a page. Like the opt-out
// link, a GET only shows a button: mail scanners that follow links change
// nothing. The token in the path is the person's own and works once.
func (s *Server) pageOnCallAck(pc *pctx) error {
	path := "/oncall/" + pc.r.PathValue("page") + "/" + pc.r.PathValue("token")
	if pc.r.Method == http.MethodGet {
		mp := mailPage{Heading: pc.T("oncall.ack.title"), Msg: pc.T("oncall.ack.msg"), Action: path, Button: pc.T("oncall.ack.button")}
		return pc.render(http.StatusOK, "p_mail.html", mp.Heading, mp)
	}
	if !pc.s.limits.take("oncall-client:"+clientAddr(pc.r), contactsPerClient) {
		return errTooMany
	}
	_, err := s.c.AckPageLink(pc.r.Context(), pc.r.PathValue("page"), pc.r.PathValue("token"), clientAddr(pc.r))
	if errors.Is(err, clinic.ErrPageTaken) {
		mp := mailPage{Heading: pc.T("oncall.ack.taken"), Msg: pc.T("oncall.ack.done.msg")}
		return pc.render(http.StatusOK, "p_mail.html", mp.Heading, mp)
	}
	if err != nil {
		return err
	}
	mp := mailPage{Heading: pc.T("oncall.ack.done"), Msg: pc.T("oncall.ack.done.msg")}
	return pc.render(http.StatusOK, "p_mail.html", mp.Heading, mp)
}

// handleNotice previews (send false) or sends (send true) a notice to many.
// Sending answers once the notice and its recipients are on disk; the
// conversations are made in the background, and a restart finishes them.
func (s *Server) handleNotice(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		AppointmentsOn string                       `json:"appointments_on"`
		Provider       string                       `json:"provider"`
		Everyone       bool                         `json:"everyone"`
		PatientIDs     []string                     `json:"patient_ids"`
		List           string                       `json:"list"`
		Type           string                       `json:"type"`
		Subject        string                       `json:"subject"`
		Body           string                       `json:"body"`
		Translations   map[string]clinic.NoticeText `json:"translations"`
		Send           bool                         `json:"send"`
		ConfirmCount   int                          `json:"confirm_count"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.PatientIDs) > 5000 || len(in.Translations) > 10 {
		return errInvalid("recipients", "A notice goes to at most 5000 patients.")
	}
	ni := clinic.NoticeInput{AppointmentsOn: in.AppointmentsOn, Provider: in.Provider, Everyone: in.Everyone, PatientIDs: in.PatientIDs,
		List: in.List, Type: in.Type, Subject: in.Subject, Body: in.Body, Translations: in.Translations, ConfirmCount: in.ConfirmCount}
	if !in.Send {
		pv, err := s.c.PreviewNotice(r.Context(), rc.actor, ni)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pv)
		return nil
	}
	pv, err := s.c.SendNotice(r.Context(), rc.actor, ni)
	if err != nil {
		return err
	}
	ctx := context.WithoutCancel(r.Context())
	go func() {
		if err := s.c.RunNotice(ctx, pv.ID); err != nil {
			s.log.Error("making a notice's conversations stopped; the next minute's run resumes it", "notice", pv.ID, "err", err)
		}
	}()
	writeJSON(w, http.StatusCreated, pv)
	return nil
}

func (s *Server) handleNoticeList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.c.NoticeSummaries(r.Context(), rc.actor)
	if err != nil {
		return err
	}
	if list == nil {
		list = []clinic.NoticeReport{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notices": list})
	return nil
}

func (s *Server) handleNoticeReport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	rep, err := s.c.NoticeReportFor(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if rep.Rows == nil {
		rep.Rows = []clinic.NoticeRow{}
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
