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
	if a.Role == RoleClinician && m.PatientID != "" && c.hasBreakGlass(ctx, a.ID, m.PatientID) {
		return nil
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
// read from the plain meta record.
func (c *Clinic) ItemQueue(id string) string {
	if !validItemID(id) {
		return ""
	}
	var q string
	c.st.View(context.Background(), func(tx store.Tx) error {
		if m, err := getMetaRec(tx, id); err == nil {
			q = m.Queue
		}
		return nil
	})
	return q
}
