package clinic

import (
	"context"
	"slices"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Appointment reminders go out at the clinic's lead times (by default two
// days and one day before), by email to patients who chose email and by
// text to patients who agreed to texts; for everyone else the appointment waits on /me, and the board marks who has
// no channel so the front desk can call.

// DefaultReminderHours are the lead times before an appointment.
var DefaultReminderHours = []int{48, 24}

func (s Settings) reminderHours() []int {
	if s.ReminderHours == nil {
		return DefaultReminderHours
	}
	return s.ReminderHours
}

// SendReminders queues the reminders that are due. It runs every minute.
func (c *Clinic) SendReminders(ctx context.Context) (int, error) {
	s, err := c.Settings(ctx)
	if err != nil || (!s.MailReady() && !s.TextsReady()) {
		return 0, err
	}
	leads := s.reminderHours()
	if len(leads) == 0 {
		return 0, nil
	}
	now := c.now()
	horizon := now.Add(time.Duration(slices.Max(leads)) * time.Hour)
	ids, err := c.idsUntil(ctx, ixApptTime, store.Range{After: be64(now)}, horizon)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		ap, err := c.appointment(ctx, id)
		if err != nil || ap.Status == ApptCancelled || ap.Status == ApptReschedule {
			continue
		}
		due := -1
		for _, h := range leads {
			if !now.Before(ap.StartsAt.Add(-time.Duration(h)*time.Hour)) && !slices.Contains(ap.Reminded, h) {
				due = h
			}
		}
		if due < 0 {
			continue
		}
		p, err := c.loadPatient(ctx, ap.PatientID)
		if err != nil {
			continue
		}
		var out *OutMail
		var sealedOut []byte
		if p.Email != "" && p.EmailReplies && s.MailReady() {
			tr, err := c.mailTr(s, p.Lang)
			if err != nil {
				return n, err
			}
			base := strings.TrimRight(s.PublicURL, "/")
			body := tr.T("mail.reminder.body", "clinic", s.ClinicName, "when", tr.Format("mail.reminder.when", ap.StartsAt),
				"link", base+"/me", "unsubscribe", base+c.UnsubscribeLink(p.ID))
			at := c.now().UTC()
			out = &OutMail{ID: newTimeID(), Kind: textKindReminder, PatientID: p.ID, To: p.Email, Subject: tr.T("mail.reminder.subject", "clinic", s.ClinicName),
				Body: body, State: MailQueued, NextAt: at, Created: at}
			if sealedOut, err = c.seal(vault.NewRef(bucketOutbox, out.ID, p.ID), out); err != nil {
				return n, err
			}
		}
		text, err := c.reminderText(s, p, ap)
		if err != nil {
			return n, err
		}
		// Every lead time that has passed counts as done, so a late start
		// sends one reminder, not several. The change is made on the stored
		// record as it is when written, so a patient's answer meanwhile is
		// kept, and one that cancelled gets no reminder.
		_, wrote, err := c.updateAppointment(ctx, ap.ID, func(cur *Appointment) (bool, error) {
			if cur.Status == ApptCancelled || cur.Status == ApptReschedule {
				return false, nil
			}
			changed := false
			for _, h := range leads {
				if !now.Before(cur.StartsAt.Add(-time.Duration(h)*time.Hour)) && !slices.Contains(cur.Reminded, h) {
					cur.Reminded = append(cur.Reminded, h)
					changed = true
				}
			}
			return changed, nil
		}, func(tx store.Tx, cur Appointment) error {
			if out != nil {
				if err := putOutMail(tx, out, sealedOut, nil); err != nil {
					return err
				}
			}
			if text.m != nil {
				if err := putOutRecords(tx, []outRecord{text}); err != nil {
					return err
				}
			}
			return c.audit(tx, System, "appointment.remind", "appointment:"+cur.ID, cur.PatientID)
		})
		if err != nil {
			return n, err
		}
		if wrote && out != nil {
			n++
		}
		if wrote && text.m != nil {
			n++
		}
	}
	return n, nil
}
