package store

import (
	"encoding/binary"
	"fmt"
)

// ImportEntries is the one Import of every backend (Copier), run inside the
// backend's write transaction tx: records go in with Put and index entries
// with SetIndex, replacing what is there; counters are checked (a valid
// name, an 8-byte big-endian value) and handed to raise, once, each at its
// highest value among entries. raise must never move a counter backwards,
// so importing the same entries twice changes nothing the second time. It
// is not called when entries hold no counter.
func ImportEntries(tx Tx, entries []Entry, raise func(counters map[string]uint64) error) error {
	counters := map[string]uint64{}
	for _, e := range entries {
		var err error
		switch e.Kind {
		case KindRecord:
			err = tx.Put(e.Name, string(e.Key), e.Value)
		case KindIndex:
			err = tx.SetIndex(e.Name, e.Key, string(e.Value))
		case KindSeq:
			switch {
			case !ValidName(e.Name):
				err = fmt.Errorf("store: import counter %q: %w", e.Name, ErrBadName)
			case len(e.Value) != 8:
				err = fmt.Errorf("store: import counter %s: value is %d bytes, want 8", e.Name, len(e.Value))
			default:
				counters[e.Name] = max(counters[e.Name], binary.BigEndian.Uint64(e.Value))
			}
		default:
			err = fmt.Errorf("store: import: unknown entry kind %d", e.Kind)
		}
		if err != nil {
			return err
		}
	}
	if len(counters) == 0 {
		return nil
	}
	return raise(counters)
}
