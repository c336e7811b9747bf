package clinic

import (
	"context"
	"errors"
	"fmt"

	"hearth/app/audit"
	"hearth/app/store"
)

// Report is what Verify found.
type Report struct {
	Records     int      `json:"records"`
	IndexKeys   int      `json:"index_entries"`
	AuditEvents int      `json:"audit_events"`
	Problems    []string `json:"problems"`
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
		n, err := audit.Verify(tx, key)
		r.AuditEvents = n
		if err != nil {
			r.problem("%v", err)
		}
		return nil
	})
	return r, err
}
