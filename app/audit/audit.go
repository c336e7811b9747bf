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
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
// whose data was read or changed, if any. Patients lists the patients a list
// view showed (one event per page shown, "item.list" and the like): each of
// them is in the patient index, so every patient's trail finds the event.
// An event from before Patients existed encodes exactly as it did (the field
// is left out when empty), so its MAC still matches.
type Event struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Object   string    `json:"object,omitempty"`
	Patient  string    `json:"patient,omitempty"`
	Patients []string  `json:"patients,omitempty"`
	Client   string    `json:"client,omitempty"`
	Severity string    `json:"severity,omitempty"`
	Outcome  string    `json:"outcome,omitempty"` // "", "denied", "failed"
	Prev     []byte    `json:"prev,omitempty"`
	MAC      []byte    `json:"mac,omitempty"`
}

// Touches reports whether the event is about patient: its Patient, or one
// of the patients a list view showed.
func (e Event) Touches(patient string) bool {
	if patient == "" {
		return false
	}
	if e.Patient == patient {
		return true
	}
	for _, p := range e.Patients {
		if p == patient {
			return true
		}
	}
	return false
}

// PatientIDs is every patient the event is about, each once: Patient first,
// then the listed ones.
func (e Event) PatientIDs() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range append([]string{e.Patient}, e.Patients...) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
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

// head is the chain's newest position. Auth is an HMAC with the audit key
// over a domain-separated encoding of Seq and MAC (headAuth), so cutting the
// newest events and rewinding the head needs the key. Legacy marks a head
// written before heads carried Auth (schema 3): it is accepted until the key
// is next available, when SealLegacyHead authenticates it.
type head struct {
	Seq    uint64 `json:"seq"`
	MAC    []byte `json:"mac"`
	Auth   []byte `json:"auth,omitempty"`
	Legacy bool   `json:"legacy,omitempty"`
}

// headDomain separates the head's MAC from event MACs made with the same key.
const headDomain = "hearth audit head v1\x00"

func headAuth(key []byte, seq uint64, eventMAC []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(headDomain))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], seq)
	h.Write(n[:])
	h.Write(eventMAC)
	return h.Sum(nil)
}

func readHead(tx store.Tx) (head, bool, error) {
	var h head
	b, err := tx.Get(headBucket, "head")
	if errors.Is(err, store.ErrNotFound) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, true, &ChainError{Seq: 0, Reason: "unreadable head"}
	}
	return h, true, nil
}

func writeHead(tx store.Tx, key []byte, seq uint64, eventMAC []byte) error {
	hb, _ := json.Marshal(head{Seq: seq, MAC: eventMAC, Auth: headAuth(key, seq, eventMAC)})
	return tx.Put(headBucket, "head", hb)
}

// ActionIntegrity is the action of the high-severity event Hearth appends
// when it finds the chain's head does not carry the audit key's MAC (the
// newest events were cut off, or the head was rewritten). It stays in the
// chain, so the finding cannot be removed without breaking the chain.
const ActionIntegrity = "audit.integrity"

// ActionHeadSealed is the event appended when a head from before heads
// carried a MAC is authenticated (the one-time upgrade).
const ActionHeadSealed = "audit.head_sealed"

// ErrHeadUnsealed means the head carries no MAC of its own: a database from
// before heads were authenticated (not yet upgraded), or a head stripped of
// its MAC. Callers that know the database is not yet upgraded accept it.
var ErrHeadUnsealed = errors.New("audit: the chain's head carries no MAC")

// Head is the chain's newest position as the owner writes it down and a
// backup records it: the sequence number of the newest event and that
// event's MAC.
type Head struct {
	Seq uint64 `json:"seq"`
	MAC []byte `json:"mac,omitempty"`
}

// Fingerprint is the first 8 bytes of the MAC as hex in groups of four
// ("1a2b-3c4d-5e6f-7a8b"): short enough to write down, long enough that
// nobody can make another event match it.
func (h Head) Fingerprint() string {
	if len(h.MAC) < 8 {
		return ""
	}
	x := hex.EncodeToString(h.MAC[:8])
	return x[0:4] + "-" + x[4:8] + "-" + x[8:12] + "-" + x[12:16]
}

// MatchesFingerprint reports whether mac begins with fp, a Fingerprint or a
// longer hex prefix (dashes, spaces and case ignored). At least 8 hex
// digits are needed.
func MatchesFingerprint(mac []byte, fp string) bool {
	fp = strings.ToLower(strings.NewReplacer("-", "", " ", "", ":", "").Replace(fp))
	if len(fp) < 8 {
		return false
	}
	return strings.HasPrefix(hex.EncodeToString(mac), fp)
}

// CurrentHead reads the chain's head (zero when the chain is empty).
func CurrentHead(tx store.Tx) (Head, error) {
	h, _, err := readHead(tx)
	return Head{Seq: h.Seq, MAC: h.MAC}, err
}

// CheckHead reports whether the head is authenticated with key and names
// the newest event: nil when it is (or when nothing was ever chained), a
// *ChainError when it is not. A head still marked legacy (SealLegacyHead
// has not run yet) gives ErrHeadUnsealed.
func CheckHead(tx store.Tx, key []byte) error {
	h, ok, err := readHead(tx)
	if err != nil || !ok {
		return err
	}
	if len(h.Auth) == 0 {
		if h.Legacy {
			return ErrHeadUnsealed
		}
		return &ChainError{Seq: h.Seq, Reason: "the head carries no MAC: the newest events may have been cut off"}
	}
	if !hmac.Equal(h.Auth, headAuth(key, h.Seq, h.MAC)) {
		return &ChainError{Seq: h.Seq, Reason: "the head's MAC does not match: the newest events may have been cut off and the head rewound"}
	}
	v, err := tx.Get(bucket, seqID(h.Seq))
	if errors.Is(err, store.ErrNotFound) {
		return &ChainError{Seq: h.Seq, Reason: "the event the head names is missing"}
	}
	if err != nil {
		return err
	}
	var e Event
	if json.Unmarshal(v, &e) != nil || !hmac.Equal(e.MAC, h.MAC) {
		return &ChainError{Seq: h.Seq, Reason: "the event the head names is not the one it was"}
	}
	return nil
}

// MarkLegacyHead marks a head written before heads carried a MAC, so that
// it is accepted until the key is available (the schema 3 to 4 upgrade,
// which runs without the key while Hearth is locked).
func MarkLegacyHead(tx store.Tx) error {
	h, ok, err := readHead(tx)
	if err != nil || !ok || len(h.Auth) > 0 || h.Legacy {
		return err
	}
	h.Legacy = true
	hb, _ := json.Marshal(h)
	return tx.Put(headBucket, "head", hb)
}

// SealLegacyHead authenticates a head marked by MarkLegacyHead with key and
// records the upgrade as an event. It reports whether there was one. The
// mark is plain, so anyone could set it on a head they rewound: a chain
// that already records the upgrade (ActionHeadSealed) gets a *ChainError
// instead, and the head stays unsealed.
func SealLegacyHead(tx store.Tx, key []byte, at time.Time) (bool, error) {
	h, ok, err := readHead(tx)
	if err != nil || !ok || !h.Legacy || len(h.Auth) > 0 {
		return false, err
	}
	upgraded, err := hasAction(tx, ActionHeadSealed)
	if err != nil {
		return false, err
	}
	if upgraded {
		return false, &ChainError{Seq: h.Seq, Reason: "the head is marked as from before heads carried a MAC, but the trail was upgraded already: the newest events may have been cut off"}
	}
	if err := writeHead(tx, key, h.Seq, h.MAC); err != nil {
		return false, err
	}
	_, err = Append(tx, key, Event{At: at, Actor: "system", Action: ActionHeadSealed, Object: "audit:head"})
	return err == nil, err
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
	h, _, err := readHead(tx)
	if err != nil {
		return e, fmt.Errorf("audit: read head: %w", err)
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
	for _, p := range e.PatientIDs() {
		if err := tx.SetIndex(PatientIndex, []byte(p+"\x00"+seqID(n)), seqID(n)); err != nil {
			return e, err
		}
	}
	return e, writeHead(tx, key, n, e.MAC)
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
// a *ChainError at the first event that does not fit (ErrHeadUnsealed when
// only the head's own MAC is missing).
func Verify(tx store.Tx, key []byte) (int, error) {
	r := Check(tx, key)
	return r.Events, r.Err
}

// Result is what Check found.
type Result struct {
	Events   int     // events checked
	Head     Head    // the head as stored
	Legacy   bool    // the head is from before heads carried a MAC
	Findings []Event // earlier integrity findings recorded in the chain (ActionIntegrity)
	Upgraded bool    // the chain records the one-time head upgrade (ActionHeadSealed)
	Err      error   // the first break: a *ChainError, ErrHeadUnsealed, or a store error
}

// Check walks the whole chain: every event follows the one before it and
// carries its MAC, the head names the newest event and carries the audit
// key's MAC over it, and it collects the integrity findings Hearth
// recorded earlier.
func Check(tx store.Tx, key []byte) Result {
	var r Result
	var prev []byte
	var want uint64 = 1
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
		switch e.Action {
		case ActionIntegrity:
			r.Findings = append(r.Findings, e)
		case ActionHeadSealed:
			r.Upgraded = true
		}
		prev = e.MAC
		want++
		r.Events++
		return nil
	})
	if err != nil {
		r.Err = err
		return r
	}
	h, ok, err := readHead(tx)
	if err != nil {
		r.Err = err
		return r
	}
	r.Head, r.Legacy = Head{Seq: h.Seq, MAC: h.MAC}, h.Legacy
	if h.Seq != want-1 || !bytes.Equal(h.MAC, prev) {
		r.Err = &ChainError{Seq: h.Seq, Reason: "the newest events are missing"}
		return r
	}
	if !ok {
		return r
	}
	if len(h.Auth) == 0 {
		r.Err = ErrHeadUnsealed
		return r
	}
	if !hmac.Equal(h.Auth, headAuth(key, h.Seq, h.MAC)) {
		r.Err = &ChainError{Seq: h.Seq, Reason: "the head's MAC does not match: the newest events may have been cut off and the head rewound"}
	}
	return r
}

// hasAction reports whether any chained event has action (a whole walk:
// only for the rare legacy head).
func hasAction(tx store.Tx, action string) (bool, error) {
	found := false
	err := tx.Each(bucket, "", func(_ string, v []byte) error {
		var e Event
		if json.Unmarshal(v, &e) == nil && e.Action == action {
			found = true
			return store.ErrStop
		}
		return nil
	})
	return found, err
}

// FindEvent reads the chained event at seq (store.ErrNotFound if none).
func FindEvent(tx store.Tx, seq uint64) (Event, error) {
	var e Event
	v, err := tx.Get(bucket, seqID(seq))
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(v, &e); err != nil {
		return e, &ChainError{Seq: seq, Reason: "unreadable event"}
	}
	return e, nil
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

// take decodes one stored event and appends it to out when it matches;
// store.ErrStop once out holds f.Limit events (the end of a scan).
func (f Filter) take(out *[]Event, v []byte) error {
	var e Event
	if err := json.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("audit: list: %w", err)
	}
	if f.match(e) {
		*out = append(*out, e)
		if len(*out) >= f.Limit {
			return store.ErrStop
		}
	}
	return nil
}

func (f Filter) match(e Event) bool {
	return (f.Actor == "" || e.Actor == f.Actor) &&
		(f.Action == "" || e.Action == f.Action) &&
		(f.Patient == "" || e.Touches(f.Patient)) &&
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
		return f.take(&out, v)
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
	h, _, err := readHead(tx)
	if err != nil {
		var ce *ChainError
		if !errors.As(err, &ce) {
			return nil, err
		}
	}
	seq := h.Seq
	if before > 0 && before-1 < seq {
		seq = before - 1
	}
	if f.Patient != "" {
		return listPatientNewest(tx, f, seq)
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
		if err := f.take(&out, v); err != nil && !errors.Is(err, store.ErrStop) {
			return nil, err
		}
	}
	return out, nil
}

// listPatientNewest is ListNewest for one patient: it walks the patient
// index backwards from seq, so a patient's page costs only their events.
func listPatientNewest(tx store.Tx, f Filter, seq uint64) ([]Event, error) {
	var out []Event
	if seq == 0 {
		return out, nil
	}
	prefix := []byte(f.Patient + "\x00")
	// Walking backwards, After is exclusive: start just past seq.
	after := append(append([]byte{}, prefix...), seqID(seq+1)...)
	err := tx.Scan(PatientIndex, store.Range{Prefix: prefix, After: after, Reverse: true}, func(_ []byte, id string) error {
		v, err := tx.Get(bucket, id)
		if err != nil {
			return err
		}
		return f.take(&out, v)
	})
	return out, err
}
