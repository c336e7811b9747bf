package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"filippo.io/age"
)

// Ref is the identity of a record. It is bound inside the record's
// plaintext, so a ciphertext that moves to another bucket, id or patient is
// refused on Open.
//
// Every Ref names its patient, or says explicitly that it has none: NewRef
// (or a literal with Patient set) binds a patient; RefNoPatient is a record
// that belongs to no patient (the clinic's settings, a staff member);
// RefAnyPatient opens a record without checking whose it is, for a caller
// that does not know yet. A Ref with an empty Patient made any other way is
// refused by Seal and Open, so an empty string never turns the patient
// check off by accident.
type Ref struct {
	Bucket, ID, Patient string
	binding             binding
}

// binding is what a Ref with no Patient means.
type binding uint8

const (
	bindPatient    binding = iota // Patient names the patient (the default)
	bindNoPatient                 // the record belongs to no patient
	bindAnyPatient                // Open does not check the patient
)

// NewRef names a record bound to patient, which must not be empty.
func NewRef(bucket, id, patient string) Ref { return Ref{Bucket: bucket, ID: id, Patient: patient} }

// RefNoPatient names a record that belongs to no patient. Seal binds it to
// none; Open refuses a record sealed for a patient.
func RefNoPatient(bucket, id string) Ref {
	return Ref{Bucket: bucket, ID: id, binding: bindNoPatient}
}

// RefAnyPatient names a record by bucket and id alone, for Open when the
// caller does not know the patient: Open checks bucket and id, not the
// patient. Seal refuses it (a record is sealed for a patient or for none).
func RefAnyPatient(bucket, id string) Ref {
	return Ref{Bucket: bucket, ID: id, binding: bindAnyPatient}
}

// ErrRefPatient: a Ref's patient is neither named nor explicitly absent
// (see Ref), or Seal was handed RefAnyPatient.
var ErrRefPatient = errors.New("vault: the record reference names no patient; use NewRef, RefNoPatient or RefAnyPatient")

// check says whether ref is well formed for sealing (seal true) or opening.
func (ref Ref) check(seal bool) error {
	switch {
	case ref.binding == bindPatient && ref.Patient == "":
		return ErrRefPatient
	case ref.binding != bindPatient && ref.Patient != "":
		return ErrRefPatient
	case seal && ref.binding == bindAnyPatient:
		return ErrRefPatient
	}
	return nil
}

// A record's plaintext is
//
//	version byte (recordV1)
//	uint16 big-endian length, bucket
//	uint16 big-endian length, id
//	uint16 big-endian length, patient
//	body
//
// Length prefixes rather than delimiters, so no choice of ids can make two
// different Refs encode the same way.
const (
	recordV1    = 1
	maxRefField = 1<<16 - 1

	// ageOverheadEstimate sizes the output buffer: an age header with one
	// X25519 stanza (about 170 bytes), the 16-byte nonce, and one 16-byte tag
	// per 64 KiB chunk is added separately.
	ageOverheadEstimate = 192 + 16
	ageChunk            = 64 << 10
	ageTag              = 16
)

// Seal encrypts body as the record ref, to the clinic recipient. It works
// while the vault is locked.
func (v *Vault) Seal(ref Ref, body []byte) ([]byte, error) {
	if err := ref.check(true); err != nil {
		return nil, err
	}
	if len(ref.Bucket) > maxRefField || len(ref.ID) > maxRefField || len(ref.Patient) > maxRefField {
		return nil, fmt.Errorf("vault: seal: ref field longer than %d bytes", maxRefField)
	}
	v.mu.RLock()
	r := v.recipient
	v.mu.RUnlock()

	var hdr [7]byte
	hdr[0] = recordV1
	plainLen := len(hdr) + len(ref.Bucket) + len(ref.ID) + len(ref.Patient) + len(body)
	out := bytes.NewBuffer(make([]byte, 0, ageOverheadEstimate+plainLen+ageTag*(plainLen/ageChunk+1)))
	w, err := age.Encrypt(out, r)
	if err != nil {
		return nil, fmt.Errorf("vault: seal: %w", err)
	}
	// One Write of the whole plaintext keeps age's chunk buffer to a single
	// allocation of the right size.
	plain := make([]byte, 0, plainLen)
	plain = append(plain, recordV1)
	for _, f := range [...]string{ref.Bucket, ref.ID, ref.Patient} {
		plain = binary.BigEndian.AppendUint16(plain, uint16(len(f)))
		plain = append(plain, f...)
	}
	plain = append(plain, body...)
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("vault: seal: %w", err)
	}
	clear(plain)
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("vault: seal: %w", err)
	}
	return out.Bytes(), nil
}

// Open decrypts a record and checks that it was sealed as ref: bucket and id
// always, and the patient unless ref is RefAnyPatient (RefNoPatient expects
// a record sealed for no patient). Damage or another key is ErrIntegrity, a
// record sealed under another Ref is ErrMismatch, and a locked vault is
// ErrLocked. Open never returns a body with an error.
func (v *Vault) Open(ref Ref, sealed []byte) ([]byte, error) {
	if err := ref.check(false); err != nil {
		return nil, err
	}
	got, body, err := v.open(sealed)
	if err != nil {
		return nil, err
	}
	switch {
	case got.Bucket != ref.Bucket:
		return nil, fmt.Errorf("%w: sealed in another bucket", ErrMismatch)
	case got.ID != ref.ID:
		return nil, fmt.Errorf("%w: sealed under another id", ErrMismatch)
	case ref.binding != bindAnyPatient && got.Patient != ref.Patient:
		return nil, fmt.Errorf("%w: sealed for another patient", ErrMismatch)
	}
	return body, nil
}

// BoundRef opens a record and returns the Ref sealed inside it, as `hearth
// verify` does to check every record sits where it belongs.
func (v *Vault) BoundRef(sealed []byte) (Ref, error) {
	ref, _, err := v.open(sealed)
	return ref, err
}

func (v *Vault) open(sealed []byte) (Ref, []byte, error) {
	id, err := v.unlockedIdentity()
	if err != nil {
		return Ref{}, nil, err
	}
	plain, err := decryptAll(sealed, id)
	if err != nil {
		return Ref{}, nil, fmt.Errorf("vault: open: %w", ErrIntegrity)
	}
	ref, body, ok := parseRecord(plain)
	if !ok {
		// Authenticated, yet not a record: not something Hearth sealed.
		return Ref{}, nil, fmt.Errorf("vault: open: not a record: %w", ErrIntegrity)
	}
	return ref, body, nil
}

func parseRecord(p []byte) (Ref, []byte, bool) {
	if len(p) < 1 || p[0] != recordV1 {
		return Ref{}, nil, false
	}
	p = p[1:]
	var f [3]string
	for i := range f {
		if len(p) < 2 {
			return Ref{}, nil, false
		}
		n := int(binary.BigEndian.Uint16(p))
		p = p[2:]
		if len(p) < n {
			return Ref{}, nil, false
		}
		f[i] = string(p[:n])
		p = p[n:]
	}
	if f[2] == "" {
		return RefNoPatient(f[0], f[1]), p, true
	}
	return NewRef(f[0], f[1], f[2]), p, true
}
