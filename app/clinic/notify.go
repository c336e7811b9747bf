package clinic

import (
	"strings"
	"time"

	"hearth/app/i18n"
	"hearth/app/sms"
	"hearth/app/store"
)

// Telling people that something waits for them in Hearth. Two functions do
// it and every feature goes through them, so a new channel (texts) is added
// in one place:
//
//   - notifyPatient tells a patient, on every channel they agreed to, that
//     the clinic has a message for them (a conversation staff started, a
//     notice);
//   - pageStaff pages a staff member (the on-call clinician) that an urgent
//     request is waiting.
//
// Email and texts (text_out.go) are the channels; texts to a patient wait
// out the quiet hours, a page does not.
//
// Both only prepare durable outbox records (outbox.go). The caller writes
// them in the same transaction as the change that causes them; the outbox
// sends them after the commit, marks each "sending" on disk before the
// transport is touched, and so sends each at most once across a crash.
// Neither ever carries PHI: the clinic's name and a link, nothing else.
// Caregivers have no address of their own in Hearth: they share the
// patient's view (/me), where the conversation waits for them too.

// The channels a patient can be told on are the outbox's (outbox.go):
// ChannelEmail and ChannelSMS.

// outRecord is a prepared outbox record with its sealed bytes, ready to be
// written in the caller's transaction.
type outRecord struct {
	m      *OutMail
	sealed []byte
}

// putOutRecords writes prepared outbox records in tx.
func putOutRecords(tx store.Tx, recs []outRecord) error {
	for _, r := range recs {
		if err := putOutMail(tx, r.m, r.sealed, nil); err != nil {
			return err
		}
	}
	return nil
}

// PatientChannels lists the channels a patient agreed to be told on and
// the clinic can use now; empty means the front desk must call.
func (s Settings) PatientChannels(p Patient) []string {
	var out []string
	if s.MailReady() && p.Email != "" && p.EmailReplies {
		out = append(out, ChannelEmail)
	}
	if s.TextsReady() && s.PublicURL != "" && p.mayText() {
		out = append(out, ChannelSMS)
	}
	return out
}

// patientNotice is what a patient is told about: a conversation waiting at
// /t/{ItemID}, not to be sent before NotBefore (quiet hours, pacing).
type patientNotice struct {
	ItemID    string
	NotBefore time.Time
}

// notifyPatient prepares "the clinic has a message for you" with the link,
// in the patient's language, on every channel they agreed to. It returns
// nothing (and no error) when the patient has no channel.
func (c *Clinic) notifyPatient(s Settings, p Patient, n patientNotice) ([]outRecord, error) {
	now := c.now().UTC()
	at := now
	if n.NotBefore.After(at) {
		at = n.NotBefore.UTC()
	}
	var out []outRecord
	for _, ch := range s.PatientChannels(p) {
		switch ch {
		case ChannelEmail:
			tr, err := c.mailTr(s, p.Lang)
			if err != nil {
				return nil, err
			}
			base := strings.TrimRight(s.PublicURL, "/")
			m := &OutMail{ID: newTimeID(), PatientID: p.ID, ItemID: n.ItemID, To: p.Email,
				Subject: tr.T("mail.conversation.subject", "clinic", s.ClinicName),
				Body: tr.T("mail.conversation.body", "clinic", s.ClinicName, "link", base+"/t/"+n.ItemID,
					"unsubscribe", base+c.UnsubscribeLink(p.ID)),
				State: MailQueued, NextAt: at, Created: now}
			sealed, err := c.seal(outboxRef(*m), m)
			if err != nil {
				return nil, err
			}
			out = append(out, outRecord{m, sealed})
		case ChannelSMS:
			tr, err := c.textTr(s, p.Lang)
			if err != nil {
				return nil, err
			}
			base := strings.TrimRight(s.PublicURL, "/")
			r, err := c.newText(s, p.Phone, p.ID, n.ItemID, textKindNotice,
				fromClinic(tr, s, tr.T("text.conversation", "link", base+"/t/"+n.ItemID)))
			if err != nil {
				return nil, err
			}
			if at.After(r.m.NextAt) { // pacing: never before NotBefore
				r.m.NextAt = at
				if r.sealed, err = c.seal(outboxRef(*r.m), r.m); err != nil {
					return nil, err
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// Pagee is one person an urgent page can go to, with where to reach them.
type Pagee struct {
	StaffID string `json:"staff_id"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
}

// pageChannels lists how a person can be paged now.
func (s Settings) pageChannels(who Pagee) []string {
	var out []string
	if s.MailReady() && who.Email != "" {
		out = append(out, ChannelEmail)
	}
	if _, _, err := sms.Normalize(who.Phone, s.region()); err == nil && s.TextsReady() && s.PublicURL != "" {
		out = append(out, ChannelSMS) // a page goes at any hour, quiet or not
	}
	return out
}

// staffPage is what a page points at: the item (opened in the console after
// sign-in) and the "I've got it" link.
type staffPage struct {
	ItemID  string
	AckPath string
}

// pageStaff prepares "Urgent request waiting in Hearth" with the links, on
// every channel the person can be reached on. Nothing is returned when
// there is none.
func (c *Clinic) pageStaff(s Settings, who Pagee, pg staffPage) ([]outRecord, error) {
	now := c.now().UTC()
	var out []outRecord
	for _, ch := range s.pageChannels(who) {
		switch ch {
		case ChannelEmail:
			tr, err := c.mailTr(s, i18n.Default) // staff read the console's language
			if err != nil {
				return nil, err
			}
			base := strings.TrimRight(s.PublicURL, "/")
			m := &OutMail{ID: newTimeID(), ItemID: pg.ItemID, To: who.Email,
				Subject: tr.T("mail.page.subject"),
				Body: tr.T("mail.page.body", "clinic", s.ClinicName, "link", base+"/staff/#/inbox/"+pg.ItemID,
					"ack", base+pg.AckPath),
				State: MailQueued, NextAt: now, Created: now}
			sealed, err := c.seal(outboxRef(*m), m)
			if err != nil {
				return nil, err
			}
			out = append(out, outRecord{m, sealed})
		case ChannelSMS:
			tr, err := c.textTr(s, i18n.Default)
			if err != nil {
				return nil, err
			}
			to, _, err := sms.Normalize(who.Phone, s.region())
			if err != nil {
				return nil, err
			}
			base := strings.TrimRight(s.PublicURL, "/")
			r, err := c.newText(s, to, "", pg.ItemID, textKindPage,
				tr.T("text.page", "clinic", s.ClinicName, "link", base+"/staff/#/inbox/"+pg.ItemID, "ack", base+pg.AckPath))
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}
