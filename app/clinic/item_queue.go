package clinic

import (
	"context"
	"strings"

	"hearth/app/store"
	"hearth/app/vault"
)

// QueueMove is a move of an item to another queue: Queue is the target
// queue's id (settings queues) and Reason, required, says why for the staff
// who pick it up there.
type QueueMove struct {
	Queue, Reason string
}

// MoveQueue moves an item to another queue. Whoever may open the item may
// move it (owners always may); the target must be a configured queue other
// than the item's own, and a reason is required. The item's meta, the
// queue index and both queues' counts change in the write that reseals the
// item; the thread gets a system line ("moved:FROM:TO:REASON"), the audit
// an item.queue event, and the event log two events published after the
// commit: item.queue_left for the old queue (its lists drop the item) and
// item.queue for the new one (its staff are alerted). An assignee who
// does not work the new queue is unassigned.
func (c *Clinic) MoveQueue(ctx context.Context, a Actor, id string, mv QueueMove) (Item, error) {
	reason, err := cleanBody("reason", mv.Reason, false)
	if err != nil {
		return Item{}, err
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Item{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return Item{}, err
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return Item{}, err
	}
	target := strings.TrimSpace(mv.Queue)
	var known bool
	for _, q := range settings.queues() {
		if q.ID == target {
			known = true
		}
	}
	if !known {
		return Item{}, inputErr("queue", "Choose one of the clinic's queues.")
	}
	if reason == "" {
		return Item{}, inputErr("reason", "Write why it moves, for the staff who pick it up.")
	}
	var left, arrived Event
	var sealed []byte
	var msgID, from string
	it, err := c.changeItem(ctx, id, func(it *Item) error {
		if it.Queue == target {
			return inputErr("queue", "The request is already in this queue.")
		}
		from = it.Queue
		it.Queue = target
		if it.Assignee != "" {
			st, err := c.staffCached(ctx, it.Assignee)
			if err != nil || !settings.mayQueue(st.Role, target) {
				it.Assignee = ""
			}
		}
		it.Messages++
		msgID = messageID(id, it.Messages)
		line := "moved:" + from + ":" + target + ":" + reason
		var err error
		sealed, err = c.seal(vault.NewRef(bucketMessages, msgID, it.owner()), Message{ID: msgID, ItemID: id, Kind: KindSystem, Body: line, At: c.now().UTC(), AuthorID: a.ID})
		return err
	}, func(tx store.Tx, it *Item) error {
		if err := tx.Put(bucketMessages, msgID, sealed); err != nil {
			return err
		}
		if err := c.audit(tx, a, "item.queue", "item:"+id, it.PatientID); err != nil {
			return err
		}
		var err error
		if left, err = c.addEvent(tx, Event{Type: "item.queue_left", ItemID: id, Queue: from, Priority: it.Priority}); err != nil {
			return err
		}
		arrived, err = c.addEvent(tx, Event{Type: "item.queue", ItemID: id, Queue: it.Queue, Priority: it.Priority})
		return err
	})
	if err != nil {
		return Item{}, err
	}
	c.publish(left, arrived)
	return it, nil
}
