package clinic

import (
	"context"
	"errors"

	"slices"
	"sort"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Appointments: staff book them (or import them), patients confirm, cancel
// or ask for another time with one tap, and the front desk's board shows
// who is confirmed, who to call and which slots opened up.

// Appointment statuses.
const (
	ApptScheduled   = "scheduled"
	ApptConfirmed   = "confirmed"
	ApptCancelled   = "cancelled"
	ApptReschedule  = "reschedule_requested"
	maxApptAhead    = 2 * 365 * 24 * time.Hour
	maxApptMinutes  = 8 * 60
	apptPastAllowed = 24 * time.Hour
)

// Appointment is one booked visit. Everything but the ids is PHI.
type Appointment struct {
	ID         string    `json:"id"`
	PatientID  string    `json:"patient_id"`
	StartsAt   time.Time `json:"starts_at"`
	Minutes    int       `json:"minutes"`
	Provider   string    `json:"provider"`
	Location   string    `json:"location"`
	Reason     string    `json:"reason"` // shown to the patient
	Status     string    `json:"status"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	ExternalID string    `json:"external_id,omitempty"` // the practice system's id, for imports
	Preferred  string    `json:"preferred,omitempty"`   // "another time": what the patient asked for
	ItemID     string    `json:"item_id,omitempty"`     // the front-desk item a reschedule request opened
	Reminded   []int     `json:"reminded,omitempty"`    // lead times (hours) already reminded
	RequestID  string    `json:"request_id,omitempty"`  // the appointment request it was booked from (item_book.go)
}

// ApptInput books an appointment.
type ApptInput struct {
	PatientID  string
	StartsAt   time.Time
	Minutes    int
	Provider   string
	Location   string
	Reason     string
	ExternalID string
}

func (in *ApptInput) check(now time.Time) error {
	if in.StartsAt.IsZero() {
		return inputErr("starts_at", "Give the date and time, like 2026-12-01T09:30:00-05:00.")
	}
	if in.StartsAt.Before(now.Add(-apptPastAllowed)) {
		return inputErr("starts_at", "That time has passed. Check the date.")
	}
	if in.StartsAt.After(now.Add(maxApptAhead)) {
		return inputErr("starts_at", "That is more than two years away. Check the year.")
	}
	if in.Minutes == 0 {
		in.Minutes = 15
	}
	if in.Minutes < 5 || in.Minutes > maxApptMinutes {
		return inputErr("minutes", "An appointment lasts between 5 minutes and 8 hours.")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"provider", &in.Provider}, {"location", &in.Location}, {"reason", &in.Reason}} {
		*f.v = strings.Join(strings.Fields(*f.v), " ")
		if len(*f.v) > 200 || !validText(*f.v) {
			return inputErr(f.name, "Keep it under 200 characters of plain text.")
		}
	}
	return nil
}

func apptKeys(a Appointment) (timeKey, patientKey []byte) {
	id := idBytes(a.ID)
	return cat(be64(a.StartsAt), id), cat([]byte(a.PatientID), []byte{0}, be64(a.StartsAt), id)
}

// CreateAppointment books a visit for a patient. A repeated external id
// (the same row imported twice) returns the existing one unchanged.
func (c *Clinic) CreateAppointment(ctx context.Context, a Actor, in ApptInput) (Appointment, bool, error) {
	if a.Kind != ActorStaff && a.Kind != ActorSystem {
		return Appointment{}, false, ErrForbidden
	}
	if err := in.check(c.now()); err != nil {
		return Appointment{}, false, err
	}
	if _, err := c.loadPatient(ctx, in.PatientID); err != nil {
		return Appointment{}, false, inputErr("patient_id", "Choose the patient this is for.")
	}
	now := c.now().UTC()
	ap := Appointment{ID: newTimeID(), PatientID: in.PatientID, StartsAt: in.StartsAt.UTC(), Minutes: in.Minutes, Provider: in.Provider,
		Location: in.Location, Reason: in.Reason, Status: ApptScheduled, Created: now, Updated: now, ExternalID: in.ExternalID}
	sealed, err := c.seal(vault.NewRef(bucketAppts, ap.ID, ap.PatientID), ap)
	if err != nil {
		return Appointment{}, false, err
	}
	tk, pk := apptKeys(ap)
	extKey := []byte(nil)
	if in.ExternalID != "" {
		extKey = hashKey("appt-ext:" + in.ExternalID)
	}
	var existing string
	var ev Event
	err = c.st.Update(ctx, func(tx store.Tx) error {
		existing = ""
		if extKey != nil {
			switch id, err := tx.Lookup(ixApptExternal, extKey); {
			case err == nil:
				existing = id
				return nil
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		if err := tx.Put(bucketAppts, ap.ID, sealed); err != nil {
			return err
		}
		if err := tx.SetIndex(ixApptTime, tk, ap.ID); err != nil {
			return err
		}
		if err := tx.SetIndex(ixApptPatient, pk, ap.ID); err != nil {
			return err
		}
		if extKey != nil {
			if err := tx.SetIndex(ixApptExternal, extKey, ap.ID); err != nil {
				return err
			}
		}
		if err := c.audit(tx, a, "appointment.create", "appointment:"+ap.ID, ap.PatientID); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: "appointment.new", ItemID: ap.ID})
		return err
	})
	if err != nil {
		return Appointment{}, false, err
	}
	if existing != "" {
		cur, err := c.appointment(ctx, existing)
		if err == nil && cur.PatientID != in.PatientID {
			// The outside system's id names another patient's visit: never
			// answer with that visit, and never drop this booking silently.
			return Appointment{}, false, inputErr("external_id", "That appointment number already belongs to another patient's appointment. Check the number, or book without it.")
		}
		return cur, false, err
	}
	c.publish(ev)
	return ap, true, nil
}

func (c *Clinic) appointment(ctx context.Context, id string) (Appointment, error) {
	var ap Appointment
	if !validItemID(id) {
		return ap, ErrNotFound
	}
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefAnyPatient(bucketAppts, id), &ap) })
	return ap, err
}

// ApptRow is an appointment with the patient's name, for staff.
type ApptRow struct {
	Appointment
	PatientName string `json:"patient_name"`
	PatientDOB  string `json:"patient_dob"`
	Phone       string `json:"phone"`
	HasChannel  bool   `json:"has_channel"` // the patient can be reminded (email on file, or texts agreed)
}

// ListAppointments returns the appointments starting in [from, to), in
// time order, for staff.
func (c *Clinic) ListAppointments(ctx context.Context, a Actor, from, to time.Time) ([]ApptRow, error) {
	if a.Kind != ActorStaff {
		return nil, ErrForbidden
	}
	if !to.After(from) || to.Sub(from) > 93*24*time.Hour {
		return nil, inputErr("to", "Ask for at most three months at a time, with to after from.")
	}
	var ids []string
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixApptTime, store.Range{After: be64(from.Add(-time.Millisecond))}, func(k []byte, id string) error {
			if !time.UnixMilli(int64(beUint(k[:8]))).Before(to) {
				return store.ErrStop
			}
			ids = append(ids, id)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var rows []ApptRow
	var shown []string
	for _, id := range ids {
		ap, err := c.appointment(ctx, id)
		if err != nil {
			return nil, err
		}
		row := ApptRow{Appointment: ap}
		if p, err := c.loadPatient(ctx, ap.PatientID); err == nil {
			row.PatientName, row.PatientDOB, row.Phone, row.HasChannel = p.Name, p.DOB, p.Phone, p.Email != "" || p.mayText()
		}
		rows = append(rows, row)
		shown = append(shown, ap.PatientID)
	}
	return rows, c.auditListed(ctx, a, "appointment.list", "appointments", shown)
}

// PatientAppointments lists a patient's appointments from a day ago on.
func (c *Clinic) PatientAppointments(ctx context.Context, a Actor) ([]Appointment, error) {
	if (a.Kind != ActorPatient && a.Kind != ActorCaregiver) || a.Patient == "" {
		return nil, nil
	}
	var ids []string
	from := c.now().Add(-apptPastAllowed)
	err := c.st.View(ctx, func(tx store.Tx) error {
		prefix := append([]byte(a.Patient), 0)
		return tx.Scan(ixApptPatient, store.Range{Prefix: prefix, After: cat(prefix, be64(from))}, func(_ []byte, id string) error {
			ids = append(ids, id)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []Appointment
	for _, id := range ids {
		ap, err := c.appointment(ctx, id)
		if err != nil {
			return nil, err
		}
		if ap.PatientID == a.Patient {
			out = append(out, ap)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
	return out, nil
}

// AnswerAppointment is the patient's one tap: confirm, cancel, or ask for
// another time (with their preferred days and times). Another time becomes
// an item in the front desk's queue, so it is never a dead end.
func (c *Clinic) AnswerAppointment(ctx context.Context, a Actor, id, action, preferred string) (Appointment, error) {
	ap, err := c.appointment(ctx, id)
	if err != nil || (a.Kind != ActorPatient && a.Kind != ActorCaregiver) || ap.PatientID != a.Patient {
		return Appointment{}, ErrNotFound
	}
	if !slices.Contains([]string{"confirm", "cancel", "reschedule"}, action) {
		return Appointment{}, inputErr("action", "Choose confirm, cancel or another time.")
	}
	if ap.Status == ApptCancelled {
		return Appointment{}, inputErr("action", "This appointment was cancelled. Ask for a new one if you need it.")
	}
	// A visit of an earlier day takes no more answers (today's still do:
	// a patient running late may still tap "confirm" on the way).
	settings, _ := c.Settings(ctx)
	now := c.now().In(settings.Location())
	if ap.StartsAt.Before(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())) {
		return Appointment{}, inputErr("action", "This appointment has passed. Call the clinic, or ask for a new appointment.")
	}
	preferred, err = cleanBody("preferred", preferred, false)
	if err != nil {
		return Appointment{}, err
	}
	if action == "reschedule" {
		if preferred == "" {
			return Appointment{}, inputErr("preferred", "Tell us which days and times work for you.")
		}
		settings, _ := c.Settings(ctx)
		loc := settings.Location()
		ack, err := c.CreateItem(ctx, a, NewItem{Type: TypeApptReply, Body: "Another time, please: " + preferred,
			Fields: map[string]string{"appointment_id": ap.ID, "preferred": preferred,
				"subject": "Another time for " + ap.StartsAt.In(loc).Format("Mon Jan 2 3:04 pm")}})
		if err != nil {
			return Appointment{}, err
		}
		ap.ItemID = ack.Item.ID
	}
	itemID := ap.ItemID
	var ev Event
	ap, _, err = c.updateAppointment(ctx, ap.ID, func(cur *Appointment) (bool, error) {
		if cur.Status == ApptCancelled {
			return false, inputErr("action", "This appointment was cancelled. Ask for a new one if you need it.")
		}
		cur.Status = map[string]string{"confirm": ApptConfirmed, "cancel": ApptCancelled, "reschedule": ApptReschedule}[action]
		cur.Preferred, cur.Updated = preferred, c.now().UTC()
		if action == "reschedule" {
			cur.ItemID = itemID
		}
		return true, nil
	}, func(tx store.Tx, cur Appointment) error {
		if err := c.audit(tx, a, "appointment."+action, "appointment:"+cur.ID, cur.PatientID); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: "appointment.status", ItemID: cur.ID})
		return err
	})
	if err != nil {
		return Appointment{}, err
	}
	c.publish(ev)
	return ap, nil
}

// updateAppointment changes one appointment the retry-safe way
// (changeSealed): a patient's answer and the reminder job never undo each
// other. change returns false to leave the record as it is; also adds its
// own writes to the same transaction.
func (c *Clinic) updateAppointment(ctx context.Context, id string, change func(ap *Appointment) (bool, error), also func(tx store.Tx, ap Appointment) error) (Appointment, bool, error) {
	r := reseal[Appointment]{bucket: bucketAppts, sealAs: func(ap Appointment) vault.Ref { return vault.NewRef(bucketAppts, id, ap.PatientID) }}
	if also != nil {
		r.also = func(tx store.Tx, ap *Appointment) error { return also(tx, *ap) }
	}
	return changeSealed(ctx, c, id, r, change)
}

// PatientAppointment opens one of the caller's own appointments (for the
// calendar file).
func (c *Clinic) PatientAppointment(ctx context.Context, a Actor, id string) (Appointment, error) {
	ap, err := c.appointment(ctx, id)
	if err != nil || (a.Kind != ActorPatient && a.Kind != ActorCaregiver) || ap.PatientID != a.Patient {
		return Appointment{}, ErrNotFound
	}
	return ap, nil
}

// ICS renders an appointment as an iCalendar file (RFC 5545). It carries
// the clinic, the time, the place and the reason the clinic wrote for the
// patient, nothing else.
func ICS(ap Appointment, clinicName, clinicPhone string, now time.Time) string {
	esc := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "")
	stamp := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	summary := "Appointment at " + clinicName
	if ap.Provider != "" {
		summary += " with " + ap.Provider
	}
	desc := ap.Reason
	if clinicPhone != "" {
		desc = strings.TrimSpace(desc + "\nTo change it, call " + clinicPhone + ".")
	}
	lines := []string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Hearth//Appointments//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
		"BEGIN:VEVENT",
		"UID:" + ap.ID + "@hearth",
		"DTSTAMP:" + stamp(now),
		"DTSTART:" + stamp(ap.StartsAt),
		"DTEND:" + stamp(ap.StartsAt.Add(time.Duration(ap.Minutes)*time.Minute)),
		"SUMMARY:" + esc.Replace(summary),
	}
	if ap.Location != "" {
		lines = append(lines, "LOCATION:"+esc.Replace(ap.Location))
	}
	if desc != "" {
		lines = append(lines, "DESCRIPTION:"+esc.Replace(desc))
	}
	if ap.Status == ApptCancelled {
		lines = append(lines, "STATUS:CANCELLED")
	} else {
		lines = append(lines, "STATUS:CONFIRMED")
	}
	lines = append(lines, "END:VEVENT", "END:VCALENDAR")
	var b strings.Builder
	for _, l := range lines {
		// Fold long lines at 75 octets, as the format asks.
		for len(l) > 75 {
			cut := 75
			for cut > 0 && (l[cut]&0xC0) == 0x80 {
				cut--
			}
			b.WriteString(l[:cut] + "\r\n ")
			l = l[cut:]
		}
		b.WriteString(l + "\r\n")
	}
	return b.String()
}
