package clinic

import (
	"context"
	"errors"

	"hearth/app/store"
)

// mayOpen decides whether a staff member may open an item: its queue must
// be theirs, or a clinician must have declared a break-glass reason for this
// patient within the hour.
func (c *Clinic) mayOpen(ctx context.Context, a Actor, m ItemMeta) error {
	if a.Kind != ActorStaff {
		return ErrNotFound
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	if settings.mayQueue(a.Role, m.Queue) {
		return nil
	}
	if a.Role == RoleClinician && m.PatientID != "" {
		declared, err := c.hasBreakGlass(ctx, a.ID, m.PatientID)
		if err != nil {
			return err
		}
		if declared {
			return nil
		}
	}
	if a.Role == RoleClinician {
		return ErrBreakGlass
	}
	return ErrForbidden
}

// ErrBreakGlass means the item is outside the caller's queues; a clinician
// may still open it by giving a reason.
var ErrBreakGlass = errors.New("clinic: this item is outside your queues; give a reason to open it")

// ItemQueue is the queue an item is in ("" when there is no such item),
// read from the plain meta record. Its shape is the realtime hub's
// (realtime.Hub.SetQueueOf), which has no way to take an error: a record
// that cannot be read is logged and answers "", which the hub treats as
// "no such item" and so shows the presence frame to nobody (it fails
// closed).
func (c *Clinic) ItemQueue(id string) string {
	if !validItemID(id) {
		return ""
	}
	var q string
	err := c.st.View(context.Background(), func(tx store.Tx) error {
		m, err := getMetaRec(tx, id)
		if err != nil {
			return err
		}
		q = m.Queue
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		c.log.Error("an item's queue could not be read; its presence frame is dropped", "item", id, "err", err)
		return ""
	}
	return q
}
