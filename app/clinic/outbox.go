package clinic

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"hearth/app/i18n"
	"hearth/app/mail"
	"hearth/app/sms"
	"hearth/app/store"
	"hearth/app/vault"
)

// The outbox: every email and text Hearth sends is a sealed record with a
// channel and a delivery state. It is written in the same transaction as the
// change that caused it, sent only after that commit, retried with backoff,
// and a failure becomes an inbox item, so nothing is silently lost. A message
// is marked "sending" on disk before the server or transport is contacted:
// after a crash it is never sent a second time, and staff are told instead.
// Texts also wait out the quiet hours (8 pm to 8 am, clinic time) unless they
// page the clinician on call, and a delivery report moves a sent text to
// delivered or failed.
//
// Emails and texts carry no PHI: the clinic's name and a link, and for a
// reminder the day and time of the visit.

const maxAttempts = 5

// Delivery states (email and texts).
const (
	MailQueued    = "queued"
	MailSending   = "sending"
	MailSent      = "sent"
	MailDelivered = "delivered" // a delivery report said so (texts)
	MailFailed    = "failed"
)

// The channels an outbox record goes out on.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// OutMail is one email or text in the outbox.
type OutMail struct {
	ID        string    `json:"id"`
	Channel   string    `json:"channel,omitempty"` // "" (older records) is email
	Kind      string    `json:"kind,omitempty"`    // what it is about: reply, reminder, signin, invite, ack, ... (no PHI)
	PatientID string    `json:"patient_id,omitempty"`
	ItemID    string    `json:"item_id,omitempty"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
	Created   time.Time `json:"created"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	// Texts: the transport's id for the message (delivery reports name
	// it), when it was delivered, and whether it goes in the quiet hours
	// too (a page to the clinician on call; the one confirmation of STOP;
	// a sign-in link the patient is waiting for).
	SID         string    `json:"sid,omitempty"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	AnyHour     bool      `json:"any_hour,omitempty"`
}

// channel is the record's channel, email for records older than texts.
func (m OutMail) channel() string {
	if m.Channel == "" {
		return ChannelEmail
	}
	return m.Channel
}

// backoff is the wait before attempt n+1.
func backoff(n int) time.Duration {
	return []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour}[min(n, 4)]
}

// MailConfig is the clinic's mail server from the settings.
func (s Settings) MailConfig() mail.Config {
	return mail.Config{Host: s.SMTPHost, Port: s.SMTPPort, Mode: s.SMTPMode, User: s.SMTPUser, Password: s.SMTPPassword, From: s.MailFrom}
}

// MailReady reports whether email can be sent.
func (s Settings) MailReady() bool {
	// Without the public address, the links in an email would lead nowhere.
	return s.SMTPHost != "" && s.MailFrom != "" && s.PublicURL != ""
}

// unsubscribeMAC proves an opt-out link was made by this clinic for this patient.
func (c *Clinic) unsubscribeMAC(patientID string) string {
	key, err := c.v.BlindToken("unsubscribe", patientID)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(patientID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// UnsubscribeLink is the path of a patient's opt-out link.
func (c *Clinic) UnsubscribeLink(patientID string) string {
	return "/u/" + patientID + "/" + c.unsubscribeMAC(patientID)
}

// replyMail prepares the "you have a new reply" email for an item, or nil
// when the patient has no address, did not opt in, or mail is not set up.
func (c *Clinic) replyMail(ctx context.Context, it *Item) (*OutMail, []byte, error) {
	if it.PatientID == "" {
		return nil, nil, nil
	}
	s, err := c.Settings(ctx)
	if err != nil || !s.MailReady() {
		return nil, nil, err
	}
	p, err := c.loadPatient(ctx, it.PatientID)
	if err != nil || p.Email == "" || !p.EmailReplies {
		return nil, nil, nil
	}
	tr, err := c.mailTr(s, p.Lang)
	if err != nil {
		return nil, nil, err
	}
	base := strings.TrimRight(s.PublicURL, "/")
	body := tr.T("mail.reply.body", "clinic", s.ClinicName, "link", base+"/t/"+it.ID,
		"unsubscribe", base+c.UnsubscribeLink(p.ID))
	now := c.now().UTC()
	m := &OutMail{ID: newTimeID(), Kind: "reply", PatientID: p.ID, ItemID: it.ID, To: p.Email, Subject: tr.T("mail.reply.subject", "clinic", s.ClinicName),
		Body: body, State: MailQueued, NextAt: now, Created: now}
	sealed, err := c.seal(vault.NewRef(bucketOutbox, m.ID, p.ID), m)
	return m, sealed, err
}

func putOutMail(tx store.Tx, m *OutMail, sealed []byte, old *OutMail) error {
	if old != nil && old.State == MailQueued {
		if err := tx.DeleteIndex(ixOutboxDue, cat(be64(old.NextAt), idBytes(old.ID))); err != nil {
			return err
		}
	}
	if err := tx.Put(bucketOutbox, m.ID, sealed); err != nil {
		return err
	}
	if old == nil {
		if err := tx.SetIndex(ixOutboxRecent, idBytes(m.ID), m.ID); err != nil {
			return err
		}
		if m.ItemID != "" {
			if err := tx.SetIndex(ixOutboxItem, cat(idBytes(m.ItemID), idBytes(m.ID)), m.ID); err != nil {
				return err
			}
		}
	}
	if m.SID != "" && (old == nil || old.SID != m.SID) {
		if err := tx.SetIndex(ixOutboxSID, hashKey(m.SID), m.ID); err != nil {
			return err
		}
	}
	if m.State == MailQueued {
		return tx.SetIndex(ixOutboxDue, cat(be64(m.NextAt), idBytes(m.ID)), m.ID)
	}
	return nil
}

// outboxRef is where an outbox record is sealed: bound to its patient, or
// to nobody for an email to staff (a page to the person on call, oncall.go;
// the owner's certificate warning, certfiles.go).
func outboxRef(m OutMail) vault.Ref {
	if m.PatientID == "" {
		return vault.RefNoPatient(bucketOutbox, m.ID)
	}
	return vault.NewRef(bucketOutbox, m.ID, m.PatientID)
}

// saveMail reseals a changed outbox record (state changes).
func (c *Clinic) saveMail(ctx context.Context, old, m OutMail) error {
	sealed, err := c.seal(outboxRef(m), m)
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error { return putOutMail(tx, &m, sealed, &old) })
}

// Sender delivers one message (mail.Send in production).
type Sender func(ctx context.Context, cfg mail.Config, m mail.Message) error

// TextSender sends one text and returns the transport's id for it; an
// error wrapping sms.ErrPermanent will not go better on a retry. The
// running sms.Transport is one.
type TextSender interface {
	Send(ctx context.Context, m sms.Message) (string, error)
}

// Outlets are what the outbox sends with; a nil one leaves its channel's
// messages waiting.
type Outlets struct {
	Mail Sender
	Text TextSender
}

// SendDueMail sends the email that is due, one at a time, and returns how
// many went. Texts wait for SendDue with a text transport.
func (c *Clinic) SendDueMail(ctx context.Context, send Sender) (int, error) {
	return c.SendDue(ctx, Outlets{Mail: send})
}

// maxTextSegments is the longest text Hearth sends: ten parts.
const maxTextSegments = 10

// SendDue sends what is due on the outlets given, one at a time, and
// returns how many went.
func (c *Clinic) SendDue(ctx context.Context, out Outlets) (int, error) {
	if c.v.Locked() {
		return 0, nil
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return 0, err
	}
	now := c.now()
	ids, err := c.idsUntil(ctx, ixOutboxDue, store.Range{Limit: 500}, now)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, id := range ids {
		var m OutMail
		if err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefAnyPatient(bucketOutbox, id), &m) }); err != nil {
			return sent, err
		}
		if m.State != MailQueued {
			continue
		}
		switch m.channel() {
		case ChannelEmail:
			if out.Mail == nil || !s.MailReady() {
				continue
			}
		case ChannelSMS:
			if out.Text == nil || !s.TextsReady() {
				continue
			}
			held, err := c.holdText(ctx, s, m)
			if err != nil {
				return sent, err
			}
			if held {
				continue
			}
		}
		// On disk before the server hears of it: a crash now never sends twice.
		sending := m
		sending.State, sending.Attempts = MailSending, m.Attempts+1
		if err := c.saveMail(ctx, m, sending); err != nil {
			return sent, err
		}
		done := sending
		var err error
		if m.channel() == ChannelSMS {
			done.SID, err = c.sendText(ctx, s, out.Text, m)
		} else {
			err = out.Mail(ctx, s.MailConfig(), mail.Message{To: m.To, Subject: m.Subject, Body: m.Body})
		}
		switch {
		case err == nil:
			done.State, done.SentAt, done.LastError = MailSent, c.now().UTC(), ""
			sent++
		case done.Attempts >= maxAttempts || errors.Is(err, sms.ErrPermanent):
			done.State, done.LastError = MailFailed, err.Error()
		default:
			done.State, done.LastError, done.NextAt = MailQueued, err.Error(), c.now().UTC().Add(backoff(done.Attempts-1))
		}
		if err := c.saveMail(ctx, sending, done); err != nil {
			return sent, err
		}
		if done.State == MailFailed {
			c.mailFailed(ctx, done, failedWords(done))
		}
		if done.channel() == ChannelSMS {
			c.textChanged(ctx, done)
		}
	}
	return sent, nil
}

// failedWords says why a message finally failed, for the front desk.
func failedWords(m OutMail) string {
	if m.channel() == ChannelSMS {
		if m.Attempts >= maxAttempts {
			return "Hearth tried " + fmt.Sprint(maxAttempts) + " times. The last answer was: " + m.LastError
		}
		return "It could not be sent: " + m.LastError
	}
	return "Hearth tried " + fmt.Sprint(maxAttempts) + " times. The mail server said: " + m.LastError
}

// holdText keeps a text from going now: to a number that texted STOP it
// never goes (failed, with no item: the patient asked; only the STOP
// confirmation and an answer to HELP still go), and in the quiet hours it
// waits until 8 am unless it may go at any hour.
func (c *Clinic) holdText(ctx context.Context, s Settings, m OutMail) (bool, error) {
	if m.Kind != textKindStop && m.Kind != textKindHelp {
		stopped, err := c.textStopped(ctx, m.To)
		if err != nil {
			return true, err
		}
		if stopped {
			done := m
			done.State, done.LastError = MailFailed, "not sent: this number texted STOP"
			if err := c.saveMail(ctx, m, done); err != nil {
				return true, err
			}
			c.textChanged(ctx, done)
			return true, nil
		}
	}
	if m.AnyHour {
		return false, nil
	}
	until, quiet := s.quietUntil(c.now())
	if !quiet {
		return false, nil
	}
	later := m
	later.NextAt = until.UTC()
	return true, c.saveMail(ctx, m, later)
}

// sendText hands one text to the transport. A text longer than ten parts
// is refused before it is sent.
func (c *Clinic) sendText(ctx context.Context, s Settings, t TextSender, m OutMail) (string, error) {
	if n, _ := sms.Segments(m.Body); n > maxTextSegments {
		return "", fmt.Errorf("the text is %d parts long, more than %d: %w", n, maxTextSegments, sms.ErrPermanent)
	}
	if !s.servesNumber(m.To) {
		return "", fmt.Errorf("the number is in another country (%s), and Hearth texts only numbers of the clinic's country (%s): %w",
			sms.NumberRegion(m.To), s.region(), sms.ErrPermanent)
	}
	msg := sms.Message{To: m.To, Body: m.Body}
	if s.SMS.Transport == TextsGateway {
		msg.StatusCallback = s.HookURL()
	}
	return t.Send(ctx, msg)
}

// RecoverMail runs at start: a message left "sending" by a crash may or may
// not have left; it is not sent again, and staff are told.
func (c *Clinic) RecoverMail(ctx context.Context) error {
	if c.v.Locked() {
		return nil
	}
	var stuck []OutMail
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketOutbox, "", func(id string, raw []byte) error {
			var m OutMail
			if err := c.openRaw(vault.RefAnyPatient(bucketOutbox, id), raw, &m); err != nil {
				return err
			}
			if m.State == MailSending {
				stuck = append(stuck, m)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, m := range stuck {
		done := m
		done.State, done.LastError = MailFailed, "Hearth stopped while sending; it may or may not have been delivered, so it was not sent again"
		if err := c.saveMail(ctx, m, done); err != nil {
			return err
		}
		c.mailFailed(ctx, done, done.LastError)
		if done.channel() == ChannelSMS {
			c.textChanged(ctx, done)
		}
	}
	return nil
}

// mailFailed puts a failed email in front of the front desk.
func (c *Clinic) mailFailed(ctx context.Context, m OutMail, why string) {
	if m.PatientID == "" {
		return
	}
	// Staff read this in the console, which speaks the catalogue's default
	// language.
	s, err := c.Settings(ctx)
	if err != nil {
		c.log.Error("could not file the failed-email item", "err", err)
		return
	}
	tr, err := c.mailTr(s, i18n.Default)
	if err != nil {
		c.log.Error("could not file the failed-email item", "err", err)
		return
	}
	body, subject := tr.T("mail.undelivered.body", "why", why), tr.T("mail.undelivered.subject")
	if m.channel() == ChannelSMS {
		// The patient may have no other way in: someone calls them.
		body, subject = tr.T("text.undelivered.body", "why", why), tr.T("text.undelivered.subject")
	}
	if _, err := c.CreateItem(ctx, System, NewItem{Type: TypeMessage, PatientID: m.PatientID, Body: body,
		Fields: map[string]string{"subject": subject}, Linked: m.ItemID}); err != nil {
		c.log.Error("could not file the failed-email item", "err", err)
	}
}

// Unsubscribe turns reply emails off for a patient from the link in an email.
func (c *Clinic) Unsubscribe(ctx context.Context, patientID, mac string) error {
	want := c.unsubscribeMAC(patientID)
	if want == "" || !hmac.Equal([]byte(want), []byte(mac)) {
		return ErrNotFound
	}
	return c.SetEmailReplies(ctx, Actor{Kind: ActorPatient, ID: patientID, Patient: patientID}, false)
}

// SetEmailReplies is the patient's opt-in (or out) for reply emails.
func (c *Clinic) SetEmailReplies(ctx context.Context, a Actor, on bool) error {
	if a.Kind != ActorPatient || a.Patient == "" {
		return ErrForbidden
	}
	p, err := c.loadPatient(ctx, a.Patient)
	if err != nil {
		return err
	}
	if on && p.Email == "" {
		return inputErr("email_replies", "The clinic has no email address for you. Ask them to add it.")
	}
	p.EmailReplies = on
	return c.savePatient(ctx, a, p, "patient.email_replies")
}

// SendTestMail sends a test email now and returns the server's answer.
func (c *Clinic) SendTestMail(ctx context.Context, a Actor, to string, send Sender) error {
	if a.Role != RoleOwner {
		return ErrForbidden
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	if s.SMTPHost == "" || s.MailFrom == "" { // a test email has no links: the public address can wait
		return inputErr("smtp_host", "Set the mail server and the sender address first.")
	}
	tr, err := c.mailTr(s, i18n.Default) // to the owner, who reads the console's language
	if err != nil {
		return err
	}
	if err := send(ctx, s.MailConfig(), mail.Message{To: to, Subject: tr.T("mail.test.subject", "clinic", s.ClinicName),
		Body: tr.T("mail.test.body")}); err != nil {
		return &InputError{Field: "smtp_host", Msg: err.Error()}
	}
	return c.Audit(ctx, a, AuditEvent{Action: "mail.test", Object: "settings"})
}
