package clinic

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"hearth/app/testenv"
)

func hoursNY(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("no time zone data: %v", err), testenv.CI)
	}
	return loc
}

// at is a New York wall-clock time.
func hoursAt(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

// openBetween sums the clinic's open time in [from, to), by a minute-by-minute
// scan that shares no code with AddBusiness.
func hoursOpenBetween(h Hours, loc *time.Location, from, to time.Time) time.Duration {
	var n time.Duration
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		if h.IsOpen(t, loc) {
			n += time.Minute
		}
	}
	return n
}

func TestDueAtWorkedExamples(t *testing.T) {
	loc := hoursNY(t)
	h := DefaultHours()
	thanks := DefaultHours()
	thanks.Holidays = []string{"2026-11-26"}
	eight := 8 * time.Hour
	cases := []struct {
		name    string
		h       Hours
		created time.Time
		want    time.Time
	}{
		{"friday evening", h, hoursAt(loc, 2026, 11, 20, 18, 0), hoursAt(loc, 2026, 11, 23, 17, 0)},
		{"monday morning", h, hoursAt(loc, 2026, 11, 23, 10, 0), hoursAt(loc, 2026, 11, 24, 10, 0)},
		{"saturday", h, hoursAt(loc, 2026, 11, 21, 12, 0), hoursAt(loc, 2026, 11, 23, 17, 0)},
		// The brief said Friday 15:00, but Wednesday 16:00–17:00 is one hour
		// and Friday 09:00–16:00 the other seven: 8 business hours end at
		// 16:00 (the open-time check below confirms it).
		{"before thanksgiving", thanks, hoursAt(loc, 2026, 11, 25, 16, 0), hoursAt(loc, 2026, 11, 27, 16, 0)},
		{"at opening", h, hoursAt(loc, 2026, 11, 23, 9, 0), hoursAt(loc, 2026, 11, 23, 17, 0)},
		{"at closing", h, hoursAt(loc, 2026, 11, 23, 17, 0), hoursAt(loc, 2026, 11, 24, 17, 0)},
		{"early morning", h, hoursAt(loc, 2026, 11, 23, 3, 0), hoursAt(loc, 2026, 11, 23, 17, 0)},
	}
	for _, c := range cases {
		got := DueAt(c.h, loc, c.created, eight, false)
		if !got.Equal(c.want) {
			t.Errorf("%s: due %v, want %v", c.name, got, c.want)
		}
		if got.Location() != loc {
			t.Errorf("%s: result in %v, want %v", c.name, got.Location(), loc)
		}
		if n := hoursOpenBetween(c.h, loc, c.created, got); n != eight {
			t.Errorf("%s: %v of open time between created and due, want %v", c.name, n, eight)
		}
	}
}

func TestDueAtUrgent(t *testing.T) {
	loc := hoursNY(t)
	night := hoursAt(loc, 2026, 11, 21, 2, 30) // Saturday, 02:30
	got := DueAt(DefaultHours(), loc, night, 8*time.Hour, true)
	if want := night.Add(time.Hour); !got.Equal(want) || got.Location() != loc {
		t.Fatalf("urgent due %v, want %v in %v", got, want, loc)
	}
	// Across the spring-forward gap an hour is still an hour of real time.
	gap := hoursAt(loc, 2026, 3, 8, 1, 30)
	if got := DueAt(DefaultHours(), loc, gap, 8*time.Hour, true); got.Sub(gap) != time.Hour || got.Hour() != 3 {
		t.Fatalf("urgent due across DST %v", got)
	}
}

func TestAddBusinessLunchBreak(t *testing.T) {
	loc := hoursNY(t)
	var h Hours
	for d := time.Monday; d <= time.Friday; d++ {
		h.Weekly[d] = []Span{{"13:00", "17:00"}, {"09:00", "12:00"}} // out of order on purpose
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	mon := func(hh, mm int) time.Time { return hoursAt(loc, 2026, 11, 23, hh, mm) }
	cases := []struct {
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{mon(11, 0), 2 * time.Hour, mon(14, 0)},
		{mon(11, 0), time.Hour, mon(12, 0)},
		{mon(12, 30), 30 * time.Minute, mon(13, 30)},
		{mon(9, 0), 7 * time.Hour, mon(17, 0)},
		{mon(9, 0), 8 * time.Hour, hoursAt(loc, 2026, 11, 24, 10, 0)},
	}
	for _, c := range cases {
		if got := h.AddBusiness(c.start, c.d, loc); !got.Equal(c.want) {
			t.Errorf("AddBusiness(%v, %v) = %v, want %v", c.start, c.d, got, c.want)
		}
	}
	if h.IsOpen(mon(12, 0), loc) || h.IsOpen(mon(12, 59), loc) || !h.IsOpen(mon(13, 0), loc) {
		t.Error("lunch break is wrong")
	}
	if got := h.NextOpen(mon(12, 15), loc); !got.Equal(mon(13, 0)) {
		t.Errorf("NextOpen at lunch = %v", got)
	}
}

func TestAddBusinessMondayHoliday(t *testing.T) {
	loc := hoursNY(t)
	h := DefaultHours()
	h.Holidays = []string{"2026-09-07"} // Labor Day, a Monday
	fri := hoursAt(loc, 2026, 9, 4, 15, 0)
	got := h.AddBusiness(fri, 8*time.Hour, loc)
	if want := hoursAt(loc, 2026, 9, 8, 15, 0); !got.Equal(want) {
		t.Fatalf("due %v, want %v", got, want)
	}
	if h.IsOpen(hoursAt(loc, 2026, 9, 7, 10, 0), loc) {
		t.Fatal("open on a holiday")
	}
	if got := h.NextOpen(hoursAt(loc, 2026, 9, 5, 10, 0), loc); !got.Equal(hoursAt(loc, 2026, 9, 8, 9, 0)) {
		t.Fatalf("NextOpen over a holiday weekend = %v", got)
	}
}

func TestAddBusinessDST(t *testing.T) {
	loc := hoursNY(t)
	h := DefaultHours()
	// Friday before spring-forward (Sunday 2026-03-08): Monday opens at
	// 09:00 EDT, and the item gets exactly 8 business hours.
	fri := hoursAt(loc, 2026, 3, 6, 17, 30)
	got := h.AddBusiness(fri, 8*time.Hour, loc)
	if want := hoursAt(loc, 2026, 3, 9, 17, 0); !got.Equal(want) {
		t.Fatalf("spring forward: due %v, want %v", got, want)
	}
	if n := hoursOpenBetween(h, loc, fri, got); n != 8*time.Hour {
		t.Fatalf("spring forward: %v of open time", n)
	}
	fri = hoursAt(loc, 2026, 3, 6, 13, 0)
	if got := h.AddBusiness(fri, 8*time.Hour, loc); !got.Equal(hoursAt(loc, 2026, 3, 9, 13, 0)) {
		t.Fatalf("spring forward from Friday 13:00: due %v", got)
	}
	// Fall back (Sunday 2026-11-01).
	fri = hoursAt(loc, 2026, 10, 30, 13, 0)
	if got := h.AddBusiness(fri, 8*time.Hour, loc); !got.Equal(hoursAt(loc, 2026, 11, 2, 13, 0)) {
		t.Fatalf("fall back: due %v", got)
	}
	if got := h.NextOpen(hoursAt(loc, 2026, 10, 31, 20, 0), loc); !got.Equal(hoursAt(loc, 2026, 11, 2, 9, 0)) || got.Hour() != 9 {
		t.Fatalf("fall back NextOpen = %v", got)
	}

	// A clinic open all Sunday: the spring-forward Sunday has 23 hours and
	// the fall-back Sunday 25, both on the wall from 00:00 to 24:00.
	var allSunday Hours
	allSunday.Weekly[time.Sunday] = []Span{{"00:00", "24:00"}}
	if err := allSunday.Validate(); err != nil {
		t.Fatal(err)
	}
	spring := hoursAt(loc, 2026, 3, 8, 0, 0)
	if got := allSunday.AddBusiness(spring, 23*time.Hour, loc); !got.Equal(hoursAt(loc, 2026, 3, 9, 0, 0)) {
		t.Fatalf("23-hour Sunday: %v", got)
	}
	if got := allSunday.AddBusiness(spring, 24*time.Hour, loc); !got.Equal(hoursAt(loc, 2026, 3, 15, 1, 0)) {
		t.Fatalf("23-hour Sunday + 1h: %v", got)
	}
	fall := hoursAt(loc, 2026, 11, 1, 0, 0)
	if got := allSunday.AddBusiness(fall, 25*time.Hour, loc); !got.Equal(hoursAt(loc, 2026, 11, 2, 0, 0)) {
		t.Fatalf("25-hour Sunday: %v", got)
	}
}

func TestIsOpenBoundaries(t *testing.T) {
	loc := hoursNY(t)
	h := DefaultHours()
	mon := func(hh, mm int) time.Time { return hoursAt(loc, 2026, 11, 23, hh, mm) }
	checks := []struct {
		t    time.Time
		want bool
	}{
		{mon(8, 59), false},
		{mon(9, 0), true},
		{mon(9, 0).Add(-time.Nanosecond), false},
		{mon(12, 0), true},
		{mon(16, 59), true},
		{mon(17, 0).Add(-time.Nanosecond), true},
		{mon(17, 0), false},
		{hoursAt(loc, 2026, 11, 21, 12, 0), false}, // Saturday
		{hoursAt(loc, 2026, 11, 22, 12, 0), false}, // Sunday
	}
	for _, c := range checks {
		if got := h.IsOpen(c.t, loc); got != c.want {
			t.Errorf("IsOpen(%v) = %v, want %v", c.t, got, c.want)
		}
		// The same instant seen from another zone gives the same answer.
		if got := h.IsOpen(c.t.UTC(), loc); got != c.want {
			t.Errorf("IsOpen(%v UTC) = %v, want %v", c.t, got, c.want)
		}
	}
	if got := h.NextOpen(mon(10, 0), loc); !got.Equal(mon(10, 0)) {
		t.Errorf("NextOpen while open = %v", got)
	}
	if got := h.NextOpen(mon(17, 0), loc); !got.Equal(hoursAt(loc, 2026, 11, 24, 9, 0)) {
		t.Errorf("NextOpen at closing = %v", got)
	}
	if got := h.NextOpen(mon(17, 0).UTC(), loc); got.Location() != loc {
		t.Errorf("NextOpen not in the clinic's zone: %v", got.Location())
	}
}

func TestHoursMidnightClose(t *testing.T) {
	loc := hoursNY(t)
	var h Hours
	h.Weekly[time.Monday] = []Span{{"20:00", "24:00"}}
	h.Weekly[time.Tuesday] = []Span{{"00:00", "02:00"}, {"09:00", "10:00"}}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	mon := hoursAt(loc, 2026, 11, 23, 23, 0)
	if !h.IsOpen(mon, loc) || !h.IsOpen(hoursAt(loc, 2026, 11, 23, 23, 59), loc) || !h.IsOpen(hoursAt(loc, 2026, 11, 24, 0, 0), loc) {
		t.Fatal("24:00 close not open until midnight")
	}
	if got := h.AddBusiness(mon, 2*time.Hour, loc); !got.Equal(hoursAt(loc, 2026, 11, 24, 1, 0)) {
		t.Fatalf("across midnight: %v", got)
	}
	if got := h.AddBusiness(mon, 3*time.Hour, loc); !got.Equal(hoursAt(loc, 2026, 11, 24, 2, 0)) {
		t.Fatalf("to Tuesday's close: %v", got)
	}
	if got := h.AddBusiness(mon, 3*time.Hour+time.Minute, loc); !got.Equal(hoursAt(loc, 2026, 11, 24, 9, 1)) {
		t.Fatalf("past Tuesday's close: %v", got)
	}
	// DescribeOpen: open now, and the two touching periods are one opening.
	if got := h.DescribeOpen(mon, loc); !got.Equal(hoursAt(loc, 2026, 11, 24, 9, 0)) {
		t.Fatalf("DescribeOpen while open = %v", got)
	}
	closed := hoursAt(loc, 2026, 11, 24, 5, 0)
	if got, want := h.DescribeOpen(closed, loc), h.NextOpen(closed, loc); !got.Equal(want) || !want.Equal(hoursAt(loc, 2026, 11, 24, 9, 0)) {
		t.Fatalf("DescribeOpen while closed = %v, NextOpen = %v", got, want)
	}
}

func TestDescribeOpen(t *testing.T) {
	loc := hoursNY(t)
	h := DefaultHours()
	if got := h.DescribeOpen(hoursAt(loc, 2026, 11, 20, 18, 0), loc); !got.Equal(hoursAt(loc, 2026, 11, 23, 9, 0)) {
		t.Fatalf("Friday evening: %v", got)
	}
	if got := h.DescribeOpen(hoursAt(loc, 2026, 11, 23, 10, 0), loc); !got.Equal(hoursAt(loc, 2026, 11, 24, 9, 0)) {
		t.Fatalf("Monday while open: %v", got)
	}
}

func TestHoursNeverOpen(t *testing.T) {
	loc := hoursNY(t)
	var h Hours // closed every day
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	now := hoursAt(loc, 2026, 11, 23, 10, 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if h.IsOpen(now, loc) {
			t.Error("open with no hours")
		}
		if got := h.NextOpen(now, loc); !got.Equal(now) {
			t.Errorf("NextOpen = %v, want t", got)
		}
		if got := h.DescribeOpen(now, loc); !got.Equal(now) {
			t.Errorf("DescribeOpen = %v, want t", got)
		}
		if got := h.AddBusiness(now, 8*time.Hour, loc); !got.Equal(now.Add(8 * time.Hour)) {
			t.Errorf("AddBusiness = %v, want the ordinary clock", got)
		}
		if got := DueAt(h, loc, now, 8*time.Hour, false); got.Before(now) {
			t.Errorf("DueAt = %v", got)
		}
		// Open only on a day that is always a holiday is the same thing.
		h2 := DefaultHours()
		for d := 0; d < 450; d++ {
			h2.Holidays = append(h2.Holidays, now.AddDate(0, 0, d).Format("2006-01-02"))
		}
		if got := h2.AddBusiness(now, time.Hour, loc); got.Before(now) {
			t.Errorf("AddBusiness with a year of holidays = %v", got)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no-hours calculation did not finish")
	}
}

func TestHoursNilLocation(t *testing.T) {
	h := DefaultHours()
	mon := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if !h.IsOpen(mon, nil) {
		t.Fatal("nil location is not UTC")
	}
	if got := h.AddBusiness(mon, time.Hour, nil); !got.Equal(mon.Add(time.Hour)) || got.Location() != time.UTC {
		t.Fatalf("AddBusiness with nil location = %v", got)
	}
}

func TestHoursValidate(t *testing.T) {
	if err := DefaultHours().Validate(); err != nil {
		t.Fatalf("default hours: %v", err)
	}
	good := DefaultHours()
	good.Weekly[time.Saturday] = []Span{{"09:00", "12:00"}, {"12:00", "24:00"}}
	good.Holidays = []string{"2026-12-25", "2027-01-01"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good hours: %v", err)
	}
	bad := map[string]func(h *Hours){
		"letters":          func(h *Hours) { h.Weekly[1] = []Span{{"nine", "17:00"}} },
		"no leading zero":  func(h *Hours) { h.Weekly[1] = []Span{{"9:00", "17:00"}} },
		"hour 25":          func(h *Hours) { h.Weekly[1] = []Span{{"09:00", "25:00"}} },
		"minute 60":        func(h *Hours) { h.Weekly[1] = []Span{{"09:60", "17:00"}} },
		"open 24:00":       func(h *Hours) { h.Weekly[1] = []Span{{"24:00", "24:00"}} },
		"24:30":            func(h *Hours) { h.Weekly[1] = []Span{{"09:00", "24:30"}} },
		"empty":            func(h *Hours) { h.Weekly[1] = []Span{{"", ""}} },
		"close before":     func(h *Hours) { h.Weekly[1] = []Span{{"17:00", "09:00"}} },
		"close equal":      func(h *Hours) { h.Weekly[1] = []Span{{"09:00", "09:00"}} },
		"overlap":          func(h *Hours) { h.Weekly[1] = []Span{{"09:00", "13:00"}, {"12:00", "17:00"}} },
		"overlap reversed": func(h *Hours) { h.Weekly[1] = []Span{{"12:00", "17:00"}, {"09:00", "13:00"}} },
		"inside":           func(h *Hours) { h.Weekly[1] = []Span{{"09:00", "17:00"}, {"10:00", "11:00"}} },
		"duplicate":        func(h *Hours) { h.Weekly[1] = []Span{{"09:00", "17:00"}, {"09:00", "17:00"}} },
		"too many spans": func(h *Hours) {
			h.Weekly[1] = nil
			for i := 0; i < 9; i++ {
				h.Weekly[1] = append(h.Weekly[1], Span{time.Date(0, 1, 1, i, 0, 0, 0, time.UTC).Format("15:04"), time.Date(0, 1, 1, i, 30, 0, 0, time.UTC).Format("15:04")})
			}
		},
		"holiday words":  func(h *Hours) { h.Holidays = []string{"Christmas"} },
		"holiday US":     func(h *Hours) { h.Holidays = []string{"12/25/2026"} },
		"holiday feb 30": func(h *Hours) { h.Holidays = []string{"2026-02-30"} },
	}
	for name, mutate := range bad {
		h := DefaultHours()
		mutate(&h)
		err := h.Validate()
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "hours" || ie.Msg == "" {
			t.Errorf("%s: Validate = %v, want an InputError for hours", name, err)
		}
	}
}

func TestDueDefaultTargets(t *testing.T) {
	want := map[string]int{"message": 480, "refill": 960, "appointment": 480, "callback": 240, "billing": 960, "records": 960, "other": 480}
	got := DefaultTargets()
	if len(got) != len(want) {
		t.Fatalf("targets %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("target %s = %d, want %d", k, got[k], v)
		}
	}
	got["message"] = 1
	if DefaultTargets()["message"] != 480 {
		t.Fatal("DefaultTargets shares its map")
	}
}

// AddBusiness never goes backwards as d grows, never returns before start,
// and counts exactly d of open time.
func TestAddBusinessMonotonic(t *testing.T) {
	loc := hoursNY(t)
	lunch := DefaultHours()
	for d := time.Monday; d <= time.Friday; d++ {
		lunch.Weekly[d] = []Span{{"08:30", "12:00"}, {"13:00", "17:45"}}
	}
	lunch.Weekly[time.Saturday] = []Span{{"09:00", "13:00"}}
	lunch.Holidays = []string{"2026-03-09", "2026-11-26"}
	starts := []time.Time{
		hoursAt(loc, 2026, 3, 6, 16, 0), // Friday before spring-forward
		hoursAt(loc, 2026, 3, 8, 2, 30), // inside the gap
		hoursAt(loc, 2026, 10, 31, 11, 0),
		hoursAt(loc, 2026, 11, 1, 1, 30), // the repeated hour
		hoursAt(loc, 2026, 11, 25, 12, 30),
	}
	for _, h := range []Hours{DefaultHours(), lunch} {
		for _, start := range starts {
			prev := start
			for m := 0; m <= 3*24*60; m += 7 {
				d := time.Duration(m) * time.Minute
				got := h.AddBusiness(start, d, loc)
				if got.Before(prev) || got.Before(start) {
					t.Fatalf("start %v: AddBusiness(%v) = %v went back from %v", start, d, got, prev)
				}
				prev = got
			}
			// Spot-check the amount of open time on a few.
			for _, d := range []time.Duration{0, time.Hour, 9 * time.Hour, 30 * time.Hour} {
				got := h.AddBusiness(start, d, loc)
				if n := hoursOpenBetween(h, loc, start.Truncate(time.Minute), got); n != d {
					t.Errorf("start %v + %v: %v of open time up to %v", start, d, n, got)
				}
			}
		}
	}
}

func FuzzAddBusinessMonotonic(f *testing.F) {
	f.Add(int64(0), uint32(60), uint32(120), uint8(0))
	f.Add(int64(1_772_800_000), uint32(480), uint32(481), uint8(1))
	f.Add(int64(1_793_500_000), uint32(0), uint32(10_000), uint8(2))
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		testenv.Missing(f, fmt.Sprintf("no time zone data: %v", err), testenv.CI)
	}
	lunch := DefaultHours()
	for d := time.Monday; d <= time.Friday; d++ {
		lunch.Weekly[d] = []Span{{"09:00", "12:00"}, {"13:00", "17:00"}}
	}
	lunch.Holidays = []string{"2026-11-26"}
	var night Hours
	night.Weekly[time.Saturday] = []Span{{"00:00", "02:30"}, {"22:00", "24:00"}}
	night.Weekly[time.Sunday] = []Span{{"00:00", "03:00"}}
	hs := []Hours{DefaultHours(), lunch, night, {}}
	f.Fuzz(func(t *testing.T, sec int64, a, b uint32, which uint8) {
		start := time.Unix(1_760_000_000+sec%100_000_000, 0)
		d1 := time.Duration(a%50_000) * time.Minute
		d2 := time.Duration(b%50_000) * time.Minute
		if d1 > d2 {
			d1, d2 = d2, d1
		}
		h := hs[int(which)%len(hs)]
		due1 := h.AddBusiness(start, d1, loc)
		due2 := h.AddBusiness(start, d2, loc)
		if due2.Before(due1) || due1.Before(start) {
			t.Fatalf("start %v: d1 %v -> %v, d2 %v -> %v", start, d1, due1, d2, due2)
		}
	})
}

func BenchmarkDueAt(b *testing.B) {
	loc := hoursNY(b)
	h := DefaultHours()
	h.Holidays = []string{"2026-11-26", "2026-12-25"}
	created := hoursAt(loc, 2026, 11, 20, 18, 0)
	for b.Loop() {
		DueAt(h, loc, created, 16*time.Hour, false)
	}
}
