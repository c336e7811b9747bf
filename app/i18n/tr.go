package i18n

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tr speaks one language: texts, and dates and times in the clinic's time
// zone written the way people say them.
//
// Every rule for dates and times is a catalogue entry, so a new language
// brings its own:
//
//	time.weekday.sunday … time.weekday.saturday   weekday names
//	time.month.january … time.month.december      month names
//	time.date, time.day_date, time.day_date_year  date patterns: {weekday} {month} {day} {year}
//	time.date_order                               "month-day" or "day-month", for the birth-date boxes
//	time.am, time.pm, time.clock                  a time of day: {time} ("5", "9:30") and {ampm}
//	time.noon, time.midnight                      the hours written as words
//	time.at.KIND                                  the word before a time, {at} in the patterns below
//	time.until.KIND                               a closing time: {time}
//	time.when.today, .tomorrow, .later            a moment after "by" or "we open": {time} {at} {date}
//	time.on.today, .yesterday, .tomorrow, .other  a moment with its preposition: {time} {at} {date}
//	time.stamp                                    a moment on its own line: {day} {time}
//
// KIND is how the hour reads, since some languages change a word with it:
// "noon" and "midnight" (when written as words), "one" (1:00 to 1:59, am
// or pm) and "other".
type Tr struct {
	lang string
	m    map[string]string
	en   map[string]string
	loc  *time.Location
	now  time.Time
}

// Tr speaks lang (Default when the catalogue does not have it) in the time
// zone loc (UTC when nil), with now as today.
func (c *Catalog) Tr(lang string, loc *time.Location, now time.Time) *Tr {
	if !c.Has(lang) {
		lang = Default
	}
	if loc == nil {
		loc = time.UTC
	}
	return &Tr{lang: lang, m: c.msgs[lang], en: c.msgs[Default], loc: loc, now: now.In(loc)}
}

// T returns the text for key with its {placeholders} filled from name, value
// pairs. A key missing everywhere shows as itself, which tests catch.
func (t *Tr) T(key string, args ...any) string {
	s, ok := t.m[key]
	if !ok {
		if s, ok = t.en[key]; !ok {
			return key
		}
	}
	if len(args) < 2 || !strings.Contains(s, "{") {
		return s
	}
	return fill(s, args)
}

// fill writes s with each {name} replaced by the value of the first name,
// value pair that names it, in one pass: a value is never scanned again,
// and a {name} no pair names stays as written. A value that ends with a
// period ("5 p. m.") at the end of a sentence takes the sentence's period:
// never "p. m..".
func fill(s string, args []any) string {
	var b strings.Builder
	b.Grow(len(s) + 32)
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		n, value, ok := placeholder(s, args)
		if !ok {
			b.WriteByte('{')
			s = s[1:]
			continue
		}
		b.WriteString(value)
		s = s[n:]
		if len(s) > 0 && s[0] == '.' && strings.HasSuffix(value, ".") {
			s = s[1:]
		}
	}
}

// placeholder matches the {name} that s starts with against args' names
// in order, and returns its length and the first matching pair's value.
func placeholder(s string, args []any) (int, string, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		name := text(args[i])
		if len(s) >= len(name)+2 && s[1:1+len(name)] == name && s[1+len(name)] == '}' {
			return len(name) + 2, text(args[i+1]), true
		}
	}
	return 0, "", false
}

// text writes a placeholder's name or value as fmt.Sprint does.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	}
	return fmt.Sprint(v)
}

// Has reports whether key has a text (templates show optional lines with it).
func (t *Tr) Has(key string) bool { _, ok := t.en[key]; return ok }

// Lang is the language code, for lang attributes and records.
func (t *Tr) Lang() string { return t.lang }

// Weekday names a day of the week.
func (t *Tr) Weekday(d time.Weekday) string {
	return t.T("time.weekday." + strings.ToLower(d.String()))
}

func (t *Tr) month(m time.Month) string {
	return t.T("time.month." + strings.ToLower(m.String()))
}

// DayFirst reports whether a date is written day before month, for the
// order of the birth-date boxes.
func (t *Tr) DayFirst() bool { return t.T("time.date_order") == "day-month" }

// hourKind says how an hour reads, for the words that change with it.
func hourKind(h, m int) string {
	switch {
	case m == 0 && h == 12:
		return "noon"
	case m == 0 && h%12 == 0:
		return "midnight"
	case h%12 == 1:
		return "one"
	}
	return "other"
}

// twelve is the hour on a twelve-hour clock and whether it is before noon.
func twelve(h int) (int, bool) {
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	return h12, h%24 < 12
}

func (t *Tr) ampm(am bool) string {
	if am {
		return t.T("time.am")
	}
	return t.T("time.pm")
}

// Clock writes a time of day: "5 pm", "9:30 am" / "5 p. m.", "9:30 a. m.".
// Midnight is written as a word, since "12 am" confuses most people.
func (t *Tr) Clock(h, m int) string {
	switch hourKind(h, m) {
	case "midnight":
		return t.T("time.midnight")
	case "noon":
		return t.T("time.noon")
	}
	h12, am := twelve(h)
	n := strconv.Itoa(h12)
	if m != 0 {
		n += fmt.Sprintf(":%02d", m)
	}
	return t.T("time.clock", "time", n, "ampm", t.ampm(am))
}

// Until writes a closing time: "until 5 pm" / "hasta las 5 p. m.", "hasta
// la 1 p. m.", "hasta el mediodía".
func (t *Tr) Until(h, m int) string {
	return t.T("time.until."+hourKind(h, m), "time", t.Clock(h, m))
}

// Format fills a catalogue pattern with the parts of tm in the clinic's
// time zone: {weekday}, {month}, {day}, {year}; {time} (as Clock writes it)
// and {at} (the word before it); {hour}, {minute} and {ampm} for a
// twelve-hour clock with its minutes always written ("2:30 pm"). More
// name, value pairs may follow.
func (t *Tr) Format(key string, tm time.Time, args ...any) string {
	tm = tm.In(t.loc)
	pattern := t.T(key)
	// Only the parts the pattern names are written (each is a lookup or
	// more); the others could not show.
	parts := make([]any, 0, 20+len(args))
	has := func(name string) bool { return names(pattern, name) }
	h12, am := twelve(tm.Hour())
	if has("weekday") {
		parts = append(parts, "weekday", t.Weekday(tm.Weekday()))
	}
	if has("month") {
		parts = append(parts, "month", t.month(tm.Month()))
	}
	if has("day") {
		parts = append(parts, "day", tm.Day())
	}
	if has("year") {
		parts = append(parts, "year", tm.Year())
	}
	if has("time") {
		parts = append(parts, "time", t.Clock(tm.Hour(), tm.Minute()))
	}
	if has("at") {
		parts = append(parts, "at", t.T("time.at."+hourKind(tm.Hour(), tm.Minute())))
	}
	if has("hour") {
		parts = append(parts, "hour", h12)
	}
	if has("minute") {
		parts = append(parts, "minute", fmt.Sprintf("%02d", tm.Minute()))
	}
	if has("ampm") {
		parts = append(parts, "ampm", t.ampm(am))
	}
	return t.T(key, append(parts, args...)...)
}

// names reports whether pattern has the placeholder {name}.
func names(pattern, name string) bool {
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return false
		}
		pattern = pattern[i+1:]
		if len(pattern) > len(name) && pattern[:len(name)] == name && pattern[len(name)] == '}' {
			return true
		}
	}
}

// dated is Format for the When and On patterns, which may name {date}
// (the day with its weekday) as well.
func (t *Tr) dated(key string, tm time.Time) string {
	if names(t.T(key), "date") {
		return t.Format(key, tm, "date", t.DayDate(tm))
	}
	return t.Format(key, tm)
}

// DayDate writes a date with its weekday: "Tuesday, March 3" / "martes 3 de
// marzo", with the year only when it is not this year.
func (t *Tr) DayDate(tm time.Time) string {
	if tm.In(t.loc).Year() != t.now.Year() {
		return t.Format("time.day_date_year", tm)
	}
	return t.Format("time.day_date", tm)
}

// Date writes a calendar date: "March 3, 2026" / "3 de marzo de 2026".
func (t *Tr) Date(tm time.Time) string { return t.Format("time.date", tm) }

// dayOffset is how many calendar days tm is after today (negative: before),
// in the clinic's time zone.
func (t *Tr) dayOffset(tm time.Time) int {
	tm = tm.In(t.loc)
	a := time.Date(t.now.Year(), t.now.Month(), t.now.Day(), 12, 0, 0, 0, time.UTC)
	b := time.Date(tm.Year(), tm.Month(), tm.Day(), 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// When writes a moment as a phrase that fits after "by" or "we open":
// "5 pm today", "9 am tomorrow", "Tuesday, March 3 at 5 pm" / "hoy a las 5
// p. m.", "mañana a las 9 a. m.", "el martes 3 de marzo a las 5 p. m.".
func (t *Tr) When(tm time.Time) string {
	key := map[int]string{0: "time.when.today", 1: "time.when.tomorrow"}[t.dayOffset(tm)]
	if key == "" {
		key = "time.when.later"
	}
	return t.dated(key, tm)
}

// On writes a moment with its preposition, for "seen by Maria … on Monday":
// "today at 9:42 am", "yesterday at 4 pm", "on Monday, March 2 at 9:42 am" /
// "hoy a las 9:42 a. m.", "ayer a las…", "el lunes 2 de marzo a las…".
func (t *Tr) On(tm time.Time) string {
	key := map[int]string{0: "time.on.today", -1: "time.on.yesterday", 1: "time.on.tomorrow"}[t.dayOffset(tm)]
	if key == "" {
		key = "time.on.other"
	}
	return t.dated(key, tm)
}

// Stamp writes when something happened, on its own line: "Today, 9:42
// am", "Monday, March 2, 9:42 am" / "Hoy, 9:42 a. m.", "Lunes 2 de marzo,
// 9:42 a. m.".
func (t *Tr) Stamp(tm time.Time) string {
	var day string
	switch t.dayOffset(tm) {
	case 0:
		day = t.T("time.today")
	case -1:
		day = t.T("time.yesterday")
	default:
		day = t.DayDate(tm)
	}
	return t.T("time.stamp", "day", UpperFirst(day), "time", t.Clock(tm.In(t.loc).Hour(), tm.In(t.loc).Minute()))
}

// ISO is a machine-readable time for <time datetime>.
func (t *Tr) ISO(tm time.Time) string { return tm.In(t.loc).Format(time.RFC3339) }

// UpperFirst capitalizes the first letter, for a phrase that starts a line.
func UpperFirst(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}
