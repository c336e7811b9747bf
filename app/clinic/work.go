package clinic

import (
	"context"
)

// Nothing left behind: the periodic work that runs the overdue ticker
// (overdue.go), appointment reminders (reminder.go) and the closing-time
// sweep (sweep.go).

// EveryMinute runs the periodic work: a probe while the disk refuses writes
// (storage.go), overdue alerts and, once closing time has passed, the day's
// closing sweep alert.
func (c *Clinic) EveryMinute(ctx context.Context) error {
	c.probeStorage(ctx)
	if c.v.Locked() {
		return nil
	}
	if _, err := c.TickOverdue(ctx); err != nil {
		return err
	}
	if _, err := c.SendReminders(ctx); err != nil {
		return err
	}
	if err := c.everyMinuteOutreach(ctx); err != nil {
		return err
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	now := c.now()
	closing, open := s.ClosingTime(now)
	day := now.In(s.Location()).Format("2006-01-02")
	if !open || now.Before(closing) {
		return nil
	}
	swept, err := c.Meta(ctx, metaSweepDay)
	if err != nil {
		return err
	}
	if swept != day {
		if err := c.AnnounceSweep(ctx); err != nil {
			return err
		}
		return c.SetMeta(ctx, metaSweepDay, day)
	}
	return nil
}
