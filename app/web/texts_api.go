package web

import (
	"context"
	"errors"
	"net/http"

	"hearth/app/clinic"
	"hearth/app/sms"
)

// TextLine is the clinic's running text transport (app/cli keeps it in step
// with the settings): it sends the test text, says in words whether texts
// can go, and is told to look at the settings again after they change.
type TextLine interface {
	clinic.TextSender
	State() sms.State
	Refresh(ctx context.Context)
}

// smsStatus is the transport's condition in words, for Settings → Text
// messages and the outbox view.
type smsStatus struct {
	Transport string `json:"transport"`
	OK        bool   `json:"ok"`
	Code      string `json:"code"`
	Words     string `json:"words"`
	// HookURL is the address to give the gateway for inbound texts and
	// delivery reports; "" until the public address is set.
	HookURL string `json:"hook_url"`
}

func (s *Server) smsStatus(ctx context.Context) (smsStatus, error) {
	st, err := s.c.Settings(ctx)
	if err != nil {
		return smsStatus{}, err
	}
	out := smsStatus{Transport: st.Effective().SMS.Transport, HookURL: st.HookURL(), Code: string(sms.CodeClosed), Words: sms.CodeClosed.Words()}
	if s.texts != nil {
		s.texts.Refresh(ctx)
		state := s.texts.State()
		out.OK, out.Code, out.Words = state.OK, string(state.Code), state.Words
	}
	return out, nil
}

// handleSMSStatus answers whether texts can go now, in words.
func (s *Server) handleSMSStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	st, err := s.smsStatus(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// handleTestText sends a test text now and shows the transport's answer.
func (s *Server) handleTestText(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		To string `json:"to"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var line clinic.TextSender
	if s.texts != nil {
		s.texts.Refresh(r.Context())
		line = s.texts
	}
	if err := s.c.SendTestText(r.Context(), rc.actor, in.To, line); err != nil {
		return err
	}
	st, err := s.smsStatus(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sent": true, "answer": "The text was handed to the " + st.Transport + ": " + st.Words + ".", "status": st})
	return nil
}

// handleOutbox is the owner's outbox view: each email and text with its
// channel, state, tries and last error in words; no address, no words.
func (s *Server) handleOutbox(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	rows, err := s.c.Outbox(r.Context(), rc.actor, 200)
	if err != nil {
		return err
	}
	st, err := s.smsStatus(r.Context())
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []clinic.OutboxRow{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sms": st, "messages": rows})
	return nil
}

// handleSMSHook takes the gateway's webhook: an inbound text or a delivery
// report. It needs no session and no CSRF token, but its signature: the
// gateway's HMAC over the hook's public address and every parameter, keyed
// with the clinic's token. A bad or missing signature answers 403 and
// changes nothing; a message id seen before is handled once.
func (s *Server) handleSMSHook(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	st, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	if st.SMS.Transport != clinic.TextsGateway || st.HookURL() == "" {
		return errBadSignature
	}
	if st.SMS.Token == "" {
		if s.c.Locked() {
			return errLocked // the token is sealed: the gateway tries again later
		}
		return errBadSignature
	}
	if err := r.ParseForm(); err != nil {
		return errBadRequest
	}
	full := st.HookURL()
	if r.URL.RawQuery != "" {
		full += "?" + r.URL.RawQuery
	}
	if !sms.VerifySignature(st.SMS.Token, full, r.PostForm, r.Header.Get(sms.SignatureHeader)) {
		s.log.Warn("a text-message webhook with a bad or missing signature was refused", "client", clientAddr(r))
		return errBadSignature
	}
	in, err := sms.ParseInbound(r.PostForm)
	if err != nil {
		return errBadRequest
	}
	if err := s.c.ReceiveText(r.Context(), in); err != nil {
		return err
	}
	// The gateway reads an empty answer as "nothing more to send".
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte("<Response></Response>"))
	s.lostResponse(r, err)
	return nil
}

// pageTextsToggle is the patient's own answer about texts on /me.
func (s *Server) pageTextsToggle(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	if err := s.c.SetPatientTexts(pc.r.Context(), pc.actor(), pc.form("on") == "1", clinic.ConsentMe); err != nil {
		return err
	}
	return pc.redirect("/me")
}

// inviteForm is the invite page's birth-date form, with the box that
// agrees to texts when the clinic sends texts.
func (pc *pctx) inviteForm(action string) *formView {
	fv := pc.verifyForm(action, true)
	if pc.st.TextsReady() {
		fv.Fields = append(fv.Fields, &field{Name: "texts", Kind: "checkbox", Label: pc.T("text.invite_box"),
			Hint: pc.T("text.invite_box.hint"), Checked: pc.form("texts") != ""})
	}
	return fv
}

// inviteTexts records the consent to texts ticked on the invite page. A
// patient without a mobile number on file is signed in all the same; /me
// then offers nothing to turn on.
func (s *Server) inviteTexts(pc *pctx, dev clinic.Device) {
	a := clinic.Actor{Kind: clinic.ActorPatient, ID: dev.ID, Patient: dev.PatientID, Client: clientAddr(pc.r)}
	if err := s.c.SetPatientTexts(pc.r.Context(), a, true, clinic.ConsentInvite); err != nil {
		var ie *clinic.InputError
		if !errors.As(err, &ie) {
			s.log.Error("the consent to texts from the invite page could not be saved", "err", err)
		}
	}
}
