// Package i18n is what Hearth says to patients, in every language it
// speaks: the message catalogues in embed/i18n/LANG.json, one flat object
// of key → text per language, loaded once and shared by the patient pages
// (app/web) and the emails (app/clinic).
//
// Adding a language is adding a file. English is the reference every other
// file must match key for key (a test holds that), and a key missing from a
// language falls back to English rather than showing a raw key to a patient.
//
// Texts carry named placeholders, {clinic} or {time}, filled by T. They
// never carry markup: links and emphasis are in the templates, so a
// translation cannot break a page or open a hole in it.
//
// How a language writes dates and times is catalogue data too, not code
// (see Tr): the names of weekdays and months, the order of a date's parts,
// am and pm, and the small words that change with the hour (Spanish says
// "a la 1" but "a las 5", "a mediodía" but "hasta el mediodía").
//
// This package imports nothing of Hearth's, so every layer may use it.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Default is the reference language, and the one spoken when a request
// names none the catalogue has.
const Default = "en"

// Catalog is every language's texts.
type Catalog struct {
	langs []string                     // Default first, then the others sorted
	msgs  map[string]map[string]string // lang → key → text
}

// Load reads i18n/*.json from files (the embed/ folder). It fails when
// English is missing or a file does not parse, so a broken build is caught
// at start.
func Load(files fs.FS) (*Catalog, error) {
	if files == nil {
		return nil, fmt.Errorf("i18n: no files to read the translations from")
	}
	names, err := fs.Glob(files, "i18n/*.json")
	if err != nil {
		return nil, err
	}
	c := &Catalog{msgs: map[string]map[string]string{}}
	for _, n := range names {
		lang := strings.TrimSuffix(path.Base(n), ".json")
		if !ValidTag(lang) {
			continue
		}
		b, err := fs.ReadFile(files, n)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("i18n: translations %s: %w", n, err)
		}
		c.msgs[lang] = m
		if lang != Default {
			c.langs = append(c.langs, lang)
		}
	}
	if c.msgs[Default] == nil {
		return nil, fmt.Errorf("i18n: embedded translations i18n/%s.json are missing", Default)
	}
	slices.Sort(c.langs)
	c.langs = append([]string{Default}, c.langs...)
	return c, nil
}

// ValidTag accepts the two- or three-letter language codes catalogue files
// and cookies are named with.
func ValidTag(s string) bool {
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

// Langs lists the languages, Default first.
func (c *Catalog) Langs() []string { return slices.Clone(c.langs) }

// Has reports whether lang has a catalogue.
func (c *Catalog) Has(lang string) bool { _, ok := c.msgs[lang]; return ok }

// Text is lang's own text for key, with no fallback and no placeholders
// filled (tests and the language menu use it).
func (c *Catalog) Text(lang, key string) (string, bool) {
	s, ok := c.msgs[lang][key]
	return s, ok
}

// Keys lists lang's keys, sorted.
func (c *Catalog) Keys(lang string) []string {
	keys := make([]string, 0, len(c.msgs[lang]))
	for k := range c.msgs[lang] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// FromAcceptLanguage picks the best language a browser asks for, by its
// q-values, or "".
func (c *Catalog) FromAcceptLanguage(h string) string {
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
		if q > bestQ && c.Has(base) {
			best, bestQ = base, q
		}
	}
	return best
}
