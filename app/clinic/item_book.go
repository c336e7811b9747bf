package clinic

import (
	"context"
	"errors"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Booking from a request: the front desk books the visit a patient asked
// for from the request itself. One transaction creates the appointment,
// closes the request as "booked" with the appointment linked both ways,
// writes the thread line the patient reads ("Your appointment is booked for
// …", in their language) and queues the usual reply email.

// ErrClosedDay refuses a booking on a day the clinic's hours or holidays
// say it is closed, until the person confirms it (BookInput.ClosedDayOK),
// the way the appointment import warns about such rows.
var ErrClosedDay = errors.New("clinic: the clinic is closed that day")

// Booking is what a request booked: the appointment and its time, kept on
// the item so the thread can say when without opening the appointment.
type Booking struct {
	ApptID   string    `json:"appt_id"`
	StartsAt time.Time `json:"starts_at"`
}

// BookedLine is the thread's system line for a booking; the patient's page
// and the console word it from the item's Booking.
const BookedLine = "booked"

// BookInput books the visit a request asked for. PatientID, when given,
// must be the request's patient (a form prefilled from the request sends
// it back, so a mix-up of two requests is caught).
type BookInput struct {
	ApptInput
	ClosedDayOK bool // book even though the clinic is closed that day
}

// BookFromItem books an appointment for an appointment request and closes
// the request with it, in one transaction (see above). It answers the
// appointment and the closed request.
func (c *Clinic) BookFromItem(ctx context.Context, a Actor, id string, in BookInput) (Appointment, Item, error) {
	if a.Kind != ActorStaff {
		return Appointment{}, Item{}, ErrForbidden
	}
	if !validItemID(id) {
		return Appointment{}, Item{}, ErrNotFound
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Appointment{}, Item{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return Appointment{}, Item{}, err
	}
	if m.Type != TypeAppointment {
		return Appointment{}, Item{}, inputErr("type", "Only an appointment request can be booked from here. Use the board to book.")
	}
	if m.Status == StatusClosed {
		return Appointment{}, Item{}, inputErr("status", "This request is closed already. Reopen it first, or book from the board.")
	}
	if m.PatientID == "" {
		return Appointment{}, Item{}, inputErr("patient_id", "This request is not linked to a patient's record yet. Check who it is and link them first.")
	}
	if in.PatientID != "" && in.PatientID != m.PatientID {
		return Appointment{}, Item{}, inputErr("patient_id", "This request is from another patient. Book for the patient who asked, or use the board.")
	}
	in.PatientID = m.PatientID
	now := c.now()
	if err := in.check(now); err != nil {
		return Appointment{}, Item{}, err
	}
	if in.StartsAt.Before(now) {
		return Appointment{}, Item{}, inputErr("starts_at", "That time has passed. Choose a time from now on.")
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return Appointment{}, Item{}, err
	}
	if !in.ClosedDayOK && settings.hours().ClosedAllDay(in.StartsAt, settings.Location()) {
		return Appointment{}, Item{}, ErrClosedDay
	}
	if _, err := c.loadPatient(ctx, m.PatientID); err != nil {
		return Appointment{}, Item{}, err
	}
	nowUTC := now.UTC()
	ap := Appointment{ID: newTimeID(), PatientID: m.PatientID, StartsAt: in.StartsAt.UTC(), Minutes: in.Minutes, Provider: in.Provider,
		Location: in.Location, Reason: in.Reason, Status: ApptScheduled, Created: nowUTC, Updated: nowUTC, RequestID: id}
	sealedAppt, err := c.seal(vault.NewRef(bucketAppts, ap.ID, ap.PatientID), ap)
	if err != nil {
		return Appointment{}, Item{}, err
	}
	tk, pk := apptKeys(ap)
	out, sealedOut, err := c.replyMail(ctx, &Item{ItemMeta: m})
	if err != nil {
		return Appointment{}, Item{}, err
	}
	var evs []Event
	var sealedMsg []byte
	var msgID string
	it, err := c.changeItem(ctx, id, func(it *Item) error {
		if it.Status == StatusClosed {
			return inputErr("status", "This request was closed meanwhile. Reopen it first, or book from the board.")
		}
		it.Status, it.Closed, it.Outcome, it.ClosedReason = StatusClosed, nowUTC, "booked", ""
		it.Booking = &Booking{ApptID: ap.ID, StartsAt: ap.StartsAt}
		if it.FirstReply.IsZero() {
			it.FirstReply = nowUTC
		}
		it.Messages++
		msgID = messageID(id, it.Messages)
		var err error
		sealedMsg, err = c.seal(vault.NewRef(bucketMessages, msgID, it.owner()),
			Message{ID: msgID, ItemID: id, Kind: KindSystem, Body: BookedLine, At: nowUTC, AuthorID: a.ID})
		return err
	}, func(tx store.Tx, it *Item) error {
		evs = evs[:0]
		if err := tx.Put(bucketMessages, msgID, sealedMsg); err != nil {
			return err
		}
		if err := tx.Put(bucketAppts, ap.ID, sealedAppt); err != nil {
			return err
		}
		if err := tx.SetIndex(ixApptTime, tk, ap.ID); err != nil {
			return err
		}
		if err := tx.SetIndex(ixApptPatient, pk, ap.ID); err != nil {
			return err
		}
		if out != nil {
			if err := putOutMail(tx, out, sealedOut, nil); err != nil {
				return err
			}
		}
		if err := c.audit(tx, a, "appointment.create", "appointment:"+ap.ID, ap.PatientID); err != nil {
			return err
		}
		if err := c.audit(tx, a, "item.book", "item:"+id, it.PatientID); err != nil {
			return err
		}
		for _, e := range []Event{{Type: "appointment.new", ItemID: ap.ID}, {Type: "item.status", ItemID: id, Queue: it.Queue, Priority: it.Priority}} {
			ev, err := c.addEvent(tx, e)
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil {
		return Appointment{}, Item{}, err
	}
	for _, ev := range evs {
		c.publish(ev)
	}
	return ap, it, nil
}
