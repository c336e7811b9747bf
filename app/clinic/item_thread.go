package clinic

import (
	"context"
	"slices"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// ItemView is an item with its thread, as staff see it.
type ItemView struct {
	Item     Item      `json:"item"`
	Messages []Message `json:"messages"`
	Patient  *Patient  `json:"patient,omitempty"`
	Contact  *Contact  `json:"contact,omitempty"`
	SameName int       `json:"same_name"`
	// Texts are the texts about this item (the reply notices, the
	// acknowledgements) with their delivery state, for the timeline.
	Texts []OutboxRow `json:"texts"`
	Page  *Page       `json:"page,omitempty"` // the on-call page sent for it, if any (oncall.go)
}

// GetItem opens an item and its thread for staff, records the read in the
// audit trail, and the first time this person opens it, the read receipt
// the patient sees ("seen by Maria at the front desk").
func (c *Clinic) GetItem(ctx context.Context, a Actor, id string) (ItemView, error) {
	return c.getItem(ctx, a, id, "item.read")
}

// getItem is GetItem, recording the access as action: one access is one
// audit row, so a copy for the chart is an "item.export" and not also a
// read.
func (c *Clinic) getItem(ctx context.Context, a Actor, id, action string) (ItemView, error) {
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
				x.SeenBy = append(x.SeenBy, Seen{StaffID: st.ID, Name: st.SignedName(), Role: st.Role, At: c.now().UTC()})
			}
			x.Seen = true
			return nil
		}, func(tx store.Tx, x *Item) error {
			if err := c.audit(tx, a, action, "item:"+id, x.PatientID); err != nil {
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
	} else if err := c.st.Update(ctx, func(tx store.Tx) error { return c.audit(tx, a, action, "item:"+id, it.PatientID) }); err != nil {
		return ItemView{}, err
	}
	v := ItemView{Item: it}
	if pg, ok, err := c.ItemPage(ctx, it); err != nil {
		return ItemView{}, err
	} else if ok {
		v.Page = &pg
	}
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
	if v.Texts, err = c.itemTexts(ctx, id); err != nil {
		return ItemView{}, err
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
		msg.AuthorName, msg.AuthorRole, msg.Kind = st.SignedName(), st.Role, KindStaff
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
	var text outRecord
	if msg.Kind == KindStaff {
		if out, sealedOut, err = c.replyMail(ctx, &Item{ItemMeta: m}); err != nil {
			return Message{}, err
		}
		if text, err = c.replyText(ctx, &Item{ItemMeta: m}); err != nil {
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
			it.StaffReplied = msg.At
			if it.Status == StatusNew {
				it.Status = StatusOpen
			}
		case KindPatient:
			if it.Outreach != nil && it.Status == StatusWaiting {
				// The answer to a conversation staff started is due like
				// any request of its type, counted from now.
				s, err := c.Settings(ctx)
				if err != nil {
					return err
				}
				it.Due = DueAt(s.hours(), s.Location(), msg.At, s.target(it.Type), false).UTC()
			}
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
		if text.m != nil {
			if err := putOutRecords(tx, []outRecord{text}); err != nil {
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
	if it, err = c.markPatientRead(ctx, a, it); err != nil {
		return Item{}, nil, err
	}
	msgs, err := c.thread(ctx, it, false)
	return it, msgs, err
}
