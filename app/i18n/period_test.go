package i18n

import (
	"strings"
	"testing"
	"time"
)

// TestNoDoublePeriodAfterAmPm: every Spanish message that takes a
// placeholder, filled with times as the pages write them (a.m. and p.m.,
// today, tomorrow, later, until), never shows "..": a sentence that ends
// with "p. m." keeps one period.
func TestNoDoublePeriodAfterAmPm(t *testing.T) {
	c := embedded(t)
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) // a Monday
	tr := c.Tr("es", time.UTC, now)
	var values []string
	for _, tm := range []time.Time{
		now.Add(2 * time.Hour), now.Add(9 * time.Hour), // 10 a. m., 5 p. m. today
		now.Add(25 * time.Hour), now.Add(33 * time.Hour), // tomorrow
		now.Add(73 * time.Hour), now.Add(80 * time.Hour), // later this week
	} {
		values = append(values, tr.When(tm), tr.On(tm), tr.Stamp(tm), tr.Clock(tm.Hour(), tm.Minute()), tr.Until(tm.Hour(), tm.Minute()))
	}
	for _, v := range values[:2] {
		if !strings.HasSuffix(v, "m.") {
			t.Fatalf("the test's times do not end with a. m. / p. m.: %q", v)
		}
	}
	checked := 0
	for _, key := range c.Keys("es") {
		text, _ := c.Text("es", key)
		names := placeholders(text)
		if len(names) == 0 {
			continue
		}
		for _, v := range values {
			args := make([]any, 0, 2*len(names))
			for _, n := range names {
				args = append(args, n, v)
			}
			got := tr.T(key, args...)
			if strings.Contains(strings.ReplaceAll(got, "...", "…"), "..") {
				t.Errorf("%s with %q: %q", key, v, got)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no message with a placeholder")
	}
	// The sentence still ends with a period, and one in the middle stays.
	if got := tr.T("ack.closed", "time", tr.When(now.Add(9*time.Hour))); !strings.HasSuffix(got, "p.\u00a0m.") || strings.HasSuffix(got, "m..") {
		t.Errorf("ack.closed: %q", got)
	}
	if got := tr.T("k", "time", "5 p. m."); got != "k" {
		t.Errorf("a missing key: %q", got)
	}
	en := c.Tr("en", time.UTC, now)
	if got := en.T("ack.closed", "time", en.When(now.Add(9*time.Hour))); !strings.HasSuffix(got, "pm today.") {
		t.Errorf("English keeps its period: %q", got)
	}
}
