package web

import (
	"net/http"
	"strings"
	"time"

	"hearth/app/i18n"
)

// The patient pages speak the languages of the message catalogue
// (app/i18n, embed/i18n/LANG.json), loaded once by the clinic; this file
// picks the language of a request.

const defaultLang = i18n.Default

// langCookie remembers a language chosen with ?lang= for a year.
const langCookie = "hearth_lang"

// pickLang chooses the page language: ?lang= (remembered in a cookie), the
// cookie, the patient's saved choice, then the browser's Accept-Language.
func (s *Server) pickLang(w http.ResponseWriter, r *http.Request, c *i18n.Catalog, saved string) string {
	if q := strings.ToLower(r.URL.Query().Get("lang")); q != "" && c.Has(q) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteLaxMode})
		return q
	}
	if ck, err := r.Cookie(langCookie); err == nil && c.Has(ck.Value) {
		return ck.Value
	}
	if saved != "" && c.Has(saved) {
		return saved
	}
	if l := c.FromAcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return defaultLang
}

// tr is the page's language (texts, dates and times: i18n.Tr) with what
// only pages need, such as device labels.
type tr struct{ *i18n.Tr }

// speak is the page language lang, with dates in loc and now as today.
func speak(c *i18n.Catalog, lang string, loc *time.Location, now time.Time) *tr {
	return &tr{c.Tr(lang, loc, now)}
}

// upperFirst capitalizes the first letter, for a phrase that starts a line.
func upperFirst(s string) string { return i18n.UpperFirst(s) }
