package clinic

import "slices"

// TypeFields returns, per item type, the structured fields the type takes,
// in the order the patient's form asks for them and staff read them. The
// staff console gets it over the API rather than keeping its own copy. The
// answer is a copy: the caller may change it.
func TypeFields() map[string][]string {
	out := make(map[string][]string, len(typeFields))
	for t, f := range typeFields {
		out[t] = slices.Clone(f.all)
	}
	return out
}
