package clinic

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"hearth/app/i18n"
	"hearth/app/sms"
	"hearth/app/store"
	"hearth/app/vault"
)

// Texts the clinic sends: everything email sends, to patients who agreed to
// texts, through the same outbox. A text carries the clinic's name and a
// link, a reminder the day and time of the visit, an invite its code; never
// a name, a reason, a provider or any message text. Words come from the
// catalogue (text.*), in the patient's language.

// What a text is about (OutMail.Kind).
const (
	textKindReply    = "reply"
	textKindReminder = "reminder"
	textKindSignIn   = "signin"
	textKindInvite   = "invite"
	textKindAck      = "ack"
	textKindAnswer   = "answer" // the answer to a reminder reply
	textKindStop     = "stop"   // the one confirmation of STOP
	textKindStart    = "start"
	textKindHelp     = "help"
	textKindNotice   = "notice" // a conversation staff started, a notice
	textKindPage     = "page"   // the clinician on call
)

// newText prepares a text: queued now, or at 8 am when it is the quiet
// hours. A page goes at once, and so does an answer to a text the person
// just sent (its acknowledgement, with the emergency guidance when the
// words were urgent; a reminder answer; STOP, START and HELP) and a sign-in
// link they just asked for: quiet hours keep the clinic from starting a
// conversation at night, not from answering one. patientID may be "" for
// a number the clinic does not know.
func (c *Clinic) newText(s Settings, to, patientID, itemID, kind, body string) (outRecord, error) {
	now := c.now().UTC()
	m := &OutMail{ID: newTimeID(), Channel: ChannelSMS, Kind: kind, PatientID: patientID, ItemID: itemID, To: to,
		Body: body, State: MailQueued, NextAt: now, Created: now, AnyHour: anyHour(kind)}
	if until, quiet := s.quietUntil(now); quiet && !m.AnyHour {
		m.NextAt = until.UTC()
	}
	sealed, err := c.seal(outboxRef(*m), m)
	return outRecord{m: m, sealed: sealed}, err
}

// anyHour reports whether a text of this kind goes in the quiet hours too.
func anyHour(kind string) bool {
	switch kind {
	case textKindPage, textKindSignIn, textKindAck, textKindAnswer, textKindStop, textKindStart, textKindHelp:
		return true
	}
	return false
}

// textTr speaks to a patient by text: their language, the clinic's time
// zone.
func (c *Clinic) textTr(s Settings, lang string) (*i18n.Tr, error) { return c.mailTr(s, lang) }

// fromClinic puts the clinic's name in front of a text, so the patient
// knows who writes.
func fromClinic(tr *i18n.Tr, s Settings, text string) string {
	return tr.T("text.from", "clinic", s.ClinicName, "text", text)
}

// patientText prepares a text to a patient who agreed to texts, or nothing
// (a zero queued) when they did not, texts are off, or the link could not
// lead anywhere.
func (c *Clinic) patientText(s Settings, p Patient, itemID, kind string, words func(tr *i18n.Tr, base string) string) (outRecord, error) {
	if !s.TextsReady() || !p.mayText() || s.PublicURL == "" {
		return outRecord{}, nil
	}
	tr, err := c.textTr(s, p.Lang)
	if err != nil {
		return outRecord{}, err
	}
	return c.newText(s, p.Phone, p.ID, itemID, kind, fromClinic(tr, s, words(tr, strings.TrimRight(s.PublicURL, "/"))))
}

// replyText prepares the "you have a new reply" text for an item.
func (c *Clinic) replyText(ctx context.Context, it *Item) (outRecord, error) {
	if it.PatientID == "" {
		return outRecord{}, nil
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return outRecord{}, err
	}
	p, err := c.loadPatient(ctx, it.PatientID)
	if err != nil {
		return outRecord{}, nil
	}
	return c.patientText(s, p, it.ID, textKindReply, func(tr *i18n.Tr, base string) string {
		return tr.T("text.reply", "link", base+"/t/"+it.ID)
	})
}

// reminderText prepares an appointment reminder: the day and time, and
// how to answer by text.
func (c *Clinic) reminderText(s Settings, p Patient, ap Appointment) (outRecord, error) {
	return c.patientText(s, p, "", textKindReminder, func(tr *i18n.Tr, base string) string {
		return tr.T("text.reminder", "when", tr.Format("mail.reminder.when", ap.StartsAt), "link", base+"/me")
	})
}

// MayTextPatient says whether staff can text this patient now: texts are
// set up, and the patient has a mobile number, agreed, and did not text
// STOP. Its error says what is missing, in words.
func (c *Clinic) MayTextPatient(ctx context.Context, a Actor, patientID string) error {
	_, _, err := c.textablePatient(ctx, a, patientID)
	return err
}

func (c *Clinic) textablePatient(ctx context.Context, a Actor, patientID string) (Settings, Patient, error) {
	if a.Kind != ActorStaff {
		return Settings{}, Patient{}, ErrForbidden
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return s, Patient{}, err
	}
	if !s.TextsReady() {
		return s, Patient{}, inputErr("text", "Texts are not set up. An owner sets them up in Settings, Text messages.")
	}
	p, err := c.loadPatient(ctx, patientID)
	if err != nil {
		return s, p, ErrNotFound
	}
	if !p.mayText() {
		return s, p, inputErr("text", "This patient has not agreed to texts, has no mobile number, or texted STOP. Give them the letter instead.")
	}
	return s, p, nil
}

// TextInvite texts a patient the invite CreateInvite just made: the link
// (with the code in it) and the code. The patient must have agreed to
// texts (MayTextPatient).
func (c *Clinic) TextInvite(ctx context.Context, a Actor, inv Invite, code, link string) error {
	s, p, err := c.textablePatient(ctx, a, inv.PatientID)
	if err != nil {
		return err
	}
	tr, err := c.textTr(s, p.Lang)
	if err != nil {
		return err
	}
	q, err := c.newText(s, p.Phone, p.ID, "", textKindInvite, fromClinic(tr, s, tr.T("text.invite", "code", groupCode(code), "link", link)))
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		if err := putOutRecords(tx, []outRecord{q}); err != nil {
			return err
		}
		return c.audit(tx, a, "invite.text", "invite:"+inv.ID, p.ID)
	})
}

// SendTestText sends a test text now through t and returns the transport's
// answer in words (an *InputError on field "sms" when it failed).
func (c *Clinic) SendTestText(ctx context.Context, a Actor, to string, t TextSender) error {
	if a.Role != RoleOwner {
		return ErrForbidden
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	if !s.TextsReady() || t == nil {
		return inputErr("sms", "Choose a gateway or a modem and save the settings first.")
	}
	e164, _, err := sms.Normalize(to, s.region())
	if err != nil {
		return inputErr("to", "That number cannot be read. Write it with its area code.")
	}
	tr, err := c.textTr(s, i18n.Default) // to the owner, who reads the console's language
	if err != nil {
		return err
	}
	if _, err := t.Send(ctx, sms.Message{To: e164, Body: tr.T("text.test", "clinic", s.ClinicName)}); err != nil {
		return &InputError{Field: "sms", Msg: err.Error()}
	}
	return c.Audit(ctx, a, AuditEvent{Action: "sms.test", Object: "settings"})
}

// textChanged tells the staff who may see the item a text is about that
// its state changed, so its timeline shows it.
func (c *Clinic) textChanged(ctx context.Context, m OutMail) {
	if m.ItemID == "" || !validItemID(m.ItemID) {
		return
	}
	var ev Event
	err := c.st.Update(ctx, func(tx store.Tx) error {
		meta, err := getMetaRec(tx, m.ItemID)
		if err != nil {
			return err
		}
		ev, err = c.addEvent(tx, Event{Type: "item.text", ItemID: meta.ID, Queue: meta.Queue, Priority: meta.Priority})
		return err
	})
	if err != nil {
		c.log.Error("could not announce a text's state", "err", err)
		return
	}
	c.publish(ev)
}

// OutboxRow is one outbox record as the owner's outbox view and an item's
// timeline show it: no address, no words, no name.
type OutboxRow struct {
	ID          string    `json:"id"`
	Channel     string    `json:"channel"`
	Kind        string    `json:"kind,omitempty"`
	PatientID   string    `json:"patient_id,omitempty"`
	ItemID      string    `json:"item_id,omitempty"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	NextAt      time.Time `json:"next_at,omitzero"`
	Held        bool      `json:"held,omitempty"` // a text waiting for the end of the quiet hours
	LastError   string    `json:"last_error,omitempty"`
	Created     time.Time `json:"created"`
	SentAt      time.Time `json:"sent_at,omitzero"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

func (c *Clinic) outboxRow(m OutMail) OutboxRow {
	r := OutboxRow{ID: m.ID, Channel: m.channel(), Kind: m.Kind, PatientID: m.PatientID, ItemID: m.ItemID, State: m.State,
		Attempts: m.Attempts, LastError: m.LastError, Created: m.Created, SentAt: m.SentAt, DeliveredAt: m.DeliveredAt}
	if m.State == MailQueued {
		r.NextAt = m.NextAt
		// Only the quiet hours put off a text's first try.
		r.Held = m.channel() == ChannelSMS && !m.AnyHour && m.Attempts == 0 && m.NextAt.After(c.now())
	}
	return r
}

// Outbox lists the newest outbox records (at most limit) for the owner's
// outbox view.
func (c *Clinic) Outbox(ctx context.Context, a Actor, limit int) ([]OutboxRow, error) {
	if a.Role != RoleOwner {
		return nil, ErrForbidden
	}
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	var out []OutboxRow
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixOutboxRecent, store.Range{Reverse: true, Limit: limit}, func(_ []byte, id string) error {
			var m OutMail
			if err := c.open(tx, vault.RefAnyPatient(bucketOutbox, id), &m); err != nil {
				return err
			}
			out = append(out, c.outboxRow(m))
			return nil
		})
	})
	return out, err
}

// itemTexts lists the outbox records about an item, oldest first, for its
// timeline. The caller has checked that a may open the item.
func (c *Clinic) itemTexts(ctx context.Context, itemID string) ([]OutboxRow, error) {
	var out []OutboxRow
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixOutboxItem, store.Range{Prefix: idBytes(itemID)}, func(_ []byte, id string) error {
			var m OutMail
			if err := c.open(tx, vault.RefAnyPatient(bucketOutbox, id), &m); err != nil {
				return err
			}
			out = append(out, c.outboxRow(m))
			return nil
		})
	})
	return out, err
}

// RequestSignInText texts a sign-in link to the patient with this mobile
// number, if exactly one patient has it and agreed to texts. Like
// RequestSignInLink it says nothing about whether the number is on file.
func (c *Clinic) RequestSignInText(ctx context.Context, phone, client string) error {
	s, err := c.Settings(ctx)
	if err != nil || !s.TextsReady() || s.PublicURL == "" {
		return err
	}
	e164, _, err := sms.Normalize(phone, s.region())
	if err != nil {
		return nil
	}
	ps, err := c.patientsByPhone(ctx, e164)
	if err != nil {
		return err // a failed search is not "no such number": nothing was sent
	}
	if len(ps) != 1 || !ps[0].mayText() {
		c.auditFailure(ctx, Actor{Kind: ActorSystem, Client: client}, AuditEvent{Action: "signin_link.request", Outcome: "failed"})
		return nil
	}
	p := ps[0]
	token := RandomToken()
	b, err := json.Marshal(signInLink{PatientID: p.ID, Expires: c.now().UTC().Add(SignInLinkLife)})
	if err != nil {
		return err
	}
	q, err := c.patientText(s, p, "", textKindSignIn, func(tr *i18n.Tr, base string) string {
		return tr.T("text.signin", "link", base+"/l/"+token, "minutes", int(SignInLinkLife/time.Minute))
	})
	if err != nil || q.m == nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketSignInLinks, hex.EncodeToString(hashKey(token)), b); err != nil {
			return err
		}
		if err := putOutRecords(tx, []outRecord{q}); err != nil {
			return err
		}
		return c.audit(tx, Actor{Kind: ActorSystem, Client: client}, "signin_link.request", "patient:"+p.ID, p.ID)
	})
}
