package clinic

import (
	"context"
	"slices"
	"strings"
	"time"

	"hearth/app/store"
)

// Outcomes that close an item, per type; the patient reads the reason.
var Outcomes = map[string][]string{
	TypeRefill:      {"sent_to_pharmacy", "needs_visit", "declined"},
	TypeAppointment: {"booked", "offered_times", "declined"},
	TypeCallback:    {"called", "no_answer_closed"},
}

// StatusChange is a move of an item to another status: Status is new,
// open, waiting or closed; closing takes an Outcome where the item's type
// has them (Outcomes) and a Reason the patient reads when it is declined.
type StatusChange struct {
	Status, Outcome, Reason string
}

// SetStatus moves an item to new/open/waiting/closed. Closing takes an
// outcome where the type has them and a reason the patient reads when it is
// declined; nothing closes without this explicit action.
func (c *Clinic) SetStatus(ctx context.Context, a Actor, id string, ch StatusChange) (Item, error) {
	status, outcome, reason := ch.Status, ch.Outcome, ch.Reason
	if !slices.Contains(Statuses, status) {
		return Item{}, inputErr("status", "status must be one of new, open, waiting, closed.")
	}
	reason, err := cleanBody("reason", reason, false)
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
	if status == StatusClosed {
		if outs, ok := Outcomes[m.Type]; ok && !slices.Contains(outs, outcome) {
			return Item{}, inputErr("outcome", "Choose how this ends: "+strings.Join(outs, ", ")+".")
		}
		if strings.HasSuffix(outcome, "declined") && reason == "" {
			return Item{}, inputErr("reason", "Write the reason the patient will read.")
		}
	}
	return c.systemChange(ctx, a, id, "item.status", func(it *Item) (string, error) {
		it.Status = status
		if status == StatusClosed {
			it.Closed, it.Outcome, it.ClosedReason = c.now().UTC(), outcome, reason
		} else {
			it.Closed, it.Outcome, it.ClosedReason = time.Time{}, "", ""
		}
		return "status:" + status, nil
	})
}

// Feedback records the patient's "did this answer your question?".
func (c *Clinic) Feedback(ctx context.Context, a Actor, id, answer string) error {
	if answer != "yes" && answer != "no" {
		return inputErr("answer", "Choose yes or no.")
	}
	if _, _, err := c.PatientThread(ctx, a, id); err != nil {
		return err
	}
	_, err := c.changeItem(ctx, id, func(it *Item) error {
		if it.Status != StatusClosed {
			return inputErr("answer", "You can answer this once the request is closed.")
		}
		it.Feedback = answer
		return nil
	}, func(tx store.Tx, it *Item) error { return c.audit(tx, a, "item.feedback", "item:"+id, it.PatientID) })
	return err
}
