package clinic

import (
	"context"
	"encoding/json"
	"fmt"

	"hearth/app/store"
)

// The event log: what staff browsers were told, kept (in the clear: ids and
// routing facts only) so a browser that reconnects can catch up. It is
// bounded: the oldest entries beyond eventLogKeep are pruned.
const eventLogKeep = 20_000

func eventID(seq uint64) string { return fmt.Sprintf("%016x", seq) }

// addEvent stores e in the log inside tx and returns it with its sequence
// number. The caller publishes it after the commit.
func (c *Clinic) addEvent(tx store.Tx, e Event) (Event, error) {
	seq, err := tx.NextSeq(seqEvents)
	if err != nil {
		return e, err
	}
	e.Seq = seq
	e.At = c.now().UTC()
	b, _ := json.Marshal(e)
	if err := tx.Put(bucketEvents, eventID(seq), b); err != nil {
		return e, err
	}
	if seq > eventLogKeep && seq%100 == 0 {
		// Prune a hundred at a time, amortised over writes.
		for old := seq - eventLogKeep - 100; old < seq-eventLogKeep; old++ {
			if err := tx.Delete(bucketEvents, eventID(old+1)); err != nil {
				return e, err
			}
		}
	}
	return e, nil
}

// publish hands committed events to the hub.
func (c *Clinic) publish(evs ...Event) {
	if c.events == nil {
		return
	}
	for _, e := range evs {
		if e.Seq != 0 {
			c.events.Publish(e)
		}
	}
}

// EventsSince returns logged events after seq, oldest first.
func (c *Clinic) EventsSince(ctx context.Context, seq uint64, limit int) ([]Event, error) {
	var out []Event
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketEvents, eventID(seq), func(_ string, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			if len(out) >= limit {
				return store.ErrStop
			}
			return nil
		})
	})
	return out, err
}
