package i18n

import (
	"testing"
	"testing/fstest"
	"time"
)

// TestTFillsPlaceholders: T fills {name} from name, value pairs in one pass
// over the text, with the rules the catalogues rely on.
func TestTFillsPlaceholders(t *testing.T) {
	c, err := Load(fstest.MapFS{"i18n/en.json": {Data: []byte(`{
		"plain": "No placeholders.",
		"one": "Hello {name}",
		"two": "{a} and {b}, then {a} again",
		"end": "We open {time}.",
		"mid": "At {time}. Then {time}, and {time}",
		"brace": "a { b } {not closed {name}{name}}",
		"empty": "{}x",
		"dots": "Ends {time}..."
	}`)}})
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Tr("en", time.UTC, time.Now())
	cases := []struct {
		key  string
		args []any
		want string
	}{
		{"plain", []any{"name", "Ana"}, "No placeholders."},
		{"one", nil, "Hello {name}"},
		{"one", []any{"name"}, "Hello {name}"}, // a name without a value fills nothing
		{"one", []any{"name", "Ana"}, "Hello Ana"},
		{"one", []any{"other", "x"}, "Hello {name}"},                    // unknown placeholders stay as written
		{"one", []any{"name", "Ana", "name", "Bea"}, "Hello Ana"},       // the first pair that names it wins
		{"one", []any{"name", 42}, "Hello 42"},                          // values are written as fmt.Sprint does
		{"one", []any{"name", 2.5}, "Hello 2.5"},                        //
		{"one", []any{"name", "{name}"}, "Hello {name}"},                // values are not scanned again
		{"two", []any{"b", "{a}", "a", "A"}, "A and {a}, then A again"}, //
		{"end", []any{"time", "5 p. m."}, "We open 5 p. m."},            // a value ending in "." takes the sentence's period
		{"end", []any{"time", "5 pm"}, "We open 5 pm."},                 // other values keep it
		{"mid", []any{"time", "9 a. m."}, "At 9 a. m. Then 9 a. m., and 9 a. m."},
		{"dots", []any{"time", "p. m."}, "Ends p. m..."}, // only one period is taken
		{"end", []any{"time", "x", "time", "y."}, "We open x."},
		{"brace", []any{"name", "N"}, "a { b } {not closed NN}"},
		{"empty", []any{"", "E"}, "Ex"},
		{"missing", []any{"name", "Ana"}, "missing"}, // a missing key shows as itself
	}
	for _, c := range cases {
		if got := tr.T(c.key, c.args...); got != c.want {
			t.Errorf("T(%q, %v) = %q, want %q", c.key, c.args, got, c.want)
		}
	}
}
