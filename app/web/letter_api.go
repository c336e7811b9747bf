package web

import (
	"net/http"

	"hearth/app/i18n"
)

// The printed invite letter and the reply templates speak the patient's
// language; what the console needs to know about that lives here.

// errNoPublicURL refuses a printed letter while the owner has not said how
// patients reach Hearth: the letter would send them to this computer's own
// address, which their phones cannot open.
var errNoPublicURL = errConflict.with("public_url",
	"Patients have no address to go to yet, so the letter would send them nowhere. The owner sets it in Settings → Clinic → “Address patients use”; print the letter after that.")

// letterPrintable refuses a printed letter until the owner has set the
// address patients use (Settings → Clinic).
func (s *Server) letterPrintable(r *http.Request) error {
	st, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	if st.PublicURL == "" {
		return errNoPublicURL
	}
	return nil
}

// templateLang is a language a reply template can have a text in, with the
// language's own name for it.
type templateLang struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// templateLangs lists the languages the patient pages speak, English
// first: the template editor shows a text box for each.
func (s *Server) templateLangs() []templateLang {
	cat := s.c.Words()
	if cat == nil {
		return []templateLang{{Code: i18n.Default, Name: "English"}}
	}
	var out []templateLang
	for _, l := range cat.Langs() {
		name, ok := cat.Text(l, "lang.name")
		if !ok {
			name = l
		}
		out = append(out, templateLang{Code: l, Name: name})
	}
	return out
}
