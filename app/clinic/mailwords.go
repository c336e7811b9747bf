package clinic

import (
	"errors"

	"hearth/app/i18n"
)

// What emails say lives in the message catalogue (app/i18n,
// embed/i18n/LANG.json, keys mail.*), in every language the patient pages
// speak; the code here only picks the patient's language and fills in the
// names and links.

// errNoWords: the clinic was opened without the embed/ folder
// (Deps.Files), so it has nothing to write emails with.
var errNoWords = errors.New("clinic: no message catalogue to write emails with (Deps.Files is unset)")

// Words is the message catalogue the clinic was opened with, shared with
// the patient pages; nil when Deps.Files was unset.
func (c *Clinic) Words() *i18n.Catalog { return c.words }

// mailTr speaks to a patient in their language (the catalogue's default
// when it has not got it), with dates in the clinic's time zone.
func (c *Clinic) mailTr(s Settings, lang string) (*i18n.Tr, error) {
	if c.words == nil {
		return nil, errNoWords
	}
	return c.words.Tr(lang, s.Location(), c.now()), nil
}
