package clinic

import (
	"fmt"
	"slices"
	"time"
)

// Office hours and due times.
//
// Everything here works in the clinic's local wall-clock time: each day's
// opening periods are built with time.Date in the clinic's location, never by
// adding 24 hours to an instant, so a day that is 23 or 25 hours long (the
// daylight-saving changes) still opens at 09:00 and closes at 17:00 on the
// clock on the wall.

// Span is one opening period in a day, "09:00" to "17:00" (24-hour, local
// clinic time). Close may be "24:00" (midnight at the end of the day).
type Span struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// Hours are the clinic's weekly hours and holidays.
type Hours struct {
	Weekly   [7][]Span `json:"weekly"`   // indexed by time.Weekday (0 = Sunday); several spans allowed (lunch break)
	Holidays []string  `json:"holidays"` // "2026-12-25" (local dates the clinic is closed all day)
}

// Limits on what Validate accepts.
const (
	maxSpansPerDay = 8
	maxHolidays    = 500
)

// hoursHorizonDays is how many days in a row with no opening the calculations
// look through before they give up (a clinic with no hours at all, or a year
// of holidays).
const hoursHorizonDays = 400

// hoursMaxDays bounds any one walk through the calendar (about a century), so
// an absurd duration cannot keep a request busy.
const hoursMaxDays = 36600

const dateLayout = "2006-01-02"

var weekdayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// DefaultHours are Monday to Friday, 09:00 to 17:00, closed at weekends, with
// no holidays.
func DefaultHours() Hours {
	var h Hours
	for d := time.Monday; d <= time.Friday; d++ {
		h.Weekly[d] = []Span{{Open: "09:00", Close: "17:00"}}
	}
	return h
}

// DefaultTargets are how long, in business minutes, the clinic aims to take
// to answer each type of item.
func DefaultTargets() map[string]int {
	return map[string]int{
		"message":     480, // one business day of 8 hours
		"refill":      960, // two business days
		"appointment": 480,
		"callback":    240,
		"billing":     960,
		"records":     960,
		"other":       480,
	}
}

// parseClock reads "HH:MM" into minutes after midnight. "24:00" is accepted
// only when allow24 is set (a closing time).
func parseClock(s string, allow24 bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	hh := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[3]-'0')*10 + int(s[4]-'0')
	if mm > 59 {
		return 0, false
	}
	if hh == 24 && mm == 0 && allow24 {
		return 24 * 60, true
	}
	if hh > 23 {
		return 0, false
	}
	return hh*60 + mm, true
}

// Validate checks the hours a person entered, and says what to fix in plain
// words.
func (h Hours) Validate() error {
	for day, spans := range h.Weekly {
		name := weekdayNames[day]
		if len(spans) > maxSpansPerDay {
			return inputErr("hours", fmt.Sprintf("Use at most %d opening periods on %s.", maxSpansPerDay, name))
		}
		type period struct{ open, close int }
		ps := make([]period, 0, len(spans))
		for _, sp := range spans {
			o, ok1 := parseClock(sp.Open, false)
			c, ok2 := parseClock(sp.Close, true)
			if !ok1 || !ok2 {
				return inputErr("hours", fmt.Sprintf("On %s, write opening and closing times as hours and minutes on the 24-hour clock, such as 09:00 and 17:30 (24:00 for midnight at closing).", name))
			}
			if c <= o {
				return inputErr("hours", fmt.Sprintf("On %s, each closing time must be later than its opening time.", name))
			}
			ps = append(ps, period{o, c})
		}
		slices.SortFunc(ps, func(a, b period) int { return a.open - b.open })
		for i := 1; i < len(ps); i++ {
			if ps[i].open < ps[i-1].close {
				return inputErr("hours", fmt.Sprintf("On %s, two opening periods overlap; start each one after the one before it closes.", name))
			}
		}
	}
	if len(h.Holidays) > maxHolidays {
		return inputErr("hours", fmt.Sprintf("List at most %d holidays.", maxHolidays))
	}
	for _, d := range h.Holidays {
		if _, err := time.Parse(dateLayout, d); err != nil {
			return inputErr("hours", "Write each holiday as a date such as 2026-12-25 (year, month, day).")
		}
	}
	return nil
}

// schedule is Hours parsed once for one calculation. Spans that do not parse
// are skipped (Validate reports them when the owner saves).
type schedule struct {
	weekly   [7][][2]int // minutes after midnight, sorted by opening
	holidays map[string]bool
	loc      *time.Location
}

func (h Hours) compile(loc *time.Location) *schedule {
	s := &schedule{loc: orUTC(loc)}
	for day, spans := range h.Weekly {
		for _, sp := range spans {
			o, ok1 := parseClock(sp.Open, false)
			c, ok2 := parseClock(sp.Close, true)
			if ok1 && ok2 && c > o {
				s.weekly[day] = append(s.weekly[day], [2]int{o, c})
			}
		}
		slices.SortFunc(s.weekly[day], func(a, b [2]int) int { return a[0] - b[0] })
	}
	if len(h.Holidays) > 0 {
		s.holidays = make(map[string]bool, len(h.Holidays))
		for _, d := range h.Holidays {
			s.holidays[d] = true
		}
	}
	return s
}

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// walk calls fn with each opening period [open, close) in time order,
// starting with the periods of t's local day, until fn returns false. It
// stops after hoursHorizonDays days in a row without an opening, or after
// hoursMaxDays days in all. It reports whether fn asked to stop.
func (s *schedule) walk(t time.Time, fn func(open, close time.Time) bool) bool {
	y, m, d := t.In(s.loc).Date()
	empty := 0
	for i := 0; i < hoursMaxDays && empty < hoursHorizonDays; i++ {
		// The calendar date and weekday come from UTC arithmetic, which
		// has no daylight saving; the instants come from the clinic's zone.
		day := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC)
		dy, dm, dd := day.Date()
		spans := s.weekly[day.Weekday()]
		if len(spans) == 0 || s.holidays[day.Format(dateLayout)] {
			empty++
			continue
		}
		found := false
		for _, sp := range spans {
			open := time.Date(dy, dm, dd, sp[0]/60, sp[0]%60, 0, 0, s.loc)
			close := time.Date(dy, dm, dd, sp[1]/60, sp[1]%60, 0, 0, s.loc) // 24:00 normalises to the next midnight
			if !close.After(open) {
				continue // a period swallowed by a daylight-saving jump
			}
			found = true
			if !fn(open, close) {
				return true
			}
		}
		if found {
			empty = 0
		} else {
			empty++
		}
	}
	return false
}

// IsOpen reports whether the clinic is open at t. An opening period includes
// its opening minute and excludes its closing minute: with 09:00–17:00 the
// clinic is open at 09:00 and closed at 17:00.
func (h Hours) IsOpen(t time.Time, loc *time.Location) bool {
	open := false
	h.compile(loc).walk(t, func(a, b time.Time) bool {
		if !b.After(t) {
			return true
		}
		open = !a.After(t)
		return false
	})
	return open
}

// ClosedAllDay reports whether the clinic does not open at all on t's local
// day (in loc): a weekday with no opening periods, or a holiday.
func (h Hours) ClosedAllDay(t time.Time, loc *time.Location) bool {
	s := h.compile(loc)
	day := t.In(s.loc)
	return len(s.weekly[day.Weekday()]) == 0 || s.holidays[day.Format(dateLayout)]
}

// NextOpen is t itself if the clinic is open at t, or else the start of the
// next opening. If the clinic never opens (within about 400 days of closed
// days in a row), it returns t. The result is in loc.
func (h Hours) NextOpen(t time.Time, loc *time.Location) time.Time {
	s := h.compile(loc)
	next := t
	s.walk(t, func(a, b time.Time) bool {
		if !b.After(t) {
			return true
		}
		if a.After(t) {
			next = a
		}
		return false
	})
	return next.In(s.loc)
}

// DescribeOpen says when the clinic next opens, for example for the
// after-hours auto-reply: the start of the next opening period after t. When
// the clinic is closed at t this is NextOpen(t); when it is open, it is the
// start of the first opening after the current one closes (periods that
// touch, such as 20:00–24:00 and then 00:00–08:00, count as one). If the
// clinic never opens again, it returns t. The result is in loc.
func (h Hours) DescribeOpen(t time.Time, loc *time.Location) time.Time {
	s := h.compile(loc)
	next := t
	var runEnd time.Time
	inRun := false
	s.walk(t, func(a, b time.Time) bool {
		if !b.After(t) {
			return true
		}
		if !inRun {
			if a.After(t) {
				next = a
				return false
			}
			inRun, runEnd = true, b
			return true
		}
		if a.After(runEnd) {
			next = a
			return false
		}
		if b.After(runEnd) {
			runEnd = b
		}
		return true
	})
	return next.In(s.loc)
}

// AddBusiness adds d of open time to start: the clock only runs while the
// clinic is open. If start is while closed, counting begins at the next
// opening, so AddBusiness(start, 0) is NextOpen(start). A due time that
// lands exactly on a closing time is that closing time (Friday 17:00, not
// Monday 09:00). A negative d counts as zero. If the clinic has no opening
// within about 400 days, the remaining time runs on the ordinary clock, so
// the answer is always sane and grows with d. The result is in loc.
func (h Hours) AddBusiness(start time.Time, d time.Duration, loc *time.Location) time.Time {
	s := h.compile(loc)
	if d < 0 {
		d = 0
	}
	cur, remaining := start, d
	done := s.walk(start, func(a, b time.Time) bool {
		if !b.After(cur) {
			return true
		}
		if a.After(cur) {
			cur = a
		}
		if avail := b.Sub(cur); remaining > avail {
			remaining -= avail
			cur = b
			return true
		}
		cur = cur.Add(remaining)
		remaining = 0
		return false
	})
	if !done {
		cur = cur.Add(remaining)
	}
	return cur.In(s.loc)
}

// DueAt is when an item is due: urgent items one hour after they were
// created whatever the hours; others target of business time after created.
// The result is in loc.
func DueAt(h Hours, loc *time.Location, created time.Time, target time.Duration, urgent bool) time.Time {
	if urgent {
		return created.Add(time.Hour).In(orUTC(loc))
	}
	return h.AddBusiness(created, target, loc)
}
