package clinic

import (
	"context"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// NewItem is a request as someone sends it.
type NewItem struct {
	Type      string
	Subject   string
	Body      string
	Fields    map[string]string
	Lang      string
	PatientID string // set by the caller's identity, never by form input
	ContactID string
	Linked    string
	Files     []Upload // photos and PDFs, at most MaxAttachments
}

// Ack is what the sender is told at once. When the clinic is closed
// (AfterHours), urgent or not, the sender is told when it opens (OpensAt)
// and never promised an earlier answer; ReplyBy is the answer time a
// patient may be promised, which for an urgent request is later than the
// staff's one-hour due time when the hour runs past closing.
type Ack struct {
	Item       Item
	Urgent     bool
	AfterHours bool
	OpensAt    time.Time
	ReplyBy    time.Time
	// OnCallPaged: the request is urgent, came in while the clinic is
	// closed, and a page to the on-call person is in the outbox (oncall.go).
	OnCallPaged bool
}

// typeFields lists, per type, the structured fields it takes and which are
// required.
var typeFields = map[string]struct{ all, required []string }{
	TypeMessage:       {[]string{"subject"}, nil},
	TypeRefill:        {[]string{"medication", "dose", "pharmacy"}, []string{"medication", "pharmacy"}},
	TypeAppointment:   {[]string{"reason", "preferred", "provider"}, []string{"reason"}},
	TypeCallback:      {[]string{"phone", "best_time"}, []string{"phone"}},
	TypeBilling:       {[]string{"subject"}, nil},
	TypeRecords:       {[]string{"subject"}, nil},
	TypeInviteRequest: {[]string{"name", "dob", "phone"}, nil},
	TypeApptReply:     {[]string{"appointment_id", "preferred"}, nil},
}

var fieldMessages = map[string]string{
	"medication": "Write the name of the medicine.",
	"pharmacy":   "Write the pharmacy's name and street, so we send it to the right place.",
	"reason":     "Tell us briefly what the visit is for.",
	"phone":      "Write the number we should call, with the area code.",
}

func subjectFor(in NewItem) string {
	short := func(s string, n int) string {
		s = strings.Join(strings.Fields(s), " ")
		if r := []rune(s); len(r) > n {
			return string(r[:n-1]) + "…"
		}
		return s
	}
	switch in.Type {
	case TypeRefill:
		return "Refill: " + short(in.Fields["medication"], 60)
	case TypeAppointment:
		return "Appointment: " + short(in.Fields["reason"], 60)
	case TypeCallback:
		return "Please call back"
	case TypeInviteRequest:
		return "New sign-in link requested"
	}
	if s := strings.TrimSpace(in.Fields["subject"]); s != "" {
		return short(s, 80)
	}
	return short(in.Body, 60)
}

func (in *NewItem) check() error {
	tf, ok := typeFields[in.Type]
	if !ok {
		return inputErr("type", "Choose what this is about: a message, a refill, an appointment or a call back.")
	}
	// Every problem is found at once, so a form shows them all together.
	var es InputErrors
	clean := map[string]string{}
	for _, f := range tf.all {
		v, err := cleanBody(f, in.Fields[f], false)
		if err != nil {
			es = append(es, err.(*InputError))
			continue
		}
		if len(v) > 500 {
			es = append(es, &InputError{Field: f, Msg: "Please keep this shorter (500 characters at most)."})
			continue
		}
		if v != "" {
			clean[f] = v
		}
	}
	for _, f := range tf.required {
		if clean[f] == "" && !es.has(f) {
			es = append(es, &InputError{Field: f, Msg: fieldMessages[f]})
		}
	}
	if p := clean["phone"]; p != "" && len(phoneDigits(p)) < 7 {
		es = append(es, &InputError{Field: "phone", Msg: fieldMessages["phone"]})
	}
	body, err := cleanBody("body", in.Body, len(in.Files) == 0 && (in.Type == TypeMessage || in.Type == TypeBilling || in.Type == TypeRecords))
	if err != nil {
		es = append(es, err.(*InputError))
	}
	if len(es) > 0 {
		return es.err()
	}
	in.Fields = clean
	in.Body = body
	return nil
}

// CreateItem files a new request: routed to its queue, given a due time,
// checked for urgent wording, acknowledged after hours with the opening
// time, and announced to staff once it is on disk.
func (c *Clinic) CreateItem(ctx context.Context, a Actor, in NewItem) (Ack, error) {
	switch a.Kind {
	case ActorPatient, ActorCaregiver:
		in.PatientID, in.ContactID = a.Patient, ""
	case ActorContact:
		in.PatientID, in.ContactID = "", a.ID
	case ActorStaff, ActorSystem:
		if in.PatientID == "" && in.ContactID == "" {
			return Ack{}, inputErr("patient_id", "Choose the patient this is for.")
		}
	default:
		return Ack{}, ErrForbidden
	}
	if err := in.check(); err != nil {
		return Ack{}, err
	}
	in.Lang = c.speaks(in.Lang)
	settings, err := c.Settings(ctx)
	if err != nil {
		return Ack{}, err
	}
	now := c.now().UTC()
	tri := c.triage(settings)
	urgent, cats := tri.Match(in.Body + "\n" + strings.Join(fieldValues(in.Fields), "\n"))
	prio := PriorityNormal
	if urgent {
		prio = PriorityUrgent
	}
	loc := settings.Location()
	hours := settings.hours()
	it := Item{
		ItemMeta: ItemMeta{ID: newTimeID(), Type: in.Type, Queue: settings.route(in.Type, urgent), Priority: prio, Status: StatusNew,
			PatientID: in.PatientID, ContactID: in.ContactID, Created: now, Updated: now,
			Due: DueAt(hours, loc, now, settings.target(in.Type), urgent).UTC()},
		Subject: subjectFor(in), Fields: in.Fields, Lang: in.Lang, Urgent: cats, Linked: in.Linked,
	}
	ack := Ack{Urgent: urgent, ReplyBy: settings.ReplyBy(now, in.Type, urgent).UTC()}
	var msgs []Message
	author := Message{Kind: KindPatient, AuthorID: a.ID}
	if a.Kind == ActorStaff {
		author = Message{Kind: KindStaff, AuthorID: a.ID}
	}
	atts, sealedFiles, err := c.prepareFiles(it.ID, it.owner(), in.Files)
	if err != nil {
		return Ack{}, err
	}
	if in.Body != "" || len(atts) > 0 {
		m := author
		m.Body, m.At, m.Files = in.Body, now, atts
		msgs = append(msgs, m)
	}
	// Closed is closed for urgent wording too: nobody is there to answer
	// within the hour, so the sender is told when a person will read it.
	if !hours.IsOpen(now, loc) && a.Kind != ActorStaff {
		ack.AfterHours = true
		ack.OpensAt = hours.NextOpen(now, loc)
		msgs = append(msgs, Message{Kind: KindSystem, Body: "after_hours", At: now})
	}
	// Urgent while closed: the person on call is paged in this transaction.
	var page *Page
	var sealedPage []byte
	var pageOuts []outRecord
	if ack.AfterHours && urgent && !c.v.Locked() { // locked: the rota cannot be read, so nobody is paged (and nobody is promised)
		var line *Message
		if page, sealedPage, pageOuts, line, err = c.startPage(ctx, settings, it.ID); err != nil {
			// The request itself must not be lost to a page that cannot be
			// made: it is filed without one, and the patient is not told
			// that anybody was alerted.
			c.log.Error("paging the on-call person failed; the urgent request is filed without a page", "item", it.ID, "err", err)
			page = nil
		}
		if page != nil {
			it.PageID, ack.OnCallPaged = page.ID, true
			msgs = append(msgs, *line)
		}
	}
	for i := range msgs {
		msgs[i].ID, msgs[i].ItemID = messageID(it.ID, i+1), it.ID
	}
	it.Messages = len(msgs)
	it.Inline = msgs
	sealedItem, err := c.seal(vault.NewRef(bucketItems, it.ID, it.owner()), it)
	if err != nil {
		return Ack{}, err
	}
	var ev Event
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketItems, it.ID, sealedItem); err != nil {
			return err
		}
		if err := putFiles(tx, sealedFiles); err != nil {
			return err
		}
		if err := putMeta(tx, nil, it.ItemMeta); err != nil {
			return err
		}
		if page != nil {
			if err := putPage(tx, nil, page, sealedPage); err != nil {
				return err
			}
			if err := putOutRecords(tx, pageOuts); err != nil {
				return err
			}
		}
		if err := c.audit(tx, a, "item.create", "item:"+it.ID, in.PatientID); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: "item.new", ItemID: it.ID, Queue: it.Queue, Priority: it.Priority})
		return err
	})
	if err != nil {
		return Ack{}, err
	}
	c.cacheItem(it)
	c.publish(ev)
	ack.Item = it
	return ack, nil
}

func fieldValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
