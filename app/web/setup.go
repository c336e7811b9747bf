package web

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"path/filepath"
	"strings"

	"rsc.io/qr"

	"hearth/app/clinic"
)

type setupForm struct {
	Token                        string
	ClinicName, OwnerName, Email string
	Domain                       string // optional: Hearth's own HTTPS name
	Errors                       map[string]string
	MinPassword                  int
}

func (s *Server) handleSetupForm(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	done, err := s.c.IsSetUp(r.Context())
	if err != nil {
		return err
	}
	if done {
		http.Redirect(w, r, "/setup/"+s.setup.Token+"/kit", http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "setup.html", page{Title: "Set up Hearth", Clinic: "Hearth",
		Data: setupForm{Token: s.setup.Token, MinPassword: clinic.MinPasswordLength}})
}

func (s *Server) handleSetupSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := r.ParseForm(); err != nil {
		return errBadRequest
	}
	f := setupForm{Token: s.setup.Token, ClinicName: r.PostFormValue("clinic_name"), OwnerName: r.PostFormValue("owner_name"),
		Email: r.PostFormValue("owner_email"), Domain: r.PostFormValue("domain"), MinPassword: clinic.MinPasswordLength, Errors: map[string]string{}}
	pw := r.PostFormValue("password")
	in := clinic.SetupInput{ClinicName: f.ClinicName, OwnerName: f.OwnerName, OwnerEmail: f.Email, Password: pw, Domain: f.Domain}
	// Every problem at once, the password's length before the match.
	err := clinic.CheckSetup(in, r.PostFormValue("password_again"), s.common)
	var owner clinic.Staff
	if err == nil {
		owner, err = s.c.Setup(r.Context(), in, s.common, clientAddr(r))
	}
	if ies := clinic.AllInputErrors(err); len(ies) > 0 {
		for _, ie := range ies {
			field := map[string]string{"clinic_name": "clinic_name", "name": "owner_name", "email": "owner_email", "password": "password",
				"password_again": "password_again", "domain": "domain"}[ie.Field]
			if field == "" {
				field = "clinic_name"
			}
			if f.Errors[field] == "" {
				f.Errors[field] = ie.Msg
			}
		}
		return s.render(w, r, http.StatusBadRequest, "setup.html", page{Title: "Set up Hearth", Clinic: "Hearth", Data: f})
	}
	if err != nil {
		return err
	}
	// The owner is signed in on this browser: after the emergency kit the
	// console opens without typing the password again.
	token, _, err := s.c.SetupSession(r.Context(), owner, clientAddr(r))
	if err != nil {
		s.log.Error("owner not signed in after setup", "err", err)
	} else {
		http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: token, Path: "/", HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode})
	}
	s.log.Info("setup complete: the owner account exists")
	if s.setup.Done != nil {
		s.setup.Done()
	}
	http.Redirect(w, r, "/setup/"+s.setup.Token+"/kit", http.StatusSeeOther)
	return nil
}

type kitData struct {
	Shown    bool
	Recovery string
	QR       template.URL
	Clinic   string
	DataDir  string // the data folder, ready to paste into a shell
}

// kitDataDir writes the server's data folder for the restore command: its
// absolute path ("/var/lib/hearth" for a service install), quoted for a
// shell when it has spaces or other special characters; "hearth-data", the
// default, when none was given.
func kitDataDir(dir string) string {
	if dir == "" {
		dir = "hearth-data"
	} else if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	for _, r := range dir {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@", r)) {
			return "'" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
		}
	}
	return dir
}

// takeKit hands the recovery key over, once. Its showing is audited first:
// if the audit or the QR code fails, the key stays for the next try rather
// than being shown unrecorded or lost.
func (s *Server) takeKit(r *http.Request, rc *reqCtx) (kitData, error) {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	d := kitData{Shown: s.setup.shown}
	if s.setup.shown {
		return d, nil
	}
	if s.setup.Recovery != "" {
		code, err := qr.Encode(s.setup.Recovery, qr.M)
		if err != nil {
			return d, err
		}
		if err := s.c.Audit(r.Context(), rc.actor, clinic.AuditEvent{Action: "setup.kit_shown", Object: "keys"}); err != nil {
			return d, fmt.Errorf("web: audit the emergency kit: %w", err)
		}
		d.Recovery = s.setup.Recovery
		d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(code.PNG()))
	}
	s.setup.shown = true
	s.setup.Recovery = ""
	return d, nil
}

// handleSetupKit shows the emergency kit (the recovery key as text and QR
// code) exactly once, after setup; it is never stored and cannot be shown
// again.
func (s *Server) handleSetupKit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	done, err := s.c.IsSetUp(r.Context())
	if err != nil {
		return err
	}
	if !done {
		http.Redirect(w, r, "/setup/"+s.setup.Token, http.StatusSeeOther)
		return nil
	}
	d, err := s.takeKit(r, rc)
	if err != nil {
		return err
	}
	st, _ := s.c.Settings(r.Context())
	d.Clinic = st.ClinicName
	d.DataDir = s.dataDir
	return s.render(w, r, http.StatusOK, "kit.html", page{Title: "Emergency kit", Data: d})
}
