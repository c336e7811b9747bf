package clinic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
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

// Ack is what the sender is told at once.
type Ack struct {
	Item       Item
	Urgent     bool
	AfterHours bool
	OpensAt    time.Time
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
	clean := map[string]string{}
	for _, f := range tf.all {
		v, err := cleanBody(f, in.Fields[f], false)
		if err != nil {
			return err
		}
		if len(v) > 500 {
			return inputErr(f, "Please keep this shorter (500 characters at most).")
		}
		if v != "" {
			clean[f] = v
		}
	}
	for _, f := range tf.required {
		if clean[f] == "" {
			return inputErr(f, fieldMessages[f])
		}
	}
	if p := clean["phone"]; p != "" && len(phoneDigits(p)) < 7 {
		return inputErr("phone", fieldMessages["phone"])
	}
	in.Fields = clean
	body, err := cleanBody("body", in.Body, len(in.Files) == 0 && (in.Type == TypeMessage || in.Type == TypeBilling || in.Type == TypeRecords))
	if err != nil {
		return err
	}
	in.Body = body
	if in.Lang != "es" {
		in.Lang = "en"
	}
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
	ack := Ack{Urgent: urgent}
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
	if !hours.IsOpen(now, loc) && !urgent && a.Kind != ActorStaff {
		ack.AfterHours = true
		ack.OpensAt = hours.NextOpen(now, loc)
		msgs = append(msgs, Message{Kind: KindSystem, Body: "after_hours", At: now})
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

// ItemFilter selects inbox rows. Every field is optional.
type ItemFilter struct {
	Queue      string
	Status     string // new, open, waiting, closed; "" means not closed
	Type       string
	Priority   string
	Assignee   string // a staff id, or "none"
	Overdue    bool
	Unverified bool
	Limit      int
}

// ItemRow is one inbox line: the item's facts plus what the row shows.
type ItemRow struct {
	ItemMeta
	Subject     string `json:"subject"`
	PatientName string `json:"patient_name"`
	PatientAge  int    `json:"patient_age"`
	Overdue     bool   `json:"overdue"`
}

func (f ItemFilter) check() error {
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		return inputErr("status", "status must be one of new, open, waiting, closed.")
	}
	if f.Type != "" && !slices.Contains(ItemTypes, f.Type) {
		return inputErr("type", "Unknown item type.")
	}
	if f.Priority != "" && f.Priority != PriorityUrgent && f.Priority != PriorityNormal {
		return inputErr("priority", "priority must be urgent or normal.")
	}
	return nil
}

func (f ItemFilter) match(m ItemMeta, now time.Time) bool {
	if f.Status == "" && m.Status == StatusClosed || f.Status != "" && m.Status != f.Status {
		return false
	}
	if f.Type != "" && m.Type != f.Type || f.Priority != "" && m.Priority != f.Priority {
		return false
	}
	if f.Assignee == "none" && m.Assignee != "" || f.Assignee != "" && f.Assignee != "none" && m.Assignee != f.Assignee {
		return false
	}
	if f.Overdue && !m.Overdue(now) || f.Unverified && m.ContactID == "" {
		return false
	}
	return true
}

// ListItems returns the inbox rows a staff member may see, urgent first,
// then by due time. Only the rows returned are opened.
func (c *Clinic) ListItems(ctx context.Context, a Actor, f ItemFilter) ([]ItemRow, error) {
	if a.Kind != ActorStaff {
		return nil, ErrForbidden
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return nil, err
	}
	var queues []string
	if f.Queue != "" {
		if !settings.mayQueue(a.Role, f.Queue) {
			return nil, ErrForbidden
		}
		queues = []string{f.Queue}
	} else {
		for _, q := range settings.QueuesFor(a.Role) {
			queues = append(queues, q.ID)
		}
	}
	now := c.now()
	var metas []ItemMeta
	err = c.st.View(ctx, func(tx store.Tx) error {
		collect := func(ix string, prefix []byte, allowed func(ItemMeta) bool) error {
			n := 0
			return scanMetas(tx, ix, store.Range{Prefix: prefix}, func(m ItemMeta) error {
				if allowed(m) && f.match(m, now) {
					metas = append(metas, m)
					if n++; n >= f.Limit {
						return store.ErrStop
					}
				}
				return nil
			})
		}
		if f.Status != "" && f.Queue == "" {
			return collect(ixStatus, append([]byte(f.Status), 0), func(m ItemMeta) bool { return slices.Contains(queues, m.Queue) })
		}
		for _, q := range queues {
			open := byte(0)
			if f.Status == StatusClosed {
				open = 1
			}
			if err := collect(ixQueue, append([]byte(q), 0, open), func(ItemMeta) bool { return true }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(metas, func(i, j int) bool {
		if metas[i].Priority != metas[j].Priority {
			return metas[i].Priority == PriorityUrgent
		}
		return metas[i].Due.Before(metas[j].Due)
	})
	if len(metas) > f.Limit {
		metas = metas[:f.Limit]
	}
	rows := make([]ItemRow, 0, len(metas))
	for _, m := range metas {
		it, err := c.loadItem(ctx, m)
		if err != nil {
			return nil, err
		}
		row := ItemRow{ItemMeta: m, Subject: it.Subject, Overdue: m.Overdue(now)}
		row.PatientName, row.PatientAge = c.ownerName(ctx, m)
		rows = append(rows, row)
	}
	if err := c.auditRows(ctx, a, rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// auditRows records that a list showed these patients' names.
func (c *Clinic) auditRows(ctx context.Context, a Actor, rows []ItemRow) error {
	if len(rows) == 0 {
		return nil
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		seen := map[string]bool{}
		for _, r := range rows {
			if r.PatientID == "" || seen[r.PatientID] {
				continue
			}
			seen[r.PatientID] = true
			if err := c.audit(tx, a, "item.list", "item:"+r.ID, r.PatientID); err != nil {
				return err
			}
		}
		return nil
	})
}

// loadItem opens an item through the cache.
func (c *Clinic) loadItem(ctx context.Context, m ItemMeta) (Item, error) {
	if it, ok := c.items.get(m.ID); ok && it.Updated.Equal(m.Updated) {
		return it, nil
	}
	var it Item
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.NewRef(bucketItems, m.ID, m.owner()), &it) })
	if err == nil {
		c.cacheItem(it)
	}
	return it, err
}

// loadPatient opens a patient through the cache (no audit: callers audit).
func (c *Clinic) loadPatient(ctx context.Context, id string) (Patient, error) {
	if p, ok := c.patients.get(id); ok {
		return p, nil
	}
	var p Patient
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.NewRef(bucketPatients, id, id), &p) })
	if err == nil {
		c.patients.put(id, p)
	}
	return p, err
}

// ownerName is the name a row shows: the patient's, or the unverified
// contact's as they gave it.
func (c *Clinic) ownerName(ctx context.Context, m ItemMeta) (string, int) {
	if m.PatientID != "" {
		if p, err := c.loadPatient(ctx, m.PatientID); err == nil {
			return p.Name, p.Age(c.now())
		}
		return "", 0
	}
	if ct, err := c.loadContact(ctx, m.ContactID); err == nil {
		return ct.Name, ct.Age(c.now())
	}
	return "", 0
}

// QueueCount is one inbox tab's numbers.
type QueueCount struct {
	Queue   Queue `json:"queue"`
	Open    int   `json:"open"`
	New     int   `json:"new"`
	Urgent  int   `json:"urgent"`
	Overdue int   `json:"overdue"`
}

// QueueCounts gives each queue the caller may see its open, new and urgent
// counts (kept up to date with every change) and its overdue count (from
// the overdue ticker, at most a minute old).
func (c *Clinic) QueueCounts(ctx context.Context, a Actor) ([]QueueCount, error) {
	if a.Kind != ActorStaff {
		return nil, ErrForbidden
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return nil, err
	}
	overdue := c.overdueCounts(ctx)
	var out []QueueCount
	err = c.st.View(ctx, func(tx store.Tx) error {
		for _, q := range settings.QueuesFor(a.Role) {
			var t queueTally
			if b, err := tx.Get(bucketQueueCounts, q.ID); err == nil {
				json.Unmarshal(b, &t)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			out = append(out, QueueCount{Queue: q, Open: t.Open, New: t.New, Urgent: t.Urgent, Overdue: overdue[q.ID]})
		}
		return nil
	})
	return out, err
}

// overdueCounts returns the per-queue overdue counts, counting afresh when
// the last count is more than a minute old.
func (c *Clinic) overdueCounts(ctx context.Context) map[string]int {
	c.overdueMu.Lock()
	defer c.overdueMu.Unlock()
	now := c.now()
	if c.overdueAt.IsZero() || now.Sub(c.overdueAt) >= time.Minute || now.Before(c.overdueAt) {
		counts := map[string]int{}
		c.st.View(ctx, func(tx store.Tx) error {
			return tx.Scan(ixOpenDue, store.Range{}, func(k []byte, id string) error {
				if due := time.UnixMilli(int64(beUint(k[:8]))); !now.After(due) {
					return store.ErrStop
				}
				if q, _, ok := bytes.Cut(k[8:], []byte{0}); ok {
					counts[string(q)]++
				}
				return nil
			})
		})
		c.overdue, c.overdueAt = counts, now
	}
	return c.overdue
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// ItemView is an item with its thread, as staff see it.
type ItemView struct {
	Item     Item      `json:"item"`
	Messages []Message `json:"messages"`
	Patient  *Patient  `json:"patient,omitempty"`
	Contact  *Contact  `json:"contact,omitempty"`
	SameName int       `json:"same_name"`
}

// mayOpen decides whether a staff member may open an item: its queue must
// be theirs, or a clinician must have declared a break-glass reason for this
// patient within the hour.
func (c *Clinic) mayOpen(ctx context.Context, a Actor, m ItemMeta) error {
	if a.Kind != ActorStaff {
		return ErrNotFound
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	if settings.mayQueue(a.Role, m.Queue) {
		return nil
	}
	if a.Role == RoleClinician && m.PatientID != "" && c.hasBreakGlass(ctx, a.ID, m.PatientID) {
		return nil
	}
	if a.Role == RoleClinician {
		return ErrBreakGlass
	}
	return ErrForbidden
}

// ErrBreakGlass means the item is outside the caller's queues; a clinician
// may still open it by giving a reason.
var ErrBreakGlass = errors.New("clinic: this item is outside your queues; give a reason to open it")

// GetItem opens an item and its thread for staff, records the read in the
// audit trail, and the first time this person opens it, the read receipt
// the patient sees ("seen by Maria at the front desk").
func (c *Clinic) GetItem(ctx context.Context, a Actor, id string) (ItemView, error) {
	if !validItemID(id) {
		return ItemView{}, ErrNotFound
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return ItemView{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return ItemView{}, err
	}
	it, err := c.loadItem(ctx, m)
	if err != nil {
		return ItemView{}, err
	}
	first := !slices.ContainsFunc(it.SeenBy, func(s Seen) bool { return s.StaffID == a.ID })
	var ev Event
	if first {
		st, err := c.staffCached(ctx, a.ID)
		if err != nil {
			return ItemView{}, err
		}
		it, err = c.changeItem(ctx, id, func(x *Item) error {
			if !slices.ContainsFunc(x.SeenBy, func(s Seen) bool { return s.StaffID == a.ID }) {
				x.SeenBy = append(x.SeenBy, Seen{StaffID: st.ID, Name: st.FirstName(), Role: st.Role, At: c.now().UTC()})
			}
			x.Seen = true
			return nil
		}, func(tx store.Tx, x *Item) error {
			if err := c.audit(tx, a, "item.read", "item:"+id, x.PatientID); err != nil {
				return err
			}
			var err error
			ev, err = c.addEvent(tx, Event{Type: "item.seen", ItemID: id, Queue: x.Queue, Priority: x.Priority})
			return err
		})
		if err != nil {
			return ItemView{}, err
		}
		c.publish(ev)
	} else if err := c.st.Update(ctx, func(tx store.Tx) error { return c.audit(tx, a, "item.read", "item:"+id, it.PatientID) }); err != nil {
		return ItemView{}, err
	}
	v := ItemView{Item: it}
	if v.Messages, err = c.thread(ctx, it, true); err != nil {
		return ItemView{}, err
	}
	if it.PatientID != "" {
		p, err := c.loadPatient(ctx, it.PatientID)
		if err != nil {
			return ItemView{}, err
		}
		v.Patient = &p
		v.SameName, _ = c.SameName(ctx, p)
	} else if ct, err := c.loadContact(ctx, it.ContactID); err == nil {
		v.Contact = &ct
	}
	return v, nil
}

// thread opens an item's messages in order; internal notes only for staff.
func (c *Clinic) thread(ctx context.Context, it Item, staff bool) ([]Message, error) {
	out := slices.Clone(it.Inline)
	if len(out) == it.Messages {
		return out, nil
	}
	err := c.st.View(ctx, func(tx store.Tx) error {
		prefix := it.ID + ":"
		return tx.Each(bucketMessages, it.ID, func(id string, raw []byte) error {
			if !strings.HasPrefix(id, prefix) {
				return store.ErrStop
			}
			var m Message
			if err := c.openRaw(vault.NewRef(bucketMessages, id, it.owner()), raw, &m); err != nil {
				return err
			}
			if m.Kind == KindNote && !staff {
				return nil
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

// AddMessage adds to an item's thread: a staff reply (signed with their first
// name and role), an internal note, or a patient's reply. A patient's reply
// reopens a closed item.
func (c *Clinic) AddMessage(ctx context.Context, a Actor, id, body string, internal bool) (Message, error) {
	return c.AddMessageFiles(ctx, a, id, body, internal, nil)
}

// AddMessageFiles is AddMessage with photos or PDFs attached.
func (c *Clinic) AddMessageFiles(ctx context.Context, a Actor, id, body string, internal bool, files []Upload) (Message, error) {
	body, err := cleanBody("body", body, len(files) == 0)
	if err != nil {
		return Message{}, err
	}
	if !validItemID(id) {
		return Message{}, ErrNotFound
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Message{}, err
	}
	msg := Message{ItemID: id, Body: body, At: c.now().UTC(), AuthorID: a.ID}
	switch a.Kind {
	case ActorStaff:
		if err := c.mayOpen(ctx, a, m); err != nil {
			return Message{}, err
		}
		st, err := c.staffCached(ctx, a.ID)
		if err != nil {
			return Message{}, err
		}
		msg.AuthorName, msg.AuthorRole, msg.Kind = st.FirstName(), st.Role, KindStaff
		if internal {
			msg.Kind = KindNote
		}
	case ActorPatient, ActorCaregiver:
		if m.PatientID == "" || m.PatientID != a.Patient {
			return Message{}, ErrNotFound
		}
		msg.Kind = KindPatient
	case ActorContact:
		if m.ContactID == "" || m.ContactID != a.ID {
			return Message{}, ErrNotFound
		}
		msg.Kind = KindPatient
	default:
		return Message{}, ErrNotFound
	}
	atts, sealedFiles, err := c.prepareFiles(id, m.owner(), files)
	if err != nil {
		return Message{}, err
	}
	msg.Files = atts
	// A staff reply tells the patient by email when they asked for it: the
	// outbox record commits with the reply, and is sent after.
	var out *OutMail
	var sealedOut []byte
	if msg.Kind == KindStaff {
		if out, sealedOut, err = c.replyMail(ctx, &Item{ItemMeta: m}); err != nil {
			return Message{}, err
		}
	}
	var ev Event
	var sealed []byte
	_, err = c.changeItem(ctx, id, func(it *Item) error {
		it.Messages++
		msg.ID = messageID(id, it.Messages)
		var err error
		if sealed, err = c.seal(vault.NewRef(bucketMessages, msg.ID, it.owner()), msg); err != nil {
			return err
		}
		switch msg.Kind {
		case KindStaff:
			if it.FirstReply.IsZero() {
				it.FirstReply = msg.At
			}
			if it.Status == StatusNew {
				it.Status = StatusOpen
			}
		case KindPatient:
			if it.Status == StatusClosed || it.Status == StatusWaiting {
				it.Status, it.Closed = StatusOpen, time.Time{}
			}
		}
		return nil
	}, func(tx store.Tx, it *Item) error {
		if err := tx.Put(bucketMessages, msg.ID, sealed); err != nil {
			return err
		}
		if err := putFiles(tx, sealedFiles); err != nil {
			return err
		}
		if out != nil {
			if err := putOutMail(tx, out, sealedOut, nil); err != nil {
				return err
			}
		}
		if err := c.audit(tx, a, "item.message", "item:"+id, it.PatientID); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: "item.message", ItemID: id, Queue: it.Queue, Priority: it.Priority})
		return err
	})
	if err != nil {
		return Message{}, err
	}
	c.publish(ev)
	return msg, nil
}

// Assign gives an item to a staff member who may work its queue ("" to
// unassign), and notes it in the thread.
func (c *Clinic) Assign(ctx context.Context, a Actor, id, staffID string) (Item, error) {
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Item{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return Item{}, err
	}
	var name string
	if staffID != "" {
		st, err := c.staffCached(ctx, staffID)
		if err != nil || st.Disabled {
			return Item{}, inputErr("staff_id", "Choose an active staff member.")
		}
		settings, _ := c.Settings(ctx)
		if !settings.mayQueue(st.Role, m.Queue) {
			return Item{}, inputErr("staff_id", st.FirstName()+" does not work this queue.")
		}
		name = st.FirstName()
	}
	return c.systemChange(ctx, a, id, "item.assign", func(it *Item) (string, error) {
		it.Assignee = staffID
		if it.Status == StatusNew && staffID != "" {
			it.Status = StatusOpen
		}
		if staffID == "" {
			return "unassigned", nil
		}
		return "assigned:" + name, nil
	})
}

// systemChange applies a change that leaves a system line in the thread.
func (c *Clinic) systemChange(ctx context.Context, a Actor, id, action string, change func(it *Item) (string, error)) (Item, error) {
	var ev Event
	var sealed []byte
	var msgID string
	it, err := c.changeItem(ctx, id, func(it *Item) error {
		line, err := change(it)
		if err != nil {
			return err
		}
		it.Messages++
		msgID = messageID(id, it.Messages)
		sealed, err = c.seal(vault.NewRef(bucketMessages, msgID, it.owner()), Message{ID: msgID, ItemID: id, Kind: KindSystem, Body: line, At: c.now().UTC(), AuthorID: a.ID})
		return err
	}, func(tx store.Tx, it *Item) error {
		if err := tx.Put(bucketMessages, msgID, sealed); err != nil {
			return err
		}
		if err := c.audit(tx, a, action, "item:"+id, it.PatientID); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: action, ItemID: id, Queue: it.Queue, Priority: it.Priority})
		return err
	})
	if err == nil {
		c.publish(ev)
	}
	return it, err
}

// Outcomes that close an item, per type; the patient reads the reason.
var Outcomes = map[string][]string{
	TypeRefill:      {"sent_to_pharmacy", "needs_visit", "declined"},
	TypeAppointment: {"booked", "offered_times", "declined"},
	TypeCallback:    {"called", "no_answer_closed"},
}

// StatusChange is a move of an item to another status: Status is new,
// open, waiting or closed; closing takes an Outcome where the item's type
// has them (Outcomes) and a Reason the patient reads when it is declined.
type StatusChange struct {
	Status, Outcome, Reason string
}

// SetStatus moves an item to new/open/waiting/closed. Closing takes an
// outcome where the type has them and a reason the patient reads when it is
// declined; nothing closes without this explicit action.
func (c *Clinic) SetStatus(ctx context.Context, a Actor, id string, ch StatusChange) (Item, error) {
	status, outcome, reason := ch.Status, ch.Outcome, ch.Reason
	if !slices.Contains(Statuses, status) {
		return Item{}, inputErr("status", "status must be one of new, open, waiting, closed.")
	}
	reason, err := cleanBody("reason", reason, false)
	if err != nil {
		return Item{}, err
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Item{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return Item{}, err
	}
	if status == StatusClosed {
		if outs, ok := Outcomes[m.Type]; ok && !slices.Contains(outs, outcome) {
			return Item{}, inputErr("outcome", "Choose how this ends: "+strings.Join(outs, ", ")+".")
		}
		if strings.HasSuffix(outcome, "declined") && reason == "" {
			return Item{}, inputErr("reason", "Write the reason the patient will read.")
		}
	}
	return c.systemChange(ctx, a, id, "item.status", func(it *Item) (string, error) {
		it.Status = status
		if status == StatusClosed {
			it.Closed, it.Outcome, it.ClosedReason = c.now().UTC(), outcome, reason
		} else {
			it.Closed, it.Outcome, it.ClosedReason = time.Time{}, "", ""
		}
		return "status:" + status, nil
	})
}

// PatientItems lists a patient's (or contact's) items, newest first.
func (c *Clinic) PatientItems(ctx context.Context, a Actor) ([]Item, error) {
	owner := ""
	switch a.Kind {
	case ActorPatient, ActorCaregiver:
		owner = a.Patient
	case ActorContact:
		owner = "contact:" + a.ID
	case ActorStaff:
		owner = a.Patient
	default:
		return nil, ErrForbidden
	}
	if owner == "" {
		return nil, ErrNotFound
	}
	metas, err := c.ownerMetas(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(metas))
	for _, m := range metas {
		it, err := c.loadItem(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// ownerMetas lists the newest 200 items of a patient (or "contact:<id>").
func (c *Clinic) ownerMetas(ctx context.Context, owner string) ([]ItemMeta, error) {
	var metas []ItemMeta
	err := c.st.View(ctx, func(tx store.Tx) error {
		return scanMetas(tx, ixOwner, store.Range{Prefix: append([]byte(owner), 0), Reverse: true, Limit: 200}, func(m ItemMeta) error {
			metas = append(metas, m)
			return nil
		})
	})
	return metas, err
}

// PatientThread opens one of the caller's own items with its thread,
// without internal notes. Anyone else's item is simply not found.
func (c *Clinic) PatientThread(ctx context.Context, a Actor, id string) (Item, []Message, error) {
	if !validItemID(id) {
		return Item{}, nil, ErrNotFound
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Item{}, nil, ErrNotFound
	}
	switch {
	case (a.Kind == ActorPatient || a.Kind == ActorCaregiver) && m.PatientID != "" && m.PatientID == a.Patient:
	case a.Kind == ActorContact && m.ContactID != "" && m.ContactID == a.ID:
	default:
		return Item{}, nil, ErrNotFound
	}
	it, err := c.loadItem(ctx, m)
	if err != nil {
		return Item{}, nil, err
	}
	msgs, err := c.thread(ctx, it, false)
	return it, msgs, err
}

// Feedback records the patient's "did this answer your question?".
func (c *Clinic) Feedback(ctx context.Context, a Actor, id, answer string) error {
	if answer != "yes" && answer != "no" {
		return inputErr("answer", "Choose yes or no.")
	}
	if _, _, err := c.PatientThread(ctx, a, id); err != nil {
		return err
	}
	_, err := c.changeItem(ctx, id, func(it *Item) error {
		if it.Status != StatusClosed {
			return inputErr("answer", "You can answer this once the request is closed.")
		}
		it.Feedback = answer
		return nil
	}, func(tx store.Tx, it *Item) error { return c.audit(tx, a, "item.feedback", "item:"+id, it.PatientID) })
	return err
}

// ItemQueue is the queue an item is in ("" when there is no such item),
// read from the plain meta record.
func (c *Clinic) ItemQueue(id string) string {
	if !validItemID(id) {
		return ""
	}
	var q string
	c.st.View(context.Background(), func(tx store.Tx) error {
		if m, err := getMetaRec(tx, id); err == nil {
			q = m.Queue
		}
		return nil
	})
	return q
}
