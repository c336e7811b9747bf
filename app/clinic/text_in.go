package clinic

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"hearth/app/i18n"
	"hearth/app/sms"
	"hearth/app/store"
	"hearth/app/vault"
)

// Texts that arrive, from the gateway's webhook or the modem, all through
// ReceiveText:
//   - STOP, ALTO, PARAR, UNSUBSCRIBE end every text to that number at once
//     (one confirmation goes); START resumes; HELP or AYUDA answers with the
//     clinic's name and phone.
//   - From a known patient's mobile: an answer to a reminder (C, 1, YES, SI
//     confirm; X, 2, CANCEL, CANCELAR cancel; R, 3 ask for another time), or
//     else a reply on their most recent open request, or a new message item;
//     urgent wording always opens a new item in the urgent lane. Anything
//     that is not an answer becomes an item: a patient is never told
//     "invalid response".
//   - From a number the clinic does not know (or shared by several
//     patients): an unverified contact's item for the front desk to link,
//     like the no-account contact form.
//
// The sender is acknowledged by text with the honest reply-by time (the
// closed-clinic rule of the patient pages). A gateway's message id is
// handled once; each number may send at most textBurst texts per
// textWindow, and the rest are dropped (and counted in the log).

// MaxTextBody is the longest inbound text kept; the rest is cut off.
const MaxTextBody = 1600

const (
	textBurst  = 20
	textWindow = 10 * time.Minute
)

// textLimiter counts inbound texts per number (by a hash of the number).
type textLimiter struct {
	mu   sync.Mutex
	seen map[string][]time.Time
}

func (l *textLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string][]time.Time{}
	}
	if len(l.seen) > 10000 { // forget everyone rather than grow without end
		l.seen = map[string][]time.Time{}
	}
	ts := slices.DeleteFunc(l.seen[key], func(t time.Time) bool { return now.Sub(t) > textWindow })
	if len(ts) >= textBurst {
		l.seen[key] = ts
		return false
	}
	l.seen[key] = append(ts, now)
	return true
}

// The words that steer texts, folded (lower case, no accents).
var (
	wordsStop    = []string{"stop", "alto", "parar", "unsubscribe", "stopall", "cancel all", "end", "quit"}
	wordsStart   = []string{"start", "unstop", "yes start"}
	wordsHelp    = []string{"help", "ayuda", "info"}
	wordsConfirm = []string{"c", "1", "yes", "si", "y", "confirm", "confirmar"}
	wordsCancel  = []string{"x", "2", "cancel", "cancelar"}
	wordsAnother = []string{"r", "3"}
)

// spanishWords are the steering words that say the sender writes Spanish.
var spanishWords = []string{"alto", "parar", "ayuda", "si", "cancelar", "confirmar"}

// ReceiveText handles one text that arrived, or a delivery report (in.Status
// set) for one the clinic sent.
func (c *Clinic) ReceiveText(ctx context.Context, in sms.Inbound) error {
	if c.v.Locked() {
		return ErrLocked // the number cannot be looked up; the gateway tries again
	}
	if in.Status != "" {
		return c.TextStatus(ctx, in.SID, in.Status)
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	from := strings.TrimSpace(in.From)
	if e, _, err := sms.Normalize(from, s.region()); err == nil {
		from = e
	}
	if from == "" {
		return inputErr("From", "A text without a sender cannot be answered.")
	}
	key, err := c.v.BlindToken("sms_from", from)
	if err != nil {
		return ErrLocked
	}
	if !c.texts.allow(string(key), c.now()) {
		c.log.Warn("an inbound text was dropped: too many from one number")
		return nil
	}
	if in.SID != "" {
		first, err := c.claimTextSID(ctx, in.SID)
		if err != nil || !first {
			return err
		}
		if err := c.receiveText(ctx, s, from, in.Body); err != nil {
			c.releaseTextSID(ctx, in.SID) // the gateway's retry may then succeed
			return err
		}
		return nil
	}
	return c.receiveText(ctx, s, from, in.Body)
}

// cleanText keeps at most MaxTextBody characters of what a phone sent, as
// valid text.
func cleanText(body string) string {
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.Map(func(r rune) rune {
		if r == 0 || r == '\uFFFD' || (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
			return -1
		}
		return r
	}, body)
	if r := []rune(body); len(r) > MaxTextBody {
		body = string(r[:MaxTextBody])
	}
	return strings.TrimSpace(body)
}

func (c *Clinic) receiveText(ctx context.Context, s Settings, from, body string) error {
	body = cleanText(body)
	word := nameKey(body)
	lang := i18n.Default
	if slices.Contains(spanishWords, word) && c.speaks("es") == "es" {
		lang = "es"
	}
	patients, err := c.patientsByPhone(ctx, from)
	if err != nil {
		return err
	}
	if len(patients) == 1 {
		lang = c.speaks(patients[0].Lang)
	}
	switch {
	case slices.Contains(wordsStop, word):
		return c.textStop(ctx, s, from, patients, lang)
	case slices.Contains(wordsStart, word):
		return c.textStart(ctx, s, from, patients, lang)
	case slices.Contains(wordsHelp, word):
		return c.textAnswer(ctx, s, from, patients, "", textKindHelp, lang, func(tr *i18n.Tr) string {
			if strings.TrimSpace(s.Phone) == "" {
				return tr.T("text.help_nophone")
			}
			return tr.T("text.help", "phone", s.Phone)
		})
	}
	if body == "" {
		return nil // an empty text asks nothing
	}
	if len(patients) != 1 {
		return c.textFromStranger(ctx, s, from, body, lang)
	}
	p := patients[0]
	a := Actor{Kind: ActorPatient, ID: "sms", Patient: p.ID, Client: "sms"}
	if done, err := c.textAnswersReminder(ctx, s, a, p, word); done || err != nil {
		return err
	}
	urgent, _ := c.triage(s).Match(body)
	if !urgent {
		if m, ok, err := c.openItemOf(ctx, p.ID); err != nil {
			return err
		} else if ok {
			if _, err := c.AddMessage(ctx, a, m.ID, body, false); err != nil {
				return err
			}
			return c.textAck(ctx, s, p.Phone, &p, m, false, false, nil)
		}
	}
	ack, err := c.CreateItem(ctx, a, NewItem{Type: TypeMessage, Body: body, Lang: p.Lang, Fields: map[string]string{}})
	if err != nil {
		return err
	}
	return c.textAck(ctx, s, p.Phone, &p, ack.Item.ItemMeta, ack.Urgent, ack.OnCallPaged, ack.Item.Urgent)
}

// openItemOf is the patient's most recently created request that is not
// closed.
func (c *Clinic) openItemOf(ctx context.Context, patientID string) (ItemMeta, bool, error) {
	metas, err := c.ownerMetas(ctx, patientID)
	if err != nil {
		return ItemMeta{}, false, err
	}
	for _, m := range metas {
		if m.Status != StatusClosed {
			return m, true, nil
		}
	}
	return ItemMeta{}, false, nil
}

// textFromStranger files a text from a number no single patient has as an
// unverified contact's item, and acknowledges it.
func (c *Clinic) textFromStranger(ctx context.Context, s Settings, from, body, lang string) error {
	ct := Contact{ID: newID(), Phone: from, Lang: lang, Created: c.now().UTC()}
	sealed, err := c.seal(vault.NewRef(bucketContacts, ct.ID, "contact:"+ct.ID), ct)
	if err != nil {
		return err
	}
	a := Actor{Kind: ActorContact, ID: ct.ID, Client: "sms"}
	if err := c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketContacts, ct.ID, sealed); err != nil {
			return err
		}
		return c.audit(tx, a, "contact.create", "contact:"+ct.ID, "")
	}); err != nil {
		return err
	}
	ack, err := c.CreateItem(ctx, a, NewItem{Type: TypeMessage, Body: body, Lang: lang, Fields: map[string]string{}})
	if err != nil {
		return err
	}
	return c.textAck(ctx, s, from, nil, ack.Item.ItemMeta, ack.Urgent, ack.OnCallPaged, ack.Item.Urgent)
}

// textAck tells the sender their text arrived and when a person answers,
// with the patient pages' words: while the clinic is closed, when it opens
// and the after-hours line, never an earlier promise; for urgent wording
// the emergency number first, and the crisis line for self-harm wording.
func (c *Clinic) textAck(ctx context.Context, s Settings, to string, p *Patient, m ItemMeta, urgent, paged bool, cats []string) error {
	lang := i18n.Default
	patientID := ""
	if p != nil {
		lang, patientID = p.Lang, p.ID
	} else if m.ContactID != "" {
		if ct, err := c.loadContact(ctx, m.ContactID); err == nil {
			lang = ct.Lang
		}
	}
	tr, err := c.textTr(s, lang)
	if err != nil {
		return err
	}
	now := c.now()
	loc, hours := s.Location(), s.hours()
	parts := []string{tr.T("ack.title") + "."}
	if urgent {
		emergency := s.EmergencyNumber
		if emergency == "" {
			emergency = "911"
		}
		parts = append(parts, tr.T("ack.emergency")+" "+emergency+".")
		if slices.Contains(cats, "suicide") && s.Crisis() != "" {
			parts = append(parts, tr.T("text.crisis", "line", s.Crisis()))
		}
	}
	if paged {
		// Only when a page really went out (oncall.go), as on the
		// patient pages.
		parts = append(parts, tr.T("ack.oncall"))
	}
	if !hours.IsOpen(now, loc) {
		parts = append(parts, tr.T("ack.closed", "time", tr.When(hours.NextOpen(now, loc))), tr.T("ack.read", "clinic", s.ClinicName))
		if s.AfterHoursPhone != "" {
			parts = append(parts, tr.T("ack.line")+" "+s.AfterHoursPhone)
		}
	} else {
		parts = append(parts, tr.T("ack.due", "clinic", s.ClinicName, "time", tr.When(s.ReplyBy(now, m.Type, urgent))))
	}
	if !s.TextsReady() {
		return nil
	}
	q, err := c.newText(s, to, patientID, m.ID, textKindAck, fromClinic(tr, s, strings.Join(parts, " ")))
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error { return putOutRecords(tx, []outRecord{q}) })
}

// textAnswer queues a short answer to a number (HELP, START, STOP, a
// reminder answer).
func (c *Clinic) textAnswer(ctx context.Context, s Settings, to string, patients []Patient, itemID, kind, lang string, words func(tr *i18n.Tr) string) error {
	if !s.TextsReady() {
		return nil
	}
	tr, err := c.textTr(s, lang)
	if err != nil {
		return err
	}
	patientID := ""
	if len(patients) == 1 {
		patientID = patients[0].ID
	}
	q, err := c.newText(s, to, patientID, itemID, kind, fromClinic(tr, s, words(tr)))
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error { return putOutRecords(tx, []outRecord{q}) })
}

// textStop ends every text to a number: the number's stop record (which
// the outbox checks before each text, so queued ones never go), and on
// each patient with that number the opt-out staff see on the record.
func (c *Clinic) textStop(ctx context.Context, s Settings, from string, patients []Patient, lang string) error {
	already, err := c.textStopped(ctx, from)
	if err != nil {
		return err
	}
	if err := c.putTextStop(ctx, from); err != nil {
		return err
	}
	for _, p := range patients {
		p.SMSStopped = c.now().UTC()
		if err := c.savePatient(ctx, Actor{Kind: ActorPatient, ID: "sms", Patient: p.ID, Client: "sms"}, p, "patient.sms_stop"); err != nil {
			return err
		}
	}
	if already {
		return nil // one confirmation only
	}
	return c.textAnswer(ctx, s, from, patients, "", textKindStop, lang, func(tr *i18n.Tr) string { return tr.T("text.stop") })
}

// textStart resumes texts to a number that texted STOP.
func (c *Clinic) textStart(ctx context.Context, s Settings, from string, patients []Patient, lang string) error {
	if err := c.clearTextStop(ctx, from); err != nil {
		return err
	}
	for _, p := range patients {
		if p.SMSStopped.IsZero() {
			continue
		}
		p.SMSStopped = time.Time{}
		if err := c.savePatient(ctx, Actor{Kind: ActorPatient, ID: "sms", Patient: p.ID, Client: "sms"}, p, "patient.sms_start"); err != nil {
			return err
		}
	}
	return c.textAnswer(ctx, s, from, patients, "", textKindStart, lang, func(tr *i18n.Tr) string { return tr.T("text.start") })
}

// textAnswersReminder reads a reply to a reminder: the patient's next
// reminded appointment is confirmed, cancelled, or a request for another
// time is filed. It reports false when the text is not such an answer.
func (c *Clinic) textAnswersReminder(ctx context.Context, s Settings, a Actor, p Patient, word string) (bool, error) {
	action := ""
	switch {
	case slices.Contains(wordsConfirm, word):
		action = "confirm"
	case slices.Contains(wordsCancel, word):
		action = "cancel"
	case slices.Contains(wordsAnother, word):
		action = "reschedule"
	default:
		return false, nil
	}
	appts, err := c.PatientAppointments(ctx, a)
	if err != nil {
		return false, err
	}
	var ap *Appointment
	for i := range appts {
		x := appts[i]
		if x.StartsAt.After(c.now().Add(-time.Hour)) && x.Status != ApptCancelled && len(x.Reminded) > 0 {
			ap = &x
			break
		}
	}
	if ap == nil {
		return false, nil // no reminder to answer: the text becomes an item
	}
	tr, err := c.textTr(s, p.Lang)
	if err != nil {
		return false, err
	}
	preferred := ""
	if action == "reschedule" {
		preferred = tr.T("text.another_asked")
	}
	got, err := c.AnswerAppointment(ctx, a, ap.ID, action, preferred)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return false, nil // it cannot be answered any more: an item, so a person sees it
		}
		return false, err
	}
	when := tr.Format("mail.reminder.when", got.StartsAt)
	key := map[string]string{"confirm": "text.confirmed", "cancel": "text.cancelled", "reschedule": "text.another"}[action]
	return true, c.textAnswer(ctx, s, p.Phone, []Patient{p}, got.ItemID, textKindAnswer, p.Lang, func(tr *i18n.Tr) string {
		return tr.T(key, "when", when, "phone", s.Phone)
	})
}

// patientsByPhone finds the patients whose number on file is e164 (found
// through the blind index of the number's last ten digits, then compared
// in full).
func (c *Clinic) patientsByPhone(ctx context.Context, e164 string) ([]Patient, error) {
	s, err := c.Settings(ctx)
	if err != nil {
		return nil, err
	}
	d := phoneDigits(e164)
	if len(d) < 7 {
		return nil, nil
	}
	tok, err := c.v.BlindToken("phone", d)
	if err != nil {
		return nil, ErrLocked
	}
	var ids []string
	if err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixPatientSearch, store.Range{Prefix: tok, Limit: 20}, func(_ []byte, id string) error {
			ids = append(ids, id)
			return nil
		})
	}); err != nil {
		return nil, err
	}
	var out []Patient
	for _, id := range ids {
		p, err := c.loadPatient(ctx, id)
		if err != nil {
			continue // merged away or damaged: not this sender
		}
		// A record written before numbers were kept in E.164 is read
		// the same way now.
		if p.Phone == e164 || !strings.HasPrefix(p.Phone, "+") && samePhone(s, p.Phone, e164) {
			out = append(out, p)
		}
	}
	return out, nil
}

// claimTextSID records that the text with this id is being handled; false
// when it was already.
func (c *Clinic) claimTextSID(ctx context.Context, sid string) (bool, error) {
	k := hex.EncodeToString(hashKey(sid))
	b, err := json.Marshal(struct {
		At time.Time `json:"at"`
	}{c.now().UTC()})
	if err != nil {
		return false, err
	}
	first := false
	err = c.st.Update(ctx, func(tx store.Tx) error {
		first = false
		if _, err := tx.Get(bucketTextSeen, k); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		first = true
		return tx.Put(bucketTextSeen, k, b)
	})
	return first, err
}

func (c *Clinic) releaseTextSID(ctx context.Context, sid string) {
	k := hex.EncodeToString(hashKey(sid))
	if err := c.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(bucketTextSeen, k) }); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Error("could not forget a text that failed to be filed", "err", err)
	}
}

// TextStatus applies a delivery report to the text the transport called
// sid: delivered, or failed (then the front desk is asked to call).
// Reports of other states, or for texts the clinic does not know, change
// nothing.
func (c *Clinic) TextStatus(ctx context.Context, sid, status string) error {
	var state string
	switch strings.ToLower(status) {
	case "delivered":
		state = MailDelivered
	case "failed", "undelivered":
		state = MailFailed
	default:
		return nil
	}
	var m OutMail
	err := c.st.View(ctx, func(tx store.Tx) error {
		id, err := tx.Lookup(ixOutboxSID, hashKey(sid))
		if err != nil {
			return err
		}
		return c.open(tx, vault.RefAnyPatient(bucketOutbox, id), &m)
	})
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.State != MailSent {
		return nil // a report repeated, or come after another
	}
	done := m
	done.State = state
	if state == MailDelivered {
		done.DeliveredAt = c.now().UTC()
	} else {
		done.LastError = "the phone network could not deliver it"
	}
	if err := c.saveMail(ctx, m, done); err != nil {
		return err
	}
	if state == MailFailed {
		c.mailFailed(ctx, done, failedWords(done))
	}
	c.textChanged(ctx, done)
	return nil
}

// samePhone reports whether a number as typed is e164 in the clinic's
// country.
func samePhone(s Settings, typed, e164 string) bool {
	n, _, err := sms.Normalize(typed, s.region())
	return err == nil && n == e164
}
