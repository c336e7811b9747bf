// Package audit is Hearth's tamper-evident audit trail: an append-only list of
// events (who, what, when, from where), each carrying an HMAC over its own
// content and the previous event's MAC, keyed with the vault's audit key.
// Changing, removing or reordering an event breaks the chain, and Verify says
// where.
//
// Events hold ids and action names only, never PHI: no names, birth dates,
// phone numbers or message text. They are stored in the clear (they are
// useless without the records they point at, and the chain must be checkable
// by `hearth verify` cheaply). Free text that may carry PHI, such as a
// break-glass reason, belongs in a sealed record the event points at.
//
// While the vault is locked there is no audit key: Append then parks the event
// in a pending bucket, and Settle chains the pending events once the key is
// back. The package writes through a store.Tx so that an event commits in the
// same transaction as the change it records.
package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"hearth/app/store"
)

const (
	bucket        = "audit"
	pendingBucket = "audit_pending"
	headBucket    = "audit_head"
	seqName       = "audit"
	pendingSeq    = "audit_pending"
)

// Buckets lists the store buckets this package writes, for whole-store checks.
var Buckets = []string{bucket, pendingBucket, headBucket}

// The names this package keeps in the store, for the clinic's schema table
// (clinic.Schema). All hold plain JSON: ids, actions and MACs, no PHI.
const (
	EventsBucket  = bucket        // the chained events, keyed by sequence
	PendingBucket = pendingBucket // events written while locked, not yet chained
	HeadBucket    = headBucket    // the chain's last sequence and MAC
	EventsSeq     = seqName       // the chain's sequence counter
	PendingSeq    = pendingSeq    // the pending events' counter
)

// PatientIndex finds a patient's events without walking the whole trail.
const PatientIndex = "audit.by_patient"

// Severity of an event.
const (
	Info = "info"
	High = "high" // break-glass access, failed unlocks, integrity errors
)

// Event is one audit row. Actor is "staff:<id>", "patient:<id>",
// "contact:<id>" or "system". Object names what was touched ("item:<id>",
// "patient:<id>", "settings", "backup"...). Patient is the id of the patient
// whose data was read or changed, if any.
type Event struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Object   string    `json:"object,omitempty"`
	Patient  string    `json:"patient,omitempty"`
	Client   string    `json:"client,omitempty"`
	Severity string    `json:"severity,omitempty"`
	Outcome  string    `json:"outcome,omitempty"` // "", "denied", "failed"
	Prev     []byte    `json:"prev,omitempty"`
	MAC      []byte    `json:"mac,omitempty"`
}

// ErrChain reports a broken chain: an event changed, removed or reordered.
var ErrChain = errors.New("audit: chain broken")

// ChainError says where the chain breaks.
type ChainError struct {
	Seq    uint64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit: chain broken at event %d: %s", e.Seq, e.Reason)
}
func (e *ChainError) Unwrap() error { return ErrChain }

type head struct {
	Seq uint64 `json:"seq"`
	MAC []byte `json:"mac"`
}

func seqID(n uint64) string { return fmt.Sprintf("%016x", n) }

func mac(key []byte, e Event) []byte {
	e.MAC = nil
	b, _ := json.Marshal(e) // struct field order is fixed: the encoding is canonical
	h := hmac.New(sha256.New, key)
	h.Write(b)
	return h.Sum(nil)
}

// Append adds e to the chain inside tx and returns it with Seq, Prev and MAC
// set. With a nil key (vault locked) the event is parked as pending and
// returned with Seq 0; Settle chains it later.
func Append(tx store.Tx, key []byte, e Event) (Event, error) {
	if e.At.IsZero() {
		return e, errors.New("audit: event has no time")
	}
	e.At = e.At.UTC()
	if key == nil {
		n, err := tx.NextSeq(pendingSeq)
		if err != nil {
			return e, err
		}
		b, _ := json.Marshal(e)
		return e, tx.Put(pendingBucket, seqID(n), b)
	}
	var h head
	switch b, err := tx.Get(headBucket, "head"); {
	case err == nil:
		if err := json.Unmarshal(b, &h); err != nil {
			return e, fmt.Errorf("audit: read head: %w", err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return e, err
	}
	n, err := tx.NextSeq(seqName)
	if err != nil {
		return e, err
	}
	e.Seq = n
	e.Prev = h.MAC
	e.MAC = mac(key, e)
	b, _ := json.Marshal(e)
	if err := tx.Put(bucket, seqID(n), b); err != nil {
		return e, err
	}
	if e.Patient != "" {
		if err := tx.SetIndex(PatientIndex, []byte(e.Patient+"\x00"+seqID(n)), seqID(n)); err != nil {
			return e, err
		}
	}
	hb, _ := json.Marshal(head{Seq: n, MAC: e.MAC})
	return e, tx.Put(headBucket, "head", hb)
}

// Settle chains every pending event, oldest first. Call it once the key is
// available again (after an unlock).
func Settle(tx store.Tx, key []byte) (int, error) {
	var pend []Event
	var ids []string
	err := tx.Each(pendingBucket, "", func(id string, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("audit: pending event %s: %w", id, err)
		}
		pend = append(pend, e)
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i, e := range pend {
		if _, err := Append(tx, key, e); err != nil {
			return i, err
		}
		if err := tx.Delete(pendingBucket, ids[i]); err != nil {
			return i, err
		}
	}
	return len(pend), nil
}

// Verify walks the whole chain and returns the number of events checked, or
// a *ChainError at the first event that does not fit.
func Verify(tx store.Tx, key []byte) (int, error) {
	var prev []byte
	var want uint64 = 1
	n := 0
	err := tx.Each(bucket, "", func(id string, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return &ChainError{Seq: want, Reason: "unreadable event"}
		}
		if id != seqID(e.Seq) {
			return &ChainError{Seq: want, Reason: "event stored under another position"}
		}
		if e.Seq != want {
			return &ChainError{Seq: want, Reason: fmt.Sprintf("event missing (next is %d)", e.Seq)}
		}
		if !bytes.Equal(e.Prev, prev) {
			return &ChainError{Seq: e.Seq, Reason: "does not follow the event before it"}
		}
		if !hmac.Equal(e.MAC, mac(key, e)) {
			return &ChainError{Seq: e.Seq, Reason: "content changed"}
		}
		prev = e.MAC
		want++
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	var h head
	switch b, err := tx.Get(headBucket, "head"); {
	case err == nil:
		if err := json.Unmarshal(b, &h); err != nil {
			return n, &ChainError{Seq: want, Reason: "unreadable head"}
		}
	case errors.Is(err, store.ErrNotFound):
	default:
		return n, err
	}
	if h.Seq != want-1 || !bytes.Equal(h.MAC, prev) {
		return n, &ChainError{Seq: h.Seq, Reason: "the newest events are missing"}
	}
	return n, nil
}

// Filter selects events for List. Zero fields match everything.
type Filter struct {
	After   uint64
	Actor   string
	Action  string
	Patient string
	From    time.Time
	To      time.Time
	Limit   int
}

func (f Filter) match(e Event) bool {
	return (f.Actor == "" || e.Actor == f.Actor) &&
		(f.Action == "" || e.Action == f.Action) &&
		(f.Patient == "" || e.Patient == f.Patient) &&
		(f.From.IsZero() || !e.At.Before(f.From)) &&
		(f.To.IsZero() || e.At.Before(f.To))
}

// ForPatient returns the newest events about one patient, oldest first.
func ForPatient(tx store.Tx, patient string, limit int) ([]Event, error) {
	var out []Event
	err := tx.Scan(PatientIndex, store.Range{Prefix: []byte(patient + "\x00"), Reverse: true, Limit: limit}, func(_ []byte, id string) error {
		v, err := tx.Get(bucket, id)
		if err != nil {
			return err
		}
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// List returns chained events after f.After that match f, oldest first, at
// most f.Limit (default 500).
func List(tx store.Tx, f Filter) ([]Event, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	after := ""
	if f.After > 0 {
		after = seqID(f.After)
	}
	var out []Event
	err := tx.Each(bucket, after, func(_ string, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("audit: list: %w", err)
		}
		if f.match(e) {
			out = append(out, e)
			if len(out) >= f.Limit {
				return store.ErrStop
			}
		}
		return nil
	})
	return out, err
}

// ListNewest returns chained events before f.Before (0: from the newest)
// that match f, newest first, at most f.Limit (default 500). It walks
// backwards by sequence number, so the newest page costs only its own reads.
func ListNewest(tx store.Tx, f Filter, before uint64) ([]Event, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	var h head
	switch b, err := tx.Get(headBucket, "head"); {
	case err == nil:
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("audit: list: read head: %w", err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	seq := h.Seq
	if before > 0 && before-1 < seq {
		seq = before - 1
	}
	var out []Event
	for ; seq > 0 && len(out) < f.Limit; seq-- {
		v, err := tx.Get(bucket, seqID(seq))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		if f.match(e) {
			out = append(out, e)
		}
	}
	return out, nil
}
