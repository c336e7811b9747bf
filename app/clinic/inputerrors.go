package clinic

import "errors"

// InputErrors is several validation failures found at once, one per field
// at most, in the order the fields are checked, so a form can show every
// problem beside its field after one submit. errors.As finds its first
// *InputError, so a caller that words one problem (the staff JSON API's
// "field") keeps answering the first field.
type InputErrors []*InputError

// Error is the first problem's message.
func (es InputErrors) Error() string {
	if len(es) == 0 {
		return "invalid input"
	}
	return es[0].Msg
}

// As lets errors.As find the first problem as an *InputError.
func (es InputErrors) As(target any) bool {
	p, ok := target.(**InputError)
	if !ok || len(es) == 0 {
		return false
	}
	*p = es[0]
	return true
}

// AllInputErrors lists every validation failure in err: several for an
// InputErrors, one for an *InputError, none for any other error.
func AllInputErrors(err error) []*InputError {
	var es InputErrors
	if errors.As(err, &es) {
		return es
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return []*InputError{ie}
	}
	return nil
}

// add keeps the validation failures in err (a field already reported keeps
// its first problem) and returns err when it is another kind of error.
func (es *InputErrors) add(err error) error {
	if err == nil {
		return nil
	}
	all := AllInputErrors(err)
	if all == nil {
		return err
	}
	for _, ie := range all {
		if !es.has(ie.Field) {
			*es = append(*es, ie)
		}
	}
	return nil
}

// has reports whether field already has a problem.
func (es InputErrors) has(field string) bool {
	for _, e := range es {
		if e.Field == field {
			return true
		}
	}
	return false
}

// err is nil for no problem, the *InputError itself for one, and the
// InputErrors for several.
func (es InputErrors) err() error {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return es
}
