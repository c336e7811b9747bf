package clinic

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Urgent wording.
//
// Patients sometimes write things that are emergencies. Triage spots text
// that reads like one, in English or Spanish, so the page can show emergency
// guidance at once and staff get an urgent alert; the message is still
// delivered. It errs towards alerting: "I have no chest pain" still matches
// "chest pain", because a wrong alert costs a glance and a missed one can
// cost a life. It is no substitute for a person reading the message.

// TriageCategories are the kinds of emergency the built-in lists know.
var TriageCategories = []string{
	"allergic_reaction", "bleeding", "breathing", "chest_pain", "overdose",
	"pregnancy_emergency", "seizure", "severe_pain", "stroke", "suicide", "unconscious",
}

// SelfHarm reports whether an item's urgent wording reads as self-harm
// (the "suicide" category), where the crisis line is shown beside the
// emergency number.
func (it Item) SelfHarm() bool { return slices.Contains(it.Urgent, "suicide") }

// TriageCustom is the category of an owner's extra phrase written without a
// category.
const TriageCustom = "custom"

// maxTriagePhrase bounds an owner's extra phrase, in bytes.
const maxTriagePhrase = 200

// Triage finds urgent wording. It is immutable once loaded, so it is safe for
// concurrent use; the zero value matches nothing.
type Triage struct {
	phrases []triagePhrase
	byFirst map[string][]int // first word of a phrase -> indexes into phrases
}

type triagePhrase struct {
	text string   // normalised, with a space at each end: " chest pain "
	cats []string // sorted
}

// LoadTriage reads every triage/*.txt in files (an fs.FS rooted at the embed
// folder), plus the owner's extra phrases (any language).
//
// Each line of a file is "category: phrase", where category is one of
// TriageCategories; '#' starts a comment line and blank lines are ignored. A
// malformed line is an error naming the file and line number.
//
// An extra phrase is either "category: phrase" with a known category, or a
// plain phrase (no colon), which matches under the category "custom". An
// extra that cannot be used is an InputError for the field "urgent_words".
func LoadTriage(files fs.FS, extra []string) (*Triage, error) {
	names, err := fs.Glob(files, "triage/*.txt")
	if err != nil {
		return nil, fmt.Errorf("triage: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("triage: no word lists found (triage/*.txt)")
	}
	slices.Sort(names)
	byText := map[string]map[string]bool{}
	add := func(cat, text string) {
		if byText[text] == nil {
			byText[text] = map[string]bool{}
		}
		byText[text][cat] = true
	}
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("triage: %w", err)
		}
		if err := parseTriageFile(path.Base(name), b, add); err != nil {
			return nil, err
		}
	}
	for i, line := range extra {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) > maxTriagePhrase {
			return nil, inputErr("urgent_words", fmt.Sprintf("Urgent phrase %d is too long; keep each one under %d characters.", i+1, maxTriagePhrase))
		}
		cat, phrase := TriageCustom, line
		if c, p, ok := strings.Cut(line, ":"); ok {
			c = strings.TrimSpace(c)
			if !slices.Contains(TriageCategories, c) {
				return nil, inputErr("urgent_words", fmt.Sprintf("Urgent phrase %d starts with an unknown category. Write \"category: phrase\" with one of %s, or just the phrase without a colon.", i+1, strings.Join(TriageCategories, ", ")))
			}
			cat, phrase = c, p
		}
		text := foldText(phrase)
		if strings.TrimSpace(text) == "" {
			return nil, inputErr("urgent_words", fmt.Sprintf("Urgent phrase %d has no words in it.", i+1))
		}
		add(cat, text)
	}
	t := &Triage{phrases: make([]triagePhrase, 0, len(byText)), byFirst: map[string][]int{}}
	for text, cats := range byText {
		p := triagePhrase{text: text}
		for c := range cats {
			p.cats = append(p.cats, c)
		}
		slices.Sort(p.cats)
		t.phrases = append(t.phrases, p)
	}
	// A fixed order (longer phrases first, then alphabetical) so that runs
	// are repeatable; the result does not depend on it.
	slices.SortFunc(t.phrases, func(a, b triagePhrase) int {
		if len(a.text) != len(b.text) {
			return len(b.text) - len(a.text)
		}
		return strings.Compare(a.text, b.text)
	})
	for i, p := range t.phrases {
		first, _, _ := strings.Cut(p.text[1:], " ")
		t.byFirst[first] = append(t.byFirst[first], i)
	}
	return t, nil
}

func parseTriageFile(name string, b []byte, add func(cat, text string)) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return fmt.Errorf("triage: %s line %d: not valid UTF-8", name, n)
		}
		cat, phrase, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("triage: %s line %d: want \"category: phrase\"", name, n)
		}
		cat = strings.TrimSpace(cat)
		if !slices.Contains(TriageCategories, cat) {
			return fmt.Errorf("triage: %s line %d: unknown category %q", name, n, cat)
		}
		text := foldText(phrase)
		if strings.TrimSpace(text) == "" {
			return fmt.Errorf("triage: %s line %d: empty phrase", name, n)
		}
		add(cat, text)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("triage: %s: %w", name, err)
	}
	return nil
}

// Match reports whether text reads as urgent, and the categories it matched
// (sorted, unique; nil when none).
//
// Matching ignores case and accents, treats punctuation as spaces, drops
// apostrophes (so can't, can’t and cant are alike) and matches whole words:
// a phrase matches only as consecutive whole words of the text, so "pain"
// does not match "painting".
func (t *Triage) Match(text string) (bool, []string) {
	if t == nil || len(t.phrases) == 0 || text == "" {
		return false, nil
	}
	// The folded text is " word word ... word ". Each word is looked up
	// among the phrases' first words, and only those phrases are compared,
	// so the cost grows with the text, not with the number of phrases.
	s := foldText(text)
	var cats []string
	for i := 1; i < len(s); {
		j := strings.IndexByte(s[i:], ' ')
		if j < 0 {
			break
		}
		for _, k := range t.byFirst[s[i:i+j]] {
			p := &t.phrases[k]
			if strings.HasPrefix(s[i-1:], p.text) {
				for _, c := range p.cats {
					if !slices.Contains(cats, c) {
						cats = append(cats, c)
					}
				}
			}
		}
		i += j + 1
	}
	if len(cats) == 0 {
		return false, nil
	}
	slices.Sort(cats)
	return true, cats
}

// foldText normalises text for matching: compatibility-decomposed with the
// accents dropped, lower case, apostrophes removed, every other run of
// characters that are not letters or digits turned into one space, and a
// space at each end, so that " word " finds whole words only.
func foldText(s string) string {
	if !isASCII(s) {
		// Apostrophes go before decomposing: NFKD turns the acute accent
		// used as one (can´t) into a space and a combining mark.
		s = norm.NFKD.String(strings.Map(func(r rune) rune {
			if isApostrophe(r) {
				return -1
			}
			return r
		}, s))
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(' ')
	space := true
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			switch {
			case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
				b.WriteByte(byte(r))
				space = false
			case 'A' <= r && r <= 'Z':
				b.WriteByte(byte(r) + 'a' - 'A')
				space = false
			case r == '\'' || r == '`':
				// dropped: can't -> cant
			default:
				if !space {
					b.WriteByte(' ')
					space = true
				}
			}
		case isApostrophe(r) || unicode.Is(unicode.Mn, r):
			// dropped: accents after decomposition, and curly apostrophes
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}

func isApostrophe(r rune) bool {
	switch r {
	case '\u2018', '\u2019', '\u201B', '\u02BC', '\u02B9', '\u00B4', '\u2032', '\uFF07':
		return true
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Phrases returns every phrase in its matching form (folded, with a space
// at each end), for the patient page's warning while typing. They are the
// clinic's word lists, not PHI.
func (t *Triage) Phrases() []string {
	if t == nil {
		return nil
	}
	out := make([]string, 0, len(t.phrases))
	for _, p := range t.phrases {
		out = append(out, p.text)
	}
	return out
}

// PhrasesOf returns the phrases of one category in their matching form,
// like Phrases.
func (t *Triage) PhrasesOf(cat string) []string {
	if t == nil {
		return nil
	}
	var out []string
	for _, p := range t.phrases {
		if slices.Contains(p.cats, cat) {
			out = append(out, p.text)
		}
	}
	return out
}

// SelfHarmPhrases are the phrases in force that read as self-harm, for the
// crisis line in the warning patients see while they type.
func (c *Clinic) SelfHarmPhrases(ctx context.Context) []string {
	s, err := c.Settings(ctx)
	if err != nil {
		return nil
	}
	return c.triage(s).PhrasesOf("suicide")
}

// UrgentPhrases are the urgent-word lists now in force (built-in and the
// owner's), for the warning patients see while they type.
func (c *Clinic) UrgentPhrases(ctx context.Context) []string {
	s, err := c.Settings(ctx)
	if err != nil {
		return nil
	}
	return c.triage(s).Phrases()
}
