package clinic

import (
	"context"
	"slices"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Conversations staff start: "your results are in", "time for your
// recall visit". Each is an item like any other (a queue, the writer as
// owner, status waiting for the patient), so the patient's reply lands in
// the same thread and the same inbox with a due time. The patient is told
// on their channels (notify.go) with no PHI, finds it marked unread on /me,
// and staff see when the patient read it. A conversation written for later
// is a sealed schedule record that EveryMinute turns into the item, in one
// transaction, so it goes out exactly once and survives restarts.

// Conversation types staff choose from.
const (
	ConvMessage = "message"
	ConvResults = "results"
	ConvRecall  = "recall"
	ConvBilling = "billing"
	ConvOther   = "other"
)

// ConversationTypes lists what a conversation staff start can be about.
var ConversationTypes = []string{ConvMessage, ConvResults, ConvRecall, ConvBilling, ConvOther}

// waitingFor is how far ahead a conversation waiting for the patient is
// due: nothing is late until the patient answers, and then the reply gets
// the type's own due time (AddMessage).
const waitingFor = 180 * 24 * time.Hour

// Outreach marks an item staff started and what became of it.
type Outreach struct {
	Kind     string    `json:"kind"` // one of ConversationTypes
	By       string    `json:"by"`   // the staff member who wrote it
	NoticeID string    `json:"notice_id,omitempty"`
	Channels []string  `json:"channels,omitempty"` // where the patient was told
	Mail     []string  `json:"mail,omitempty"`     // the outbox records that told them
	ReadAt   time.Time `json:"read_at,omitzero"`   // when the patient (or a caregiver) first opened it
}

// NewConversation is what staff write to a patient.
type NewConversation struct {
	PatientID string
	Type      string // one of ConversationTypes
	Subject   string
	Body      string
	SendAt    time.Time // zero: now
}

// ConversationResult says what became of a new conversation.
type ConversationResult struct {
	ID        string    `json:"id"`
	Scheduled bool      `json:"scheduled"`
	SendAt    time.Time `json:"send_at,omitzero"`
	Channels  []string  `json:"channels"` // empty: nobody was told, the front desk should call
}

func checkConversation(typ, subject, body string) (string, string, InputErrors) {
	var es InputErrors
	if !slices.Contains(ConversationTypes, typ) {
		es = append(es, &InputError{Field: "type", Msg: "Choose what this is about: a message, results, a recall, billing or other."})
	}
	subject = strings.Join(strings.Fields(subject), " ")
	switch {
	case subject == "":
		es = append(es, &InputError{Field: "subject", Msg: "Write a subject, like \"Your results are in\"."})
	case len([]rune(subject)) > 120 || !validText(subject):
		es = append(es, &InputError{Field: "subject", Msg: "Keep the subject to one line of at most 120 characters."})
	}
	b, err := cleanBody("body", body, true)
	if err != nil {
		es = append(es, err.(*InputError))
	}
	return subject, b, es
}

func (in *NewConversation) check(now time.Time) error {
	subject, body, es := checkConversation(in.Type, in.Subject, in.Body)
	if !in.SendAt.IsZero() && in.SendAt.Before(now.Add(-time.Minute)) {
		es = append(es, &InputError{Field: "send_at", Msg: "That time has passed. Choose a later time, or send it now."})
	}
	if len(es) > 0 {
		return es.err()
	}
	in.Subject, in.Body = subject, body
	return nil
}

// convDraft is a conversation ready to become an item.
type convDraft struct {
	ID        string
	Patient   Patient
	By        Staff
	Kind      string
	Subject   string
	Body      string
	NoticeID  string
	NotBefore time.Time // the patient's notice waits until then (quiet hours)
}

// conversationQueue is where a conversation lives: its type's queue, or,
// when the writer's role may not work that queue, the first one it may, so
// the writer always sees the answer.
func (s Settings) conversationQueue(typ, role string) string {
	q := s.route(typ, false)
	if s.mayQueue(role, q) {
		return q
	}
	if qs := s.QueuesFor(role); len(qs) > 0 {
		return qs[0].ID
	}
	return q
}

// writeConversation makes the item and its notices in one transaction.
// guard (optional) runs first inside the transaction: true means the
// conversation already exists and nothing is written. also adds the
// caller's writes (a schedule record's removal, a notice's entry).
func (c *Clinic) writeConversation(ctx context.Context, a Actor, s Settings, d convDraft,
	guard func(tx store.Tx) (bool, error), also func(tx store.Tx, it Item) error) (Item, bool, error) {
	now := c.now().UTC()
	typ := TypeMessage
	if d.Kind == ConvBilling {
		typ = TypeBilling
	}
	outs, err := c.notifyPatient(s, d.Patient, patientNotice{ItemID: d.ID, NotBefore: d.NotBefore})
	if err != nil {
		return Item{}, false, err
	}
	or := &Outreach{Kind: d.Kind, By: d.By.ID, NoticeID: d.NoticeID}
	for _, o := range outs {
		or.Mail = append(or.Mail, o.m.ID)
		if ch := o.m.channel(); !slices.Contains(or.Channels, ch) {
			or.Channels = append(or.Channels, ch)
		}
	}
	msg := Message{ID: messageID(d.ID, 1), ItemID: d.ID, Kind: KindStaff, AuthorID: d.By.ID, AuthorName: d.By.SignedName(),
		AuthorRole: d.By.Role, Body: d.Body, At: now}
	it := Item{
		ItemMeta: ItemMeta{ID: d.ID, Type: typ, Queue: s.conversationQueue(typ, d.By.Role), Priority: PriorityNormal, Status: StatusWaiting,
			Assignee: d.By.ID, PatientID: d.Patient.ID, Created: now, Updated: now, Due: now.Add(waitingFor), FirstReply: now,
			Messages: 1, Seen: true},
		Subject: d.Subject, Fields: map[string]string{"subject": d.Subject}, Lang: d.Patient.Lang, Inline: []Message{msg},
		StaffReplied: now, Outreach: or,
	}
	sealed, err := c.seal(vault.NewRef(bucketItems, it.ID, it.PatientID), it)
	if err != nil {
		return Item{}, false, err
	}
	var ev Event
	wrote := false
	err = c.st.Update(ctx, func(tx store.Tx) error {
		wrote = false
		if guard != nil {
			skip, err := guard(tx)
			if err != nil || skip {
				return err
			}
		}
		if err := tx.Put(bucketItems, it.ID, sealed); err != nil {
			return err
		}
		if err := putMeta(tx, nil, it.ItemMeta); err != nil {
			return err
		}
		if err := putOutRecords(tx, outs); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx, it); err != nil {
				return err
			}
		}
		if err := c.audit(tx, a, "conversation.start", "item:"+it.ID, it.PatientID); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: "item.message", ItemID: it.ID, Queue: it.Queue, Priority: it.Priority})
		wrote = err == nil
		return err
	})
	if err != nil || !wrote {
		return Item{}, false, err
	}
	c.cacheItem(it)
	c.publish(ev)
	return it, true, nil
}

// scheduledConv is a conversation written to be sent later.
type scheduledConv struct {
	ID        string    `json:"id"` // the item's id once sent
	PatientID string    `json:"patient_id"`
	By        string    `json:"by"`
	Kind      string    `json:"kind"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	SendAt    time.Time `json:"send_at"`
	Created   time.Time `json:"created"`
}

// StartConversation writes to a patient: now, or at SendAt.
func (c *Clinic) StartConversation(ctx context.Context, a Actor, in NewConversation) (ConversationResult, error) {
	if a.Kind != ActorStaff {
		return ConversationResult{}, ErrForbidden
	}
	now := c.now().UTC()
	if err := in.check(now); err != nil {
		return ConversationResult{}, err
	}
	if err := c.mayReadPatient(a, in.PatientID); err != nil {
		return ConversationResult{}, err
	}
	p, err := c.loadPatient(ctx, in.PatientID)
	if err != nil {
		return ConversationResult{}, err
	}
	st, err := c.staffCached(ctx, a.ID)
	if err != nil {
		return ConversationResult{}, err
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return ConversationResult{}, err
	}
	id := newTimeID()
	if in.SendAt.After(now.Add(time.Minute)) {
		sc := scheduledConv{ID: id, PatientID: p.ID, By: st.ID, Kind: in.Type, Subject: in.Subject, Body: in.Body,
			SendAt: in.SendAt.UTC(), Created: now}
		sealed, err := c.seal(vault.NewRef(bucketScheduled, id, p.ID), sc)
		if err != nil {
			return ConversationResult{}, err
		}
		err = c.st.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put(bucketScheduled, id, sealed); err != nil {
				return err
			}
			if err := tx.SetIndex(ixScheduledDue, cat(be64(sc.SendAt), idBytes(id)), id); err != nil {
				return err
			}
			return c.audit(tx, a, "conversation.schedule", "item:"+id, p.ID)
		})
		if err != nil {
			return ConversationResult{}, err
		}
		return ConversationResult{ID: id, Scheduled: true, SendAt: sc.SendAt, Channels: s.PatientChannels(p)}, nil
	}
	it, _, err := c.writeConversation(ctx, a, s, convDraft{ID: id, Patient: p, By: st, Kind: in.Type, Subject: in.Subject, Body: in.Body}, nil, nil)
	if err != nil {
		return ConversationResult{}, err
	}
	return ConversationResult{ID: it.ID, Channels: it.Outreach.Channels}, nil
}

// PatientChannelsOf lists the channels a patient can be told on now, for
// the console to say before sending when nobody can be told.
func (c *Clinic) PatientChannelsOf(ctx context.Context, a Actor, patientID string) ([]string, error) {
	if a.Kind != ActorStaff {
		return nil, ErrForbidden
	}
	if err := c.mayReadPatient(a, patientID); err != nil {
		return nil, err
	}
	p, err := c.loadPatient(ctx, patientID)
	if err != nil {
		return nil, err
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return nil, err
	}
	out := s.PatientChannels(p)
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// SendScheduled turns every scheduled conversation whose time has come into
// its item. The schedule record is removed in the same transaction that
// writes the item, so each goes out exactly once, whatever crashes.
func (c *Clinic) SendScheduled(ctx context.Context) (int, error) {
	now := c.now()
	ids, err := c.idsUntil(ctx, ixScheduledDue, store.Range{Limit: 200}, now)
	if err != nil {
		return 0, err
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, id := range ids {
		var sc scheduledConv
		if err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefAnyPatient(bucketScheduled, id), &sc) }); err != nil {
			if IsNotFound(err) {
				continue
			}
			return sent, err
		}
		p, err := c.loadPatient(ctx, sc.PatientID)
		if err != nil {
			return sent, err
		}
		st, err := c.staffCached(ctx, sc.By)
		if err != nil {
			return sent, err
		}
		writer := Actor{Kind: ActorStaff, ID: st.ID, Role: st.Role}
		key := cat(be64(sc.SendAt), idBytes(id))
		_, wrote, err := c.writeConversation(ctx, writer, s, convDraft{ID: id, Patient: p, By: st, Kind: sc.Kind, Subject: sc.Subject, Body: sc.Body},
			func(tx store.Tx) (bool, error) {
				_, err := tx.Get(bucketScheduled, id)
				if IsNotFound(err) {
					return true, nil
				}
				return false, err
			},
			func(tx store.Tx, _ Item) error {
				if err := tx.Delete(bucketScheduled, id); err != nil {
					return err
				}
				return tx.DeleteIndex(ixScheduledDue, key)
			})
		if err != nil {
			return sent, err
		}
		if wrote {
			sent++
		}
	}
	return sent, nil
}

// markPatientRead records the first time the patient (or a caregiver)
// opened a conversation staff started: staff see "read by the patient at".
func (c *Clinic) markPatientRead(ctx context.Context, a Actor, it Item) (Item, error) {
	if it.Outreach == nil || !it.Outreach.ReadAt.IsZero() {
		return it, nil
	}
	now := c.now().UTC()
	var ev Event
	next, err := c.changeItem(ctx, it.ID, func(x *Item) error {
		if x.Outreach == nil || !x.Outreach.ReadAt.IsZero() {
			return nil
		}
		or := *x.Outreach
		or.ReadAt = now
		x.Outreach = &or
		return nil
	}, func(tx store.Tx, x *Item) error {
		if err := c.audit(tx, a, "conversation.read", "item:"+x.ID, x.PatientID); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: "item.read", ItemID: x.ID, Queue: x.Queue, Priority: x.Priority})
		return err
	})
	if err != nil {
		return it, err
	}
	c.publish(ev)
	return next, nil
}

// everyMinuteOutreach is this file's, notice.go's and oncall.go's share of
// the periodic work: scheduled conversations, notices left half made, and
// pages nobody took.
func (c *Clinic) everyMinuteOutreach(ctx context.Context) error {
	if _, err := c.SendScheduled(ctx); err != nil {
		return err
	}
	if _, err := c.EscalatePages(ctx); err != nil {
		return err
	}
	return c.ResumeNotices(ctx)
}
