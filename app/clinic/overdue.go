package clinic

import (
	"context"
	"time"

	"hearth/app/store"
)

// bucketOverdue remembers (in the clear: ids and a stage) which overdue
// items were already announced, so each alert fires once.

// EscalateAfter is how long an item may stay overdue before the owner is told.
const EscalateAfter = 30 * time.Minute

// TickOverdue announces items that became overdue to their queue, and those
// overdue for EscalateAfter to the owner. It runs every minute.
func (c *Clinic) TickOverdue(ctx context.Context) (int, error) {
	now := c.now()
	type hit struct {
		m     ItemMeta
		stage string
	}
	var hits []hit
	err := c.st.View(ctx, func(tx store.Tx) error {
		var ids, stages []string
		err := tx.Scan(ixOpenDue, store.Range{}, func(k []byte, id string) error {
			due := time.UnixMilli(int64(beUint(k[:8])))
			if !now.After(due) {
				return store.ErrStop
			}
			stage := "overdue"
			if now.Sub(due) >= EscalateAfter {
				stage = "escalated"
			}
			ids, stages = append(ids, id), append(stages, stage)
			return nil
		})
		if err != nil {
			return err
		}
		// Each item's marker, and the meta of those not yet marked, in
		// one read each (on PostgreSQL a read is a round trip: a store
		// with a few thousand overdue items read one by one every minute).
		marks, err := tx.GetMany(bucketOverdue, ids)
		if err != nil {
			return err
		}
		var need, needStage []string
		for i, done := range marks {
			if string(done) == stages[i] || string(done) == "escalated" {
				continue
			}
			need, needStage = append(need, ids[i]), append(needStage, stages[i])
		}
		raws, err := tx.GetMany(bucketItemMeta, need)
		if err != nil {
			return err
		}
		for i, raw := range raws {
			m, err := decodeMeta(raw)
			if err != nil {
				return err
			}
			hits = append(hits, hit{m, needStage[i]})
		}
		return nil
	})
	if err != nil || len(hits) == 0 {
		return 0, err
	}
	var evs []Event
	err = c.st.Update(ctx, func(tx store.Tx) error {
		evs = evs[:0]
		for _, h := range hits {
			if err := tx.Put(bucketOverdue, h.m.ID, []byte(h.stage)); err != nil {
				return err
			}
			e, err := c.addEvent(tx, Event{Type: "item." + h.stage, ItemID: h.m.ID, Queue: h.m.Queue, Priority: h.m.Priority})
			if err != nil {
				return err
			}
			evs = append(evs, e)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	c.publish(evs...)
	return len(hits), nil
}
