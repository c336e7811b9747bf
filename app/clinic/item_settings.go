package clinic

import (
	"strings"
	"time"
)

// WeeklyHours are the clinic's opening hours (the defaults until set).
func (s Settings) WeeklyHours() Hours { return s.hours() }

func (s Settings) hours() Hours {
	if s.Hours == nil {
		return DefaultHours()
	}
	return *s.Hours
}

// target is an item type's reply target in business time.
func (s Settings) target(typ string) time.Duration {
	if m, ok := s.Targets[typ]; ok && m > 0 {
		return time.Duration(m) * time.Minute
	}
	d := DefaultTargets()
	if m, ok := d[typ]; ok {
		return time.Duration(m) * time.Minute
	}
	return time.Duration(d["other"]) * time.Minute
}

// triage returns the urgent-word matcher for the current owner additions,
// rebuilding it only when they change.
func (c *Clinic) triage(s Settings) *Triage {
	key := strings.Join(s.UrgentWords, "\n")
	c.triageMu.Lock()
	defer c.triageMu.Unlock()
	if c.triageVal != nil && c.triageFor == key {
		return c.triageVal
	}
	t, err := LoadTriage(c.files, s.UrgentWords)
	if err != nil {
		c.log.Error("urgent-word lists failed to load; falling back to the built-in lists", "err", err)
		if t, err = LoadTriage(c.files, nil); err != nil {
			t = &Triage{}
		}
	}
	c.triageVal, c.triageFor = t, key
	return t
}
