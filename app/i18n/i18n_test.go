package i18n

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func embedded(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load(os.DirFS("../../embed"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCataloguesHaveTheSameKeys: every language has exactly English's keys,
// so no text falls back to English by accident and none is left over.
func TestCataloguesHaveTheSameKeys(t *testing.T) {
	c := embedded(t)
	if !slices.Equal(c.Langs(), []string{"en", "es"}) {
		t.Fatalf("languages: %v", c.Langs())
	}
	en := c.Keys(Default)
	for _, l := range c.Langs()[1:] {
		if keys := c.Keys(l); !slices.Equal(keys, en) {
			for _, k := range en {
				if _, ok := c.Text(l, k); !ok {
					t.Errorf("%s.json lacks %q", l, k)
				}
			}
			for _, k := range keys {
				if _, ok := c.Text(Default, k); !ok {
					t.Errorf("%s.json has %q, which en.json does not", l, k)
				}
			}
		}
	}
}

// placeholders lists the {names} a text uses.
func placeholders(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// TestEmailsKeepTheirPlaceholders: a translated email carries the same
// names and links as the English one (a lost {unsubscribe} would take the
// opt-out link out of every email in that language).
func TestEmailsKeepTheirPlaceholders(t *testing.T) {
	c := embedded(t)
	for _, k := range c.Keys(Default) {
		if !strings.HasPrefix(k, "mail.") || strings.HasSuffix(k, ".when") {
			continue
		}
		want, _ := c.Text(Default, k)
		for _, l := range c.Langs() {
			if got, _ := c.Text(l, k); !slices.Equal(placeholders(got), placeholders(want)) {
				t.Errorf("%s %s uses %v, English uses %v", l, k, placeholders(got), placeholders(want))
			}
		}
	}
}

// TestKeysUsedInCodeExist: every key the Go code names outside the patient
// pages (whose keys app/web tests) is in the catalogue, including the ones
// built from weekdays, months and kinds of hour.
func TestKeysUsedInCodeExist(t *testing.T) {
	c := embedded(t)
	used := regexp.MustCompile(`\b(?:T|Format)\("([a-z0-9_.]+)"`)
	var files []string
	for _, dir := range []string{".", "../clinic"} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			k := m[1]
			if strings.HasSuffix(k, ".") { // a prefix; the built keys are checked below
				continue
			}
			n++
			if _, ok := c.Text(Default, k); !ok {
				t.Errorf("%s uses %q, which en.json lacks", f, k)
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d keys in the code: the pattern no longer matches it", n)
	}
	var built []string
	for d := time.Sunday; d <= time.Saturday; d++ {
		built = append(built, "time.weekday."+strings.ToLower(d.String()))
	}
	for m := time.January; m <= time.December; m++ {
		built = append(built, "time.month."+strings.ToLower(m.String()))
	}
	for _, kind := range []string{"other", "one", "noon", "midnight"} {
		built = append(built, "time.at."+kind, "time.until."+kind)
	}
	for _, k := range built {
		if _, ok := c.Text(Default, k); !ok {
			t.Errorf("en.json lacks %q", k)
		}
	}
}

func TestHourKinds(t *testing.T) {
	for _, c := range []struct {
		h, m int
		want string
	}{{0, 0, "midnight"}, {24, 0, "midnight"}, {12, 0, "noon"}, {0, 30, "other"}, {12, 30, "other"},
		{1, 0, "one"}, {13, 59, "one"}, {5, 0, "other"}, {23, 59, "other"}} {
		if got := hourKind(c.h, c.m); got != c.want {
			t.Errorf("%d:%02d is %q, want %q", c.h, c.m, got, c.want)
		}
	}
}

// TestANewLanguageIsAFile: a third catalogue is picked up as it is, speaks
// its own dates, and falls back to English for a key it lacks.
func TestANewLanguageIsAFile(t *testing.T) {
	files := fstest.MapFS{
		"i18n/en.json":     {Data: []byte(`{"hello": "Hello {name}", "time.weekday.monday": "Monday"}`)},
		"i18n/fr.json":     {Data: []byte(`{"time.weekday.monday": "lundi"}`)},
		"i18n/README.json": {Data: []byte(`not a language`)},
	}
	c, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Langs(), []string{"en", "fr"}) || c.FromAcceptLanguage("fr-CA, en;q=0.5") != "fr" {
		t.Fatalf("languages: %v", c.Langs())
	}
	fr := c.Tr("fr", nil, time.Now())
	if fr.Weekday(time.Monday) != "lundi" || fr.T("hello", "name", "Ana") != "Hello Ana" || fr.T("nope") != "nope" {
		t.Fatalf("fr: %q %q %q", fr.Weekday(time.Monday), fr.T("hello", "name", "Ana"), fr.T("nope"))
	}
	if c.Tr("de", nil, time.Now()).Lang() != Default {
		t.Fatal("an unknown language is not spoken as the default")
	}
	if _, err := Load(fstest.MapFS{"i18n/es.json": {Data: []byte(`{}`)}}); err == nil {
		t.Fatal("a catalogue without English loaded")
	}
	if _, err := Load(fstest.MapFS{"i18n/en.json": {Data: []byte(`{"a": 1}`)}}); err == nil {
		t.Fatal("a catalogue that does not parse loaded")
	}
}

// TestImportsNothingOfHearth: every layer uses this package (pages and
// emails), so it may use none of them.
func TestImportsNothingOfHearth(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.HasPrefix(imp.Path.Value, `"hearth/`) {
				t.Errorf("%s imports %s", name, imp.Path.Value)
			}
		}
	}
}
