package web

import (
	"net/http"

	"hearth/app/mail"
)

type mailPage struct {
	Heading, Msg, Action, Button string
}

// pageEmailToggle is the patient's opt-in / opt-out on /me.
func (s *Server) pageEmailToggle(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	if err := s.c.SetEmailReplies(pc.r.Context(), pc.actor(), pc.form("on") == "1"); err != nil {
		return err
	}
	return pc.redirect("/me")
}

// pageUnsubscribe is the opt-out link in every email. The link only shows
// a button: mail scanners that follow links change nothing.
func (s *Server) pageUnsubscribe(pc *pctx) error {
	path := "/u/" + pc.r.PathValue("patient") + "/" + pc.r.PathValue("mac")
	if pc.r.Method == http.MethodGet {
		mp := mailPage{Heading: pc.T("mail.unsub.title"), Msg: pc.T("mail.unsub.msg"), Action: path, Button: pc.T("mail.unsub.button")}
		return pc.render(http.StatusOK, "p_mail.html", mp.Heading, mp)
	}
	if err := s.c.Unsubscribe(pc.r.Context(), pc.r.PathValue("patient"), pc.r.PathValue("mac")); err != nil {
		return err
	}
	mp := mailPage{Heading: pc.T("mail.unsub.done"), Msg: pc.T("mail.unsub.done.msg")}
	return pc.render(http.StatusOK, "p_mail.html", mp.Heading, mp)
}

// handleTestMail sends a test email now and shows the server's answer.
func (s *Server) handleTestMail(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		To string `json:"to"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.c.SendTestMail(r.Context(), rc.actor, in.To, mail.Send); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sent": true, "answer": "The mail server accepted the message."})
	return nil
}
