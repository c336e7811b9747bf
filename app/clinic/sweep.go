package clinic

import (
	"context"
	"slices"
	"time"

	"hearth/app/store"
)

// SweepRow is one item the closing-time sweep found.
type SweepRow struct {
	ItemRow
	Reasons []string `json:"reasons"` // unanswered, unassigned, overdue
}

// Sweep lists every open item still unanswered, unassigned or overdue in
// the caller's queues: what must not be left for tomorrow.
func (c *Clinic) Sweep(ctx context.Context, a Actor) ([]SweepRow, error) {
	rows, err := c.ListItems(ctx, a, ItemFilter{Limit: 200})
	if err != nil {
		return nil, err
	}
	var out []SweepRow
	for _, r := range rows {
		var why []string
		if r.FirstReply.IsZero() {
			why = append(why, "unanswered")
		}
		if r.Assignee == "" {
			why = append(why, "unassigned")
		}
		if r.Overdue {
			why = append(why, "overdue")
		}
		if len(why) > 0 {
			out = append(out, SweepRow{r, why})
		}
	}
	return out, nil
}

// AnnounceSweep tells every console that the closing sweep is ready (the
// owner's last alert of the day). It carries no PHI, only a count.
func (c *Clinic) AnnounceSweep(ctx context.Context) error {
	var e Event
	err := c.st.Update(ctx, func(tx store.Tx) error {
		var err error
		e, err = c.addEvent(tx, Event{Type: "sweep"})
		return err
	})
	if err == nil {
		c.publish(e)
	}
	return err
}

// ClosingTime is when the clinic closes today (local), and whether it opens
// at all today.
func (s Settings) ClosingTime(now time.Time) (time.Time, bool) {
	loc := s.Location()
	local := now.In(loc)
	day := local.Format("2006-01-02")
	h := s.hours()
	if slices.Contains(h.Holidays, day) {
		return time.Time{}, false
	}
	spans := h.Weekly[local.Weekday()]
	if len(spans) == 0 {
		return time.Time{}, false
	}
	last := spans[len(spans)-1].Close
	mins, ok := parseClock(last, true)
	if !ok {
		return time.Time{}, false
	}
	y, m, d := local.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).Add(time.Duration(mins) * time.Minute), true
}

// metaSweepDay is the local date of the last closing sweep announced.
const metaSweepDay = "sweep_day"

// idsUntil lists the ids of an index whose keys start with a big-endian
// millisecond time (outbox.due, scheduled.due, pages.due, appt.time), in
// key order, up to and including the moment until, within r.
func (c *Clinic) idsUntil(ctx context.Context, ix string, r store.Range, until time.Time) ([]string, error) {
	var ids []string
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ix, r, func(k []byte, id string) error {
			if time.UnixMilli(int64(beUint(k[:8]))).After(until) {
				return store.ErrStop
			}
			ids = append(ids, id)
			return nil
		})
	})
	return ids, err
}
