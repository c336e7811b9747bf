package clinic

import (
	"bytes"
	"context"
	"time"

	"hearth/app/store"
)

// QueueCount is one inbox tab's numbers.
type QueueCount struct {
	Queue   Queue `json:"queue"`
	Open    int   `json:"open"`
	New     int   `json:"new"`
	Urgent  int   `json:"urgent"`
	Overdue int   `json:"overdue"`
}

// QueueCounts gives each queue the caller may see its open, new and urgent
// counts (kept up to date with every change) and its overdue count (from
// the overdue ticker, at most a minute old).
func (c *Clinic) QueueCounts(ctx context.Context, a Actor) ([]QueueCount, error) {
	if a.Kind != ActorStaff {
		return nil, ErrForbidden
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return nil, err
	}
	overdue, err := c.overdueCounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []QueueCount
	err = c.st.View(ctx, func(tx store.Tx) error {
		for _, q := range settings.QueuesFor(a.Role) {
			t, err := getTally(tx, q.ID)
			if err != nil {
				return err
			}
			out = append(out, QueueCount{Queue: q, Open: t.Open, New: t.New, Urgent: t.Urgent, Overdue: overdue[q.ID]})
		}
		return nil
	})
	return out, err
}

// overdueCounts returns the per-queue overdue counts, counting afresh when
// the last count is more than a minute old. A count that fails is an error
// and is not cached, so the next call counts again.
func (c *Clinic) overdueCounts(ctx context.Context) (map[string]int, error) {
	c.overdueMu.Lock()
	defer c.overdueMu.Unlock()
	now := c.now()
	if c.overdueAt.IsZero() || now.Sub(c.overdueAt) >= time.Minute || now.Before(c.overdueAt) {
		counts := map[string]int{}
		err := c.st.View(ctx, func(tx store.Tx) error {
			return tx.Scan(ixOpenDue, store.Range{}, func(k []byte, id string) error {
				if due := time.UnixMilli(int64(beUint(k[:8]))); !now.After(due) {
					return store.ErrStop
				}
				if q, _, ok := bytes.Cut(k[8:], []byte{0}); ok {
					counts[string(q)]++
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
		c.overdue, c.overdueAt = counts, now
	}
	return c.overdue, nil
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}
