package web

import (
	"net/http"
	"net/url"

	"hearth/app/mail"
)

type mailPage struct {
	Heading, Msg, Action, Button string
	Texts                        bool // the sign-in link page also offers a link by text
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

// pageLinkRequest: "email me a sign-in link". The answer is the same
// whether or not the address is on file.
func (s *Server) pageLinkRequest(pc *pctx) error {
	if pc.r.Method == http.MethodGet {
		mp := mailPage{Heading: pc.T("mlink.title"), Msg: pc.T("mlink.lead"), Texts: pc.st.TextsReady()}
		return pc.render(http.StatusOK, "p_linkreq.html", mp.Heading, mp)
	}
	// Signed out, so the budget is the client address's (as for /contact):
	// a shared "anonymous" budget would let one person block everyone.
	if !pc.s.limits.take("plink-client:"+clientAddr(pc.r), contactsPerClient) {
		return errTooMany
	}
	if phone := pc.form("phone"); phone != "" {
		if err := s.c.RequestSignInText(pc.r.Context(), phone, clientAddr(pc.r)); err != nil {
			return err
		}
		mp := mailPage{Heading: pc.T("mlink.sent.text_title"), Msg: pc.T("mlink.sent.text_msg")}
		return pc.render(http.StatusOK, "p_mail.html", mp.Heading, mp)
	}
	if err := s.c.RequestSignInLink(pc.r.Context(), pc.form("email"), clientAddr(pc.r)); err != nil {
		return err
	}
	mp := mailPage{Heading: pc.T("mlink.sent.title"), Msg: pc.T("mlink.sent.msg")}
	return pc.render(http.StatusOK, "p_mail.html", mp.Heading, mp)
}

// pageLinkForm: the link from the email. Opening it uses nothing up; the
// birth-date form's POST does.
func (s *Server) pageLinkUse(pc *pctx) error {
	token := pc.r.PathValue("token")
	target := throttleKey("plink", token)
	vp := verifyPage{Heading: pc.T("mlink.use.title"), Lead: pc.T("invite.lead", "clinic", pc.st.ClinicName), Invite: true,
		Form: pc.verifyForm("/l/"+url.PathEscape(token), true)}
	if pc.r.Method == http.MethodGet {
		if pc.codeThrottled("") {
			return errTooMany
		}
		valid, err := s.c.SignInLinkValid(pc.r.Context(), token)
		if err != nil {
			return err
		}
		if !valid {
			pc.codeFailed("")
			return pc.badLink(false)
		}
		return pc.render(http.StatusOK, "p_verify.html", vp.Heading, vp)
	}
	return pc.signInByBirthDate(target, vp, func(dob string, shared bool) (string, error) {
		_, tok, err := s.c.UseSignInLink(pc.r.Context(), token, dob, deviceLabel(pc.r.UserAgent()), shared, clientAddr(pc.r))
		return tok, err
	})
}
