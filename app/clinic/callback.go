package clinic

import (
	"context"

	"hearth/app/store"
)

// LogAttempt records a call-back try; the patient sees the attempts.
func (c *Clinic) LogAttempt(ctx context.Context, a Actor, id, outcome string) (Item, error) {
	outcome, err := cleanBody("outcome", outcome, true)
	if err != nil {
		return Item{}, inputErr("outcome", "Say how the call went, for example: no answer, left a message.")
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Item{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return Item{}, err
	}
	if m.Type != TypeCallback {
		return Item{}, inputErr("outcome", "Call attempts are for call-back requests.")
	}
	st, err := c.staffCached(ctx, a.ID)
	if err != nil {
		return Item{}, err
	}
	return c.systemChange(ctx, a, id, "item.call_attempt", func(it *Item) (string, error) {
		it.Attempts = append(it.Attempts, Attempt{At: c.now().UTC(), StaffID: st.ID, Name: st.FirstName(), Outcome: outcome})
		if it.FirstReply.IsZero() {
			it.FirstReply = c.now().UTC()
		}
		if it.Status == StatusNew {
			it.Status = StatusOpen
		}
		return "call_attempt", nil
	})
}
