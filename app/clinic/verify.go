package clinic

import (
	"context"
	"errors"
	"fmt"

	"hearth/app/audit"
	"hearth/app/store"
)

// Report is what Verify found. Damaged is set when the store's own
// structure is broken (pages, buckets): then the fix is a restore.
type Report struct {
	Records     int      `json:"records"`
	IndexKeys   int      `json:"index_entries"`
	AuditEvents int      `json:"audit_events"`
	AuditHead   uint64   `json:"audit_head"`
	Problems    []string `json:"problems"`
	Notes       []string `json:"notes,omitempty"`
	Damaged     bool     `json:"damaged,omitempty"`
}

// OK reports whether nothing is wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

const maxProblems = 200

func (r *Report) problem(format string, a ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
	}
}

// Verify opens every sealed record, follows every index entry, walks the
// audit chain and runs the store's own checks. Problems name buckets and
// ids, never contents.
func (c *Clinic) Verify(ctx context.Context) (Report, error) {
	var r Report
	if c.v.Locked() {
		return r, ErrLocked
	}
	if err := c.st.Check(ctx); err != nil {
		if !errors.Is(err, store.ErrCorrupt) {
			return r, err
		}
		r.Damaged = true
		r.problem("database structure: %v", err)
	}
	key, err := c.v.AuditKey()
	if err != nil {
		return r, err
	}
	err = c.st.View(ctx, func(tx store.Tx) error {
		for _, b := range SealedBuckets() {
			err := tx.Each(b, "", func(id string, raw []byte) error {
				r.Records++
				ref, err := c.v.BoundRef(raw)
				switch {
				case err != nil:
					r.problem("record %s/%s does not open: %v", b, id, err)
				case ref.Bucket != b || ref.ID != id:
					r.problem("record %s/%s holds the sealed record of %s/%s (moved or copied)", b, id, ref.Bucket, ref.ID)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, ix := range Indexes() {
			target := store.IndexBucket(ix)
			err := tx.Scan(ix, store.Range{}, func(k []byte, id string) error {
				r.IndexKeys++
				if _, err := tx.Get(target, id); errors.Is(err, store.ErrNotFound) {
					r.problem("index %s has an entry for %s/%s, which does not exist", ix, target, id)
				} else if err != nil {
					return err
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		c.verifyAudit(tx, key, &r)
		return nil
	})
	if errors.Is(err, store.ErrCorrupt) {
		// A damaged page the structure check did not catch; the store
		// turned bbolt's panic into this error.
		r.Damaged = true
		r.problem("reading the records: %v", err)
		err = nil
	}
	return r, err
}

// verifyAudit walks the audit chain into r. A head without its own MAC is
// fine only before the schema 4 upgrade (or while it waits for the key);
// integrity findings recorded earlier are problems still.
func (c *Clinic) verifyAudit(tx store.Tx, key []byte, r *Report) {
	res := audit.Check(tx, key)
	r.AuditEvents, r.AuditHead = res.Events, res.Head.Seq
	switch {
	case res.Err == nil:
	case errors.Is(res.Err, audit.ErrHeadUnsealed) && !res.Upgraded && (c.schemaVer < 4 || res.Legacy):
		r.Notes = append(r.Notes, "the audit trail's head is from before heads carried their own MAC; the next start authenticates it")
	case errors.Is(res.Err, audit.ErrHeadUnsealed):
		r.problem("audit: the chain's head carries no MAC of its own: the newest events may have been cut off")
	default:
		r.problem("%v", res.Err)
	}
	for _, f := range res.Findings {
		r.problem("audit event %d (%s): Hearth found at start that the audit trail's head did not carry the audit key's MAC: the events before it may have been cut off",
			f.Seq, f.At.Format("2006-01-02 15:04 MST"))
	}
}
