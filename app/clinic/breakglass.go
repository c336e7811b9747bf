package clinic

import (
	"context"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// BreakGlass lets a clinician open a patient's items outside their queues
// for an hour, with a reason. It is logged at high severity for the owner.
func (c *Clinic) BreakGlass(ctx context.Context, a Actor, patientID, reason string) error {
	if a.Kind != ActorStaff || a.Role != RoleClinician {
		return ErrForbidden
	}
	reason, err := cleanBody("reason", reason, true)
	if err != nil || len(reason) < 10 {
		return inputErr("reason", "Write why you need to open this record (at least a few words).")
	}
	if _, err := c.loadPatient(ctx, patientID); err != nil {
		return ErrNotFound
	}
	now := c.now().UTC()
	rec := struct {
		Staff, Patient, Reason string
		At, Until              time.Time
	}{a.ID, patientID, reason, now, now.Add(BreakGlassLifetime)}
	id := newID()
	sealed, err := c.seal(vault.NewRef(bucketBreakGlass, id, patientID), rec)
	if err != nil {
		return err
	}
	var ev Event
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketBreakGlass, id, sealed); err != nil {
			return err
		}
		key := cat([]byte(a.ID), []byte{0}, []byte(patientID), []byte{0}, be64(rec.Until))
		if err := tx.SetIndex(ixBreakGlassByStaff, key, id); err != nil {
			return err
		}
		if err := c.auditEvent(tx, auditHigh(a, "breakglass.open", "breakglass:"+id, patientID)); err != nil {
			return err
		}
		// The owners are told at once (the event names no one: the audit
		// log says who and whose record).
		ev, err = c.addEvent(tx, Event{Type: EventBreakGlass, Queue: OwnerQueue})
		return err
	})
	if err != nil {
		return err
	}
	c.publish(ev)
	return nil
}

// EventBreakGlass tells the owners' consoles that a clinician opened a
// record outside their queues.
const EventBreakGlass = "breakglass.opened"

// OwnerQueue is the queue name of events only owners see: no queue has it,
// and only the owner role may see every queue (Settings.MayQueue).
const OwnerQueue = "_owner"

// hasBreakGlass reports whether the staff member declared a break-glass
// reason for this patient that still holds. A failed read is an error, not
// "no reason given" (which would ask a clinician for one they just gave).
func (c *Clinic) hasBreakGlass(ctx context.Context, staffID, patientID string) (bool, error) {
	ok := false
	now := c.now()
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixBreakGlassByStaff, store.Range{Prefix: cat([]byte(staffID), []byte{0}, []byte(patientID), []byte{0})}, func(k []byte, _ string) error {
			until := time.UnixMilli(int64(beUint(k[len(k)-8:])))
			if now.Before(until) {
				ok = true
				return store.ErrStop
			}
			return nil
		})
	})
	return ok, err
}

// EventSignInFlood tells the owners' consoles that sign-ins are being held
// back: one address, or one account, used up its budget of wrong tries.
const EventSignInFlood = "signin.flood"

// SignInFlood records that the sign-in throttle held back what (an
// "address" or an "account") after its budget of wrong tries, and tells
// the owners at once: a high-severity audit event naming the client
// address (never the email tried), and a live notice on OwnerQueue.
func (c *Clinic) SignInFlood(ctx context.Context, what, client string) error {
	var ev Event
	err := c.st.Update(ctx, func(tx store.Tx) error {
		e := auditHigh(Actor{Kind: ActorSystem, Client: client}, "staff.signin_flood", what, "")
		e.Outcome = "throttled"
		if err := c.auditEvent(tx, e); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: EventSignInFlood, Queue: OwnerQueue})
		return err
	})
	if err != nil {
		return err
	}
	c.publish(ev)
	return nil
}
