package clinic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
	"hearth/app/vault"
)

// Merging two records of one person. Everything of patient `from` (its
// items with their messages and files, appointments, devices and caregiver
// devices, invites, break-glass grants, queued emails, emailed sign-in
// links, linked contacts, the index of its audit events) moves to patient
// `into`; `from` is deleted, so it answers "not found" everywhere, and its
// devices speak for `into` from the next request.
//
// Every record sealed to `from` is opened, changed and sealed again to
// `into` outside any transaction (sealing is slow), then everything is
// written in ONE store transaction, together with the survivor's record
// through the reseal loop (changeSealed): a crash leaves the clinic either
// wholly before or wholly after the merge, never with half the items moved.
// The transaction first checks that nothing it read has changed and that
// no new record of `from` appeared; if either did, the loop starts over.

// MergeNote is kept in the surviving record for each record merged into
// it: which, by whom, when and why. It is sealed with the record (the
// reason may name the person).
type MergeNote struct {
	From   string    `json:"from"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// MergeResult counts what a merge moved.
type MergeResult struct {
	Items        int `json:"items"`
	Appointments int `json:"appointments"`
	Devices      int `json:"devices"`
	Invites      int `json:"invites"`
	Files        int `json:"files"`
}

// rewrite is one stored value a merge replaces (after nil: deletes), and
// the value it read, which must still be there when it writes.
type rewrite struct {
	bucket, id    string
	before, after []byte
}

// ixMove moves one index entry from a key of from to one of into.
type ixMove struct {
	ix             string
	oldKey, newKey []byte
	id             string
}

// mergePlan is everything a merge writes, prepared outside the write
// transaction.
type mergePlan struct {
	res      MergeResult
	rewrites []rewrite
	ixMoves  []ixMove
	metas    [][2]ItemMeta // old, new
	fromToks [][]byte
	// owned: for each per-patient index, the ids of from's records in it,
	// which must be the same when the merge writes.
	owned map[string][]string
	// keys: for buckets searched by opening every record, every id seen;
	// an id the write transaction finds that is not here is a record made
	// since, whose patient the plan does not know.
	keys    map[string]map[string]bool
	itemIDs []string
	fromRaw []byte
	from    Patient
}

// mergeOwnedIndexes are the indexes whose keys begin with the patient's id
// (items by owner, appointments by patient, devices by patient).
var mergeOwnedIndexes = []string{ixOwner, ixApptPatient, ixDeviceByPatient}

// mergeScannedBuckets hold records of a patient with no index by patient:
// a merge opens each to find from's.
var mergeScannedBuckets = []string{bucketInvites, bucketOutbox, bucketBreakGlass, bucketContacts, bucketSignInLinks}

// MergePatients moves everything of patient from into patient into (see
// above) and deletes from. Owners only: a merge cannot be undone and moves
// clinical records between people, so it is the owner's decision, with a
// reason that is kept with the record. Both records are audited.
func (c *Clinic) MergePatients(ctx context.Context, a Actor, into, from, reason string) (MergeResult, error) {
	if a.Kind != ActorStaff || a.Role != RoleOwner {
		return MergeResult{}, ErrForbidden
	}
	if !validItemID(into) {
		return MergeResult{}, ErrNotFound
	}
	var es InputErrors
	if !validItemID(from) || from == into {
		es = append(es, &InputError{Field: "from", Msg: "Choose the other record to merge into this one."})
	}
	reason, err := cleanBody("reason", reason, false)
	if err := es.add(err); err != nil {
		return MergeResult{}, err
	}
	if err == nil && len(reason) < 5 {
		es = append(es, &InputError{Field: "reason", Msg: "Write why these are the same person (a few words)."})
	}
	if err := es.err(); err != nil {
		return MergeResult{}, err
	}
	var plan *mergePlan
	r := reseal[Patient]{
		bucket: bucketPatients,
		openAs: func(store.Tx) (vault.Ref, error) { return vault.NewRef(bucketPatients, into, into), nil },
		sealAs: func(p Patient) vault.Ref { return vault.NewRef(bucketPatients, p.ID, p.ID) },
		also: func(tx store.Tx, _ *Patient) error {
			if err := c.applyMerge(tx, plan, into, from); err != nil {
				return err
			}
			if err := c.audit(tx, a, "patient.merge", "patient:"+from, into); err != nil {
				return err
			}
			return c.audit(tx, a, "patient.merged_into", "patient:"+into, from)
		},
	}
	_, _, err = changeSealed(ctx, c, into, r, func(p *Patient) (bool, error) {
		var err error
		if plan, err = c.planMerge(ctx, into, from); err != nil {
			return false, err
		}
		p.Merged = append(append(p.Merged, plan.from.Merged...), MergeNote{From: from, By: a.ID, At: c.now().UTC(), Reason: reason})
		return true, nil
	})
	if err != nil {
		return MergeResult{}, err
	}
	for _, id := range plan.itemIDs {
		c.items.drop(id)
	}
	c.patients.drop(from)
	c.patients.drop(into)
	c.devices.clear()
	c.changed(ChangedPatient, from)
	c.changed(ChangedPatient, into)
	c.changed(ChangedDevices, "")
	return plan.res, nil
}

// planMerge reads everything of from in one snapshot and seals it again
// for into. It holds no transaction while it seals.
func (c *Clinic) planMerge(ctx context.Context, into, from string) (*mergePlan, error) {
	pl := &mergePlan{owned: map[string][]string{}, keys: map[string]map[string]bool{}}
	type opened struct {
		bucket, id string
		raw        []byte
		v          any
		ref        vault.Ref // the new binding
	}
	var recs []opened
	var fromP Patient
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		if pl.fromRaw, err = tx.Get(bucketPatients, from); errors.Is(err, store.ErrNotFound) {
			return inputErr("from", "That record does not exist (it may have been merged already).")
		} else if err != nil {
			return err
		}
		if err := c.openRaw(vault.NewRef(bucketPatients, from, from), pl.fromRaw, &fromP); err != nil {
			return err
		}
		for _, ix := range mergeOwnedIndexes {
			ids, err := ownedIDs(tx, ix, from)
			if err != nil {
				return err
			}
			pl.owned[ix] = ids
		}
		// Items, their messages and their files.
		for _, id := range pl.owned[ixOwner] {
			var it Item
			raw, err := tx.Get(bucketItems, id)
			if err != nil {
				return err
			}
			if err := c.openRaw(vault.NewRef(bucketItems, id, from), raw, &it); err != nil {
				return err
			}
			pl.itemIDs = append(pl.itemIDs, id)
			metaRaw, err := tx.Get(bucketItemMeta, id)
			if err != nil {
				return err
			}
			pl.rewrites = append(pl.rewrites, rewrite{bucket: bucketItemMeta, id: id, before: metaRaw}) // checked; putMeta writes it
			old := it.ItemMeta
			it.PatientID = into
			// A new update time: other nodes check their cached copy of an
			// item against it, and must not keep serving the one sealed
			// to from.
			it.Updated = c.now().UTC()
			if !it.Updated.After(old.Updated) {
				it.Updated = old.Updated.Add(time.Millisecond)
			}
			pl.metas = append(pl.metas, [2]ItemMeta{old, it.ItemMeta})
			var files []string
			for _, m := range it.Inline {
				for _, f := range m.Files {
					files = append(files, f.ID)
				}
			}
			recs = append(recs, opened{bucketItems, id, raw, it, vault.NewRef(bucketItems, id, into)})
			err = tx.Each(bucketMessages, id, func(mid string, raw []byte) error {
				if !strings.HasPrefix(mid, id+":") {
					return store.ErrStop
				}
				var m Message
				if err := c.openRaw(vault.NewRef(bucketMessages, mid, from), raw, &m); err != nil {
					return err
				}
				for _, f := range m.Files {
					files = append(files, f.ID)
				}
				recs = append(recs, opened{bucketMessages, mid, raw, m, vault.NewRef(bucketMessages, mid, into)})
				return nil
			})
			if err != nil {
				return err
			}
			for _, fid := range files {
				raw, err := tx.Get(bucketFiles, fid)
				if errors.Is(err, store.ErrNotFound) {
					continue // a file never stored (an upload that failed)
				}
				if err != nil {
					return err
				}
				// Files of a request written before its contact was linked to
				// the patient are still sealed to the contact: any owner.
				var f fileRecord
				if err := c.openRaw(vault.RefAnyPatient(bucketFiles, fid), raw, &f); err != nil {
					return err
				}
				recs = append(recs, opened{bucketFiles, fid, raw, f, vault.NewRef(bucketFiles, fid, into)})
				pl.res.Files++
			}
			pl.res.Items++
		}
		for _, id := range pl.owned[ixApptPatient] {
			var ap Appointment
			raw, err := tx.Get(bucketAppts, id)
			if err != nil {
				return err
			}
			if err := c.openRaw(vault.NewRef(bucketAppts, id, from), raw, &ap); err != nil {
				return err
			}
			_, oldKey := apptKeys(ap)
			ap.PatientID = into
			_, newKey := apptKeys(ap)
			pl.ixMoves = append(pl.ixMoves, ixMove{ix: ixApptPatient, oldKey: oldKey, newKey: newKey, id: id})
			recs = append(recs, opened{bucketAppts, id, raw, ap, vault.NewRef(bucketAppts, id, into)})
			pl.res.Appointments++
		}
		for _, id := range pl.owned[ixDeviceByPatient] {
			var d Device
			raw, err := tx.Get(bucketDevices, id)
			if err != nil {
				return err
			}
			if err := c.openRaw(vault.NewRef(bucketDevices, id, from), raw, &d); err != nil {
				return err
			}
			d.PatientID = into
			pl.ixMoves = append(pl.ixMoves, ixMove{ix: ixDeviceByPatient, id: id,
				oldKey: cat([]byte(from), []byte{0}, idBytes(id)), newKey: cat([]byte(into), []byte{0}, idBytes(id))})
			recs = append(recs, opened{bucketDevices, id, raw, d, vault.NewRef(bucketDevices, id, into)})
			pl.res.Devices++
		}
		// The buckets without an index by patient: open each record.
		for _, b := range mergeScannedBuckets {
			seen := map[string]bool{}
			pl.keys[b] = seen
			err := tx.Each(b, "", func(id string, raw []byte) error {
				seen[id] = true
				switch b {
				case bucketSignInLinks: // plain JSON
					var l signInLink
					if json.Unmarshal(raw, &l) != nil || l.PatientID != from {
						return nil
					}
					l.PatientID = into
					after, _ := json.Marshal(l)
					pl.rewrites = append(pl.rewrites, rewrite{bucket: b, id: id, before: raw, after: after})
					return nil
				case bucketContacts:
					var ct Contact
					if err := c.openRaw(vault.NewRef(b, id, "contact:"+id), raw, &ct); err != nil {
						return err
					}
					if ct.PatientID == from {
						ct.PatientID = into
						recs = append(recs, opened{b, id, raw, ct, vault.NewRef(b, id, "contact:"+id)})
					}
					return nil
				}
				ref, err := c.v.BoundRef(raw)
				if err != nil {
					var rec json.RawMessage
					if err := c.openRaw(vault.RefAnyPatient(b, id), raw, &rec); err != nil {
						return err // locked, or damaged (and reported)
					}
					return err
				}
				if ref.Patient != from {
					return nil
				}
				var rec map[string]json.RawMessage
				if err := c.openRaw(vault.NewRef(b, id, from), raw, &rec); err != nil {
					return err
				}
				field := "patient_id"
				if b == bucketBreakGlass {
					field = "Patient"
					var g struct {
						Staff string
						Until time.Time
					}
					if err := c.openRaw(vault.NewRef(b, id, from), raw, &g); err != nil {
						return err
					}
					pl.ixMoves = append(pl.ixMoves, ixMove{ix: ixBreakGlassByStaff, id: id,
						oldKey: cat([]byte(g.Staff), []byte{0}, []byte(from), []byte{0}, be64(g.Until)),
						newKey: cat([]byte(g.Staff), []byte{0}, []byte(into), []byte{0}, be64(g.Until))})
				}
				rec[field], _ = json.Marshal(into)
				if b == bucketInvites {
					pl.res.Invites++
				}
				recs = append(recs, opened{b, id, raw, rec, vault.NewRef(b, id, into)})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pl.from = fromP
	if pl.fromToks, err = c.patientTokens(fromP); err != nil {
		return nil, err
	}
	for _, r := range recs {
		after, err := c.seal(r.ref, r.v)
		if err != nil {
			return nil, err
		}
		pl.rewrites = append(pl.rewrites, rewrite{bucket: r.bucket, id: r.id, before: r.raw, after: after})
	}
	return pl, nil
}

// ownedIDs lists the ids an index keyed by patient holds for patient.
func ownedIDs(tx store.Tx, ix, patient string) ([]string, error) {
	var ids []string
	err := tx.Scan(ix, store.Range{Prefix: append([]byte(patient), 0)}, func(_ []byte, id string) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// applyMerge writes a plan inside the merge's transaction, or returns
// errRetry when the store changed since the plan read it.
func (c *Clinic) applyMerge(tx store.Tx, pl *mergePlan, into, from string) error {
	now, err := tx.Get(bucketPatients, from)
	if errors.Is(err, store.ErrNotFound) {
		return errRetry
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(now, pl.fromRaw) {
		return errRetry
	}
	for _, ix := range mergeOwnedIndexes {
		ids, err := ownedIDs(tx, ix, from)
		if err != nil {
			return err
		}
		if !slices.Equal(ids, pl.owned[ix]) {
			return errRetry
		}
	}
	for _, b := range mergeScannedBuckets {
		err := tx.Each(b, "", func(id string, _ []byte) error {
			if !pl.keys[b][id] {
				return errRetry
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, r := range pl.rewrites {
		now, err := tx.Get(r.bucket, r.id)
		if errors.Is(err, store.ErrNotFound) {
			return errRetry
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(now, r.before) {
			return errRetry
		}
		if r.after != nil {
			if err := tx.Put(r.bucket, r.id, r.after); err != nil {
				return err
			}
		}
	}
	for _, m := range pl.metas {
		if err := putMeta(tx, &m[0], m[1]); err != nil {
			return err
		}
	}
	for _, m := range pl.ixMoves {
		if err := tx.DeleteIndex(m.ix, m.oldKey); err != nil {
			return err
		}
		if err := tx.SetIndex(m.ix, m.newKey, m.id); err != nil {
			return err
		}
	}
	// The audit events about from are found under into from now on.
	var moves [][2][]byte
	var seqs []string
	err = tx.Scan(audit.PatientIndex, store.Range{Prefix: []byte(from + "\x00")}, func(k []byte, seq string) error {
		moves = append(moves, [2][]byte{bytes.Clone(k), []byte(into + "\x00" + string(k[len(from)+1:]))})
		seqs = append(seqs, seq)
		return nil
	})
	if err != nil {
		return err
	}
	for i, m := range moves {
		if err := tx.DeleteIndex(audit.PatientIndex, m[0]); err != nil {
			return err
		}
		if err := tx.SetIndex(audit.PatientIndex, m[1], seqs[i]); err != nil {
			return err
		}
	}
	for _, t := range pl.fromToks {
		if err := tx.DeleteIndex(ixPatientSearch, searchKey(t, from)); err != nil {
			return err
		}
	}
	return tx.Delete(bucketPatients, from)
}

// PatientCounts is how many requests and appointments a record holds, for
// the side-by-side view staff check before a merge. Staff only.
type PatientCounts struct {
	Items        int `json:"items"`
	Appointments int `json:"appointments"`
}

// CountPatient counts a patient's requests and appointments from the
// indexes (nothing is opened).
func (c *Clinic) CountPatient(ctx context.Context, a Actor, id string) (PatientCounts, error) {
	if a.Kind != ActorStaff {
		return PatientCounts{}, ErrForbidden
	}
	var n PatientCounts
	err := c.st.View(ctx, func(tx store.Tx) error {
		items, err := ownedIDs(tx, ixOwner, id)
		if err != nil {
			return err
		}
		appts, err := ownedIDs(tx, ixApptPatient, id)
		n = PatientCounts{Items: len(items), Appointments: len(appts)}
		return err
	})
	return n, err
}
