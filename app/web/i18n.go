package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Translations for the patient pages live in embed/i18n/LANG.json: one flat
// object of key → text per language. Adding a language is adding a file;
// English is the reference every other file must match key for key (a test
// holds that), and a key missing from a language falls back to English
// rather than showing a raw key to a patient.
//
// Texts carry named placeholders, {clinic} or {time}, filled by T. They never
// carry markup: links and emphasis are in the templates, so a translation
// cannot break the page or open a hole in it.

// catalog is every language's texts.
type catalog struct {
	langs []string                     // "en" first, then the others sorted
	msgs  map[string]map[string]string // lang → key → text
}

const defaultLang = "en"

// loadCatalog reads embed/i18n/*.json. It fails when English is missing or a
// file does not parse, so a broken build is caught at start.
func loadCatalog(files fs.FS) (*catalog, error) {
	names, err := fs.Glob(files, "i18n/*.json")
	if err != nil {
		return nil, err
	}
	c := &catalog{msgs: map[string]map[string]string{}}
	for _, n := range names {
		lang := strings.TrimSuffix(path.Base(n), ".json")
		if !validLangTag(lang) {
			continue
		}
		b, err := fs.ReadFile(files, n)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: translations %s: %w", n, err)
		}
		c.msgs[lang] = m
		if lang != defaultLang {
			c.langs = append(c.langs, lang)
		}
	}
	if c.msgs[defaultLang] == nil {
		return nil, fmt.Errorf("web: embedded translations i18n/%s.json are missing", defaultLang)
	}
	slices.Sort(c.langs)
	c.langs = append([]string{defaultLang}, c.langs...)
	return c, nil
}

// validLangTag accepts the two- or three-letter language codes we name
// files and cookies with.
func validLangTag(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

func (c *catalog) has(lang string) bool { _, ok := c.msgs[lang]; return ok }

// fromAcceptLanguage picks the best language the browser asks for, by its
// q-values, or "".
func (c *catalog) fromAcceptLanguage(h string) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > bestQ && c.has(base) {
			best, bestQ = base, q
		}
	}
	return best
}

// langCookie remembers a language chosen with ?lang= for a year.
const langCookie = "hearth_lang"

// pickLang chooses the page language: ?lang= (remembered in a cookie), the
// cookie, the patient's saved choice, then the browser's Accept-Language.
func (s *Server) pickLang(w http.ResponseWriter, r *http.Request, c *catalog, saved string) string {
	if q := strings.ToLower(r.URL.Query().Get("lang")); q != "" && c.has(q) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteLaxMode})
		return q
	}
	if ck, err := r.Cookie(langCookie); err == nil && c.has(ck.Value) {
		return ck.Value
	}
	if saved != "" && c.has(saved) {
		return saved
	}
	if l := c.fromAcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return defaultLang
}

// tr speaks one language: texts, and dates and times in the clinic's time
// zone written the way people say them.
type tr struct {
	lang string
	m    map[string]string
	en   map[string]string
	loc  *time.Location
	now  time.Time
}

func (c *catalog) tr(lang string, loc *time.Location, now time.Time) *tr {
	if !c.has(lang) {
		lang = defaultLang
	}
	if loc == nil {
		loc = time.UTC
	}
	return &tr{lang: lang, m: c.msgs[lang], en: c.msgs[defaultLang], loc: loc, now: now.In(loc)}
}

// T returns the text for key with its {placeholders} filled from name, value
// pairs. A key missing everywhere shows as itself, which tests catch.
func (t *tr) T(key string, args ...any) string {
	s, ok := t.m[key]
	if !ok {
		if s, ok = t.en[key]; !ok {
			return key
		}
	}
	if len(args) == 0 || !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Has reports whether key has a text (templates show optional lines with it).
func (t *tr) Has(key string) bool { _, ok := t.en[key]; return ok }

// Lang is the language code, for lang attributes.
func (t *tr) Lang() string { return t.lang }

var (
	enDays   = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	esDays   = [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
	enMonths = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	esMonths = [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}
)

const nbsp = "\u00a0"

// Weekday names a day of the week.
func (t *tr) Weekday(d time.Weekday) string {
	if t.lang == "es" {
		return esDays[d]
	}
	return enDays[d]
}

// Clock writes a time of day: "5 pm", "9:30 am" / "5 p. m.", "9:30 a. m.".
// Midnight is written as a word, since "12 am" confuses most people.
func (t *tr) Clock(h, m int) string {
	if (h == 0 || h == 24) && m == 0 {
		return t.T("time.midnight")
	}
	if h == 12 && m == 0 {
		return t.T("time.noon")
	}
	am := h < 12
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	n := strconv.Itoa(h12)
	if m != 0 {
		n += fmt.Sprintf(":%02d", m)
	}
	switch {
	case t.lang == "es" && am:
		return n + nbsp + "a." + nbsp + "m."
	case t.lang == "es":
		return n + nbsp + "p." + nbsp + "m."
	case am:
		return n + nbsp + "am"
	}
	return n + nbsp + "pm"
}

// Until writes a closing time: "until 5 pm" / "hasta las 5 p. m.", "hasta
// la 1 p. m.", "hasta el mediodía".
func (t *tr) Until(h, m int) string {
	c := t.Clock(h, m)
	if t.lang != "es" {
		return "until " + c
	}
	switch {
	case m == 0 && h%12 == 0:
		if h == 12 {
			return "hasta el " + c
		}
		return "hasta la " + c
	case h%12 == 1:
		return "hasta la " + c
	}
	return "hasta las " + c
}

func (t *tr) clockOf(tm time.Time) string { return t.Clock(tm.Hour(), tm.Minute()) }

// at joins a day and a time: "Tuesday, March 3 at 5 pm" / "martes 3 de
// marzo a las 5 p. m." (Spanish says "a la 1" for one o'clock).
func (t *tr) at(day string, tm time.Time) string {
	if t.lang == "es" {
		switch {
		case tm.Minute() == 0 && tm.Hour()%12 == 0: // "a mediodía", "a medianoche"
			return day + " a " + t.clockOf(tm)
		case tm.Hour()%12 == 1:
			return day + " a la " + t.clockOf(tm)
		}
		return day + " a las " + t.clockOf(tm)
	}
	return day + " at " + t.clockOf(tm)
}

// DayDate writes a date with its weekday: "Tuesday, March 3" / "martes 3 de
// marzo", with the year only when it is not this year.
func (t *tr) DayDate(tm time.Time) string {
	tm = tm.In(t.loc)
	if t.lang == "es" {
		s := fmt.Sprintf("%s %d de %s", esDays[tm.Weekday()], tm.Day(), esMonths[tm.Month()-1])
		if tm.Year() != t.now.Year() {
			s += fmt.Sprintf(" de %d", tm.Year())
		}
		return s
	}
	s := fmt.Sprintf("%s, %s %d", enDays[tm.Weekday()], enMonths[tm.Month()-1], tm.Day())
	if tm.Year() != t.now.Year() {
		s += fmt.Sprintf(", %d", tm.Year())
	}
	return s
}

// Date writes a calendar date: "March 3, 2026" / "3 de marzo de 2026".
func (t *tr) Date(tm time.Time) string {
	tm = tm.In(t.loc)
	if t.lang == "es" {
		return fmt.Sprintf("%d de %s de %d", tm.Day(), esMonths[tm.Month()-1], tm.Year())
	}
	return fmt.Sprintf("%s %d, %d", enMonths[tm.Month()-1], tm.Day(), tm.Year())
}

// dayOffset is how many calendar days tm is after today (negative: before),
// in the clinic's time zone.
func (t *tr) dayOffset(tm time.Time) int {
	tm = tm.In(t.loc)
	a := time.Date(t.now.Year(), t.now.Month(), t.now.Day(), 12, 0, 0, 0, time.UTC)
	b := time.Date(tm.Year(), tm.Month(), tm.Day(), 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// When writes a moment as a phrase that fits after "by" or "we open":
// "5 pm today", "9 am tomorrow", "Tuesday, March 3 at 5 pm" / "hoy a las 5
// p. m.", "mañana a las 9 a. m.", "el martes 3 de marzo a las 5 p. m.".
func (t *tr) When(tm time.Time) string {
	tm = tm.In(t.loc)
	switch t.dayOffset(tm) {
	case 0:
		if t.lang == "es" {
			return t.at("hoy", tm)
		}
		return t.clockOf(tm) + " today"
	case 1:
		if t.lang == "es" {
			return t.at("mañana", tm)
		}
		return t.clockOf(tm) + " tomorrow"
	}
	if t.lang == "es" {
		return t.at("el "+t.DayDate(tm), tm)
	}
	return t.at(t.DayDate(tm), tm)
}

// On writes a moment with its preposition, for "seen by Maria … on Monday":
// "today at 9:42 am", "yesterday at 4 pm", "on Monday, March 2 at 9:42 am" /
// "hoy a las 9:42 a. m.", "ayer a las…", "el lunes 2 de marzo a las…".
func (t *tr) On(tm time.Time) string {
	tm = tm.In(t.loc)
	rel := map[int][2]string{0: {"today", "hoy"}, -1: {"yesterday", "ayer"}, 1: {"tomorrow", "mañana"}}
	if w, ok := rel[t.dayOffset(tm)]; ok {
		if t.lang == "es" {
			return t.at(w[1], tm)
		}
		return t.at(w[0], tm)
	}
	if t.lang == "es" {
		return t.at("el "+t.DayDate(tm), tm)
	}
	return t.at("on "+t.DayDate(tm), tm)
}

// Stamp writes when something happened, on its own line: "Today, 9:42
// am", "Monday, March 2, 9:42 am" / "Hoy, 9:42 a. m.", "Lunes 2 de marzo,
// 9:42 a. m.".
func (t *tr) Stamp(tm time.Time) string {
	tm = tm.In(t.loc)
	switch t.dayOffset(tm) {
	case 0:
		return upperFirst(t.T("time.today")) + ", " + t.clockOf(tm)
	case -1:
		return upperFirst(t.T("time.yesterday")) + ", " + t.clockOf(tm)
	}
	return upperFirst(t.DayDate(tm)) + ", " + t.clockOf(tm)
}

// upperFirst capitalizes the first letter, for a phrase that starts a line.
func upperFirst(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// ISO is a machine-readable time for <time datetime>.
func (t *tr) ISO(tm time.Time) string { return tm.In(t.loc).Format(time.RFC3339) }
