package clinic

import (
	"context"

	"hearth/app/store"
	"hearth/app/vault"
)

// Assign gives an item to a staff member who may work its queue ("" to
// unassign), and notes it in the thread.
func (c *Clinic) Assign(ctx context.Context, a Actor, id, staffID string) (Item, error) {
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Item{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return Item{}, err
	}
	var name string
	if staffID != "" {
		st, err := c.staffCached(ctx, staffID)
		if err != nil || st.Disabled {
			return Item{}, inputErr("staff_id", "Choose an active staff member.")
		}
		settings, _ := c.Settings(ctx)
		if !settings.mayQueue(st.Role, m.Queue) {
			return Item{}, inputErr("staff_id", st.SignedName()+" does not work this queue.")
		}
		name = st.SignedName()
	}
	return c.systemChange(ctx, a, id, "item.assign", func(it *Item) (string, error) {
		it.Assignee = staffID
		if it.Status == StatusNew && staffID != "" {
			it.Status = StatusOpen
		}
		if staffID == "" {
			return "unassigned", nil
		}
		return "assigned:" + name, nil
	})
}

// systemChange applies a change that leaves a system line in the thread.
func (c *Clinic) systemChange(ctx context.Context, a Actor, id, action string, change func(it *Item) (string, error)) (Item, error) {
	var ev Event
	var sealed []byte
	var msgID string
	it, err := c.changeItem(ctx, id, func(it *Item) error {
		line, err := change(it)
		if err != nil {
			return err
		}
		it.Messages++
		msgID = messageID(id, it.Messages)
		sealed, err = c.seal(vault.NewRef(bucketMessages, msgID, it.owner()), Message{ID: msgID, ItemID: id, Kind: KindSystem, Body: line, At: c.now().UTC(), AuthorID: a.ID})
		return err
	}, func(tx store.Tx, it *Item) error {
		if err := tx.Put(bucketMessages, msgID, sealed); err != nil {
			return err
		}
		if err := c.audit(tx, a, action, "item:"+id, it.PatientID); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: action, ItemID: id, Queue: it.Queue, Priority: it.Priority})
		return err
	})
	if err == nil {
		c.publish(ev)
	}
	return it, err
}
