package sms_test

import (
	"errors"
	"strings"
	"testing"

	"hearth/app/sms"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct {
		raw, region, want string
		mobile            bool
	}{
		{"(201) 555-0123", "US", "+12015550123", true}, // US numbers may be either: mobile
		{"+1 201 555 0123", "MX", "+12015550123", true},
		{"55 1234 5678", "MX", "+525512345678", true},
		{"612 34 56 78", "ES", "+34612345678", true},
		{"91 123 45 67", "ES", "+34911234567", false}, // Madrid landline
		{"+34 911 23 45 67", "us", "+34911234567", false},
		{"900 123 456", "ES", "+34900123456", false}, // toll-free
	} {
		got, mobile, err := sms.Normalize(c.raw, c.region)
		if err != nil || got != c.want || mobile != c.mobile {
			t.Errorf("Normalize(%q, %s) = %q %v %v, want %q %v", c.raw, c.region, got, mobile, err, c.want, c.mobile)
		}
	}
	for _, raw := range []string{"", "hello", "12", "555-0123", "+99 123456789", "(201) 555-01234567", strings.Repeat("9", 60), "612 34 56 78 99 11"} {
		got, _, err := sms.Normalize(raw, "ES")
		if !errors.Is(err, sms.ErrBadNumber) || got != "" {
			t.Errorf("Normalize(%q) = %q %v, want ErrBadNumber", raw, got, err)
		}
		if err != nil && strings.Contains(err.Error(), raw) && raw != "" {
			t.Errorf("the error repeats the input: %v", err)
		}
	}
	for e164, want := range map[string]string{"+34612345678": "ES", "+525512345678": "MX", "+12015550123": "US", "nonsense": ""} {
		if got := sms.NumberRegion(e164); got != want {
			t.Errorf("NumberRegion(%q) = %q, want %q", e164, got, want)
		}
	}
}

func TestSegments(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		n    int
		ucs2 bool
	}{
		{"empty", "", 0, false},
		{"160 GSM-7", strings.Repeat("a", 160), 1, false},
		{"161 GSM-7", strings.Repeat("a", 161), 2, false},
		{"306 GSM-7", strings.Repeat("a", 306), 2, false},
		{"307 GSM-7", strings.Repeat("a", 307), 3, false},
		{"GSM-7 accents ñ é ü ¿¡", "¿Señor Müller? ¡Qué bien, Ñoño! à ò è " + strings.Repeat("a", 100), 1, false},
		{"extension char counts twice", strings.Repeat("€", 80), 1, false},
		{"extension char over", strings.Repeat("€", 81), 2, false},
		{"Spanish í forces UCS-2", "Sí", 1, true},
		{"70 UCS-2", "á" + strings.Repeat("b", 69), 1, true},
		{"71 UCS-2", "á" + strings.Repeat("b", 70), 2, true},
		{"134 UCS-2", "ó" + strings.Repeat("b", 133), 2, true},
		{"135 UCS-2", "ó" + strings.Repeat("b", 134), 3, true},
		{"emoji is two units", strings.Repeat("😀", 35), 1, true},
		{"emoji over", strings.Repeat("😀", 36), 2, true},
		{"ten parts", strings.Repeat("a", 1530), 10, false},
		{"eleven parts", strings.Repeat("a", 1531), 11, false},
	} {
		n, ucs2 := sms.Segments(c.body)
		if n != c.n || ucs2 != c.ucs2 {
			t.Errorf("%s: Segments = %d %v, want %d %v", c.name, n, ucs2, c.n, c.ucs2)
		}
	}
}

// TestCodes: every code has its own plain words (the screens show the
// catalogue's, keyed by code; logs show these).
func TestCodes(t *testing.T) {
	seen := map[string]sms.Code{}
	codes := sms.Codes()
	if len(codes) < 17 {
		t.Fatalf("only %d codes", len(codes))
	}
	for _, c := range codes {
		w := c.Words()
		if w == "" || w == string(c) && c != sms.CodeReady {
			t.Errorf("code %q has no words", c)
		}
		if other, dup := seen[w]; dup {
			t.Errorf("codes %q and %q share the words %q", c, other, w)
		}
		seen[w] = c
	}
}
