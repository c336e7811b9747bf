package clinic

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"hearth/app/store"
	"hearth/app/vault"
)

// The read–change–reseal loop. A sealed record cannot be changed inside
// the store: it is read and opened in one snapshot, changed in memory,
// sealed again outside any transaction (sealing is slow), and written in a
// second transaction only if the stored ciphertext is still the one that
// was read. If another writer got there first, the loop starts over on the
// fresh record, so no concurrent change is ever lost. Items, appointments
// and staff all change this way; what differs between them is in reseal.

// errRetry, inside the write transaction, means the record changed since it
// was read: roll back and start over.
var errRetry = errors.New("clinic: retry")

// maxResealAttempts bounds the loop under heavy contention on one record.
const maxResealAttempts = 8

// reseal is what changeSealed needs to know about one kind of record.
type reseal[T any] struct {
	bucket string
	// openAs, run in the read snapshot, names the stored record with the
	// patient it must be bound to (items learn it from their plain
	// metadata). Without it the record is opened as
	// vault.RefAnyPatient(bucket, id).
	openAs func(tx store.Tx) (vault.Ref, error)
	// sealAs names the changed record with the patient it is sealed to
	// (vault.NewRef), or says it is no patient's (vault.RefNoPatient).
	sealAs func(T) vault.Ref
	// clone makes the record change works on independent of the one read
	// (copies its maps and slices), when plain needs the record as read.
	clone func(T) T
	// plain writes the record's plain (unsealed) metadata in the write
	// transaction, given the record as read and as changed.
	plain func(tx store.Tx, before, after *T) error
	// also adds the caller's own writes (audit, events, other records) to
	// the write transaction.
	also func(tx store.Tx, rec *T) error
}

// changeSealed reads record id as r describes, applies change to it and
// reseals it (see the loop above). change returns false to write nothing.
// It returns the record as written (or as read, when change wrote
// nothing) and whether it wrote; on an error, the zero record.
func changeSealed[T any](ctx context.Context, c *Clinic, id string, r reseal[T], change func(*T) (bool, error)) (T, bool, error) {
	var zero T
	for attempt := 0; attempt < maxResealAttempts; attempt++ {
		var rec T
		var raw []byte
		err := c.st.View(ctx, func(tx store.Tx) error {
			ref := vault.RefAnyPatient(r.bucket, id)
			if r.openAs != nil {
				var err error
				if ref, err = r.openAs(tx); err != nil {
					return err
				}
			}
			var err error
			if raw, err = tx.Get(r.bucket, id); err != nil {
				return err
			}
			return c.openRaw(ref, raw, &rec)
		})
		if errors.Is(err, store.ErrNotFound) {
			return zero, false, ErrNotFound
		}
		if err != nil {
			return zero, false, err
		}
		before := rec
		if r.clone != nil {
			rec = r.clone(rec)
		}
		ok, err := change(&rec)
		if err != nil {
			return zero, false, err
		}
		if !ok {
			return rec, false, nil
		}
		sealed, err := c.seal(r.sealAs(rec), rec)
		if err != nil {
			return zero, false, err
		}
		err = c.st.Update(ctx, func(tx store.Tx) error {
			now, err := tx.Get(r.bucket, id)
			if err != nil {
				return err
			}
			if !bytes.Equal(now, raw) {
				return errRetry
			}
			if err := tx.Put(r.bucket, id, sealed); err != nil {
				return err
			}
			if r.plain != nil {
				if err := r.plain(tx, &before, &rec); err != nil {
					return err
				}
			}
			if r.also != nil {
				return r.also(tx, &rec)
			}
			return nil
		})
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return zero, false, err
		}
		return rec, true, nil
	}
	return zero, false, fmt.Errorf("clinic: %s record %s kept changing", r.bucket, id)
}
