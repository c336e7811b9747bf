package clinic

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"hearth/app/store"
	"hearth/app/vault"
)

// ItemMeta is an item's routing facts: ids, enums and times, never PHI. It
// is kept in the clear (bucket itemmeta) beside the sealed item so that
// lists, counts, the overdue ticker and the workload view never decrypt.
type ItemMeta struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Queue      string    `json:"queue"`
	Priority   string    `json:"priority"`
	Status     string    `json:"status"`
	Assignee   string    `json:"assignee,omitempty"`
	PatientID  string    `json:"patient_id,omitempty"`
	ContactID  string    `json:"contact_id,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	Due        time.Time `json:"due"`
	FirstReply time.Time `json:"first_reply,omitzero"`
	Closed     time.Time `json:"closed,omitzero"`
	Messages   int       `json:"messages"`
	Seen       bool      `json:"seen"` // some staff member has opened it
}

// Overdue reports whether the item is open past its due time.
func (m ItemMeta) Overdue(now time.Time) bool {
	return m.Status != StatusClosed && now.After(m.Due)
}

// owner is the record owner the item is sealed to: its patient, or the
// unverified contact.
func (m ItemMeta) owner() string {
	if m.PatientID != "" {
		return m.PatientID
	}
	return "contact:" + m.ContactID
}

// Seen records the first time a staff member opened an item.
type Seen struct {
	StaffID string    `json:"staff_id"`
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	At      time.Time `json:"at"`
}

// Attempt is one call-back try ("tried at 10:05, no answer").
type Attempt struct {
	At      time.Time `json:"at"`
	StaffID string    `json:"staff_id"`
	Name    string    `json:"name"`
	Outcome string    `json:"outcome"`
	Kind    string    `json:"kind,omitempty"` // what it came to: one of CallResults
}

// Item is one request in the shared inbox. Everything outside ItemMeta is
// PHI and lives only in the sealed record.
type Item struct {
	ItemMeta
	Subject      string            `json:"subject"`
	Fields       map[string]string `json:"fields,omitempty"`
	Lang         string            `json:"lang"`
	Urgent       []string          `json:"urgent,omitempty"` // categories of urgent wording found
	SeenBy       []Seen            `json:"seen_by,omitempty"`
	Outcome      string            `json:"outcome,omitempty"`       // per-type ending, e.g. "sent_to_pharmacy"
	ClosedReason string            `json:"closed_reason,omitempty"` // what the patient reads
	Attempts     []Attempt         `json:"attempts,omitempty"`
	Linked       string            `json:"linked,omitempty"` // e.g. the item a "call me instead" came from
	Feedback     string            `json:"feedback,omitempty"`
	// Inline holds the messages written when the item was created (the
	// patient's words, an after-hours line), sealed with the item itself:
	// one X25519 seal per new request instead of one per record.
	Inline []Message `json:"inline,omitempty"`

	// StaffReplied is when staff last wrote to the patient, so a call try
	// after it (or before it) shows as the last word (callback.go).
	StaffReplied time.Time `json:"staff_replied,omitzero"`

	// Outreach is set on a conversation staff started (conversation.go).
	Outreach *Outreach `json:"outreach,omitempty"`
	// PageID is set when the on-call person was paged as it came in
	// (oncall.go), so the patient's acknowledgement may say so.
	PageID string `json:"page_id,omitempty"`
}

// LogValue keeps subjects and fields out of logs.
func (it Item) LogValue() slog.Value { return slog.StringValue("item:" + it.ID) }

// Message is one entry in an item's thread.
type Message struct {
	ID         string       `json:"id"`
	ItemID     string       `json:"item_id"`
	Kind       string       `json:"kind"` // patient, staff, note (internal), system
	AuthorID   string       `json:"author_id,omitempty"`
	AuthorName string       `json:"author_name,omitempty"`
	AuthorRole string       `json:"author_role,omitempty"`
	Body       string       `json:"body"`
	At         time.Time    `json:"at"`
	Files      []Attachment `json:"files,omitempty"`
}

// Message kinds.
const (
	KindPatient = "patient"
	KindStaff   = "staff"
	KindNote    = "note"
	KindSystem  = "system"
)

const maxBody = 10_000

func be64(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixMilli()))
	return b[:]
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func prioByte(p string) byte {
	if p == PriorityUrgent {
		return 0
	}
	return 1
}

func openByte(status string) byte {
	if status == StatusClosed {
		return 1
	}
	return 0
}

// indexKeys are an item's index entries: queue lists sort open before
// closed, urgent before normal, then by due time.
func (m ItemMeta) indexKeys() map[string][]byte {
	id := idBytes(m.ID)
	k := map[string][]byte{
		ixQueue:  cat([]byte(m.Queue), []byte{0, openByte(m.Status), prioByte(m.Priority)}, be64(m.Due), id),
		ixStatus: cat([]byte(m.Status), []byte{0, prioByte(m.Priority)}, be64(m.Due), id),
		ixOwner:  cat([]byte(m.owner()), []byte{0}, be64(m.Created), id),
	}
	if m.Status != StatusClosed {
		// due first (the ticker walks it in time order), then the queue, so
		// overdue counts per queue need no record reads.
		k[ixOpenDue] = cat(be64(m.Due), []byte(m.Queue), []byte{0}, id)
	}
	return k
}

// bucketQueueCounts keeps each queue's open, new and urgent counts (plain
// numbers), updated in the same transaction as every item change, so an
// inbox refresh never counts by walking the items.

type queueTally struct {
	Open   int `json:"open"`
	New    int `json:"new"`
	Urgent int `json:"urgent"`
}

// tally adds (sign +1) or removes (-1) an item's contribution.
func tally(tx store.Tx, m ItemMeta, sign int) error {
	if m.Status == StatusClosed {
		return nil
	}
	t, err := getTally(tx, m.Queue)
	if err != nil {
		return err
	}
	t.Open += sign
	if m.Status == StatusNew {
		t.New += sign
	}
	if m.Priority == PriorityUrgent {
		t.Urgent += sign
	}
	b, _ := json.Marshal(t)
	return tx.Put(bucketQueueCounts, m.Queue, b)
}

// getTally reads a queue's counts (zero when the queue has none yet). A
// damaged record is an error: counting on from zero would show wrong
// numbers from then on without anyone knowing.
func getTally(tx store.Tx, queue string) (queueTally, error) {
	var t queueTally
	b, err := tx.Get(bucketQueueCounts, queue)
	if errors.Is(err, store.ErrNotFound) {
		return t, nil
	}
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return queueTally{}, fmt.Errorf("clinic: the counts of queue %q are damaged: %w", queue, err)
	}
	return t, nil
}

// putMeta stores meta and moves its index entries and queue counts from old
// (nil when new).
func putMeta(tx store.Tx, old *ItemMeta, m ItemMeta) error {
	if old != nil {
		for ix, k := range old.indexKeys() {
			if err := tx.DeleteIndex(ix, k); err != nil {
				return err
			}
		}
		if err := tally(tx, *old, -1); err != nil {
			return err
		}
	}
	if err := tally(tx, m, +1); err != nil {
		return err
	}
	b, _ := json.Marshal(m)
	if err := tx.Put(bucketItemMeta, m.ID, b); err != nil {
		return err
	}
	for ix, k := range m.indexKeys() {
		if err := tx.SetIndex(ix, k, m.ID); err != nil {
			return err
		}
	}
	return nil
}

func getMetaRec(tx store.Tx, id string) (ItemMeta, error) {
	b, err := tx.Get(bucketItemMeta, id)
	if errors.Is(err, store.ErrNotFound) {
		return ItemMeta{}, ErrNotFound
	}
	if err != nil {
		return ItemMeta{}, err
	}
	return decodeMeta(b)
}

// decodeMeta decodes a meta record as Get or GetMany hands it out; nil is
// GetMany's missing record.
func decodeMeta(b []byte) (ItemMeta, error) {
	var m ItemMeta
	if b == nil {
		return m, ErrNotFound
	}
	return m, json.Unmarshal(b, &m)
}

// metaChunk is how many index entries scanMetas reads at a time.
const metaChunk = 64

// scanMetas walks index over r as tx.Scan does (r.Limit included) and calls
// fn with the meta each entry points at. It reads the entries metaChunk at a
// time and their metas with one GetMany per chunk: on PostgreSQL a Get is a
// round trip, so a walk that opened each meta with getMetaRec would cost one
// per entry. A meta is decoded only when fn is about to get it, so a missing
// or damaged one is an error (ErrNotFound for missing) exactly where
// getMetaRec would have failed. fn returning store.ErrStop ends the walk
// cleanly.
func scanMetas(tx store.Tx, index string, r store.Range, fn func(m ItemMeta) error) error {
	limit := r.Limit
	for visited := 0; limit <= 0 || visited < limit; visited += metaChunk {
		r.Limit = metaChunk
		if limit > 0 {
			r.Limit = min(metaChunk, limit-visited)
		}
		ids := make([]string, 0, r.Limit)
		err := tx.Scan(index, r, func(k []byte, id string) error {
			ids = append(ids, id)
			r.After = k // a copy: Scan hands out keys the caller may keep
			return nil
		})
		if err != nil {
			return err
		}
		raws, err := tx.GetMany(bucketItemMeta, ids)
		if err != nil {
			return err
		}
		for _, raw := range raws {
			m, err := decodeMeta(raw)
			if err == nil {
				err = fn(m)
			}
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if len(ids) < r.Limit {
			return nil
		}
	}
	return nil
}

func messageID(itemID string, n int) string { return fmt.Sprintf("%s:%06d", itemID, n) }

// cleanBody checks free text a person typed.
func cleanBody(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", inputErr(field, "The text has characters that cannot be stored. Please type it again.")
	}
	if required && s == "" {
		return "", inputErr(field, "Please write your message.")
	}
	if len(s) > maxBody {
		return "", inputErr(field, fmt.Sprintf("Please keep it under %d characters.", maxBody))
	}
	return s, nil
}

func newTimeID() string {
	u, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return u.String()
}

// validItemID keeps junk out of store lookups.
func validItemID(id string) bool { _, err := uuid.Parse(id); return err == nil && len(id) == 36 }

// changeItem reads an item, applies change to a copy, reseals it and
// commits it with its plain metadata and whatever extra writes the change
// needs, the retry-safe way (changeSealed).
func (c *Clinic) changeItem(ctx context.Context, id string, change func(it *Item) error, extra func(tx store.Tx, it *Item) error) (Item, error) {
	if !validItemID(id) {
		return Item{}, ErrNotFound
	}
	it, _, err := changeSealed(ctx, c, id, reseal[Item]{
		bucket: bucketItems,
		openAs: func(tx store.Tx) (vault.Ref, error) {
			m, err := getMetaRec(tx, id)
			return vault.NewRef(bucketItems, id, m.owner()), err
		},
		sealAs: func(it Item) vault.Ref { return vault.NewRef(bucketItems, id, it.owner()) },
		clone: func(it Item) Item {
			it.Fields = maps.Clone(it.Fields)
			it.SeenBy = slices.Clone(it.SeenBy)
			it.Attempts = slices.Clone(it.Attempts)
			return it
		},
		plain: func(tx store.Tx, before, after *Item) error { return putMeta(tx, &before.ItemMeta, after.ItemMeta) },
		also:  extra,
	}, func(it *Item) (bool, error) {
		if err := change(it); err != nil {
			return false, err
		}
		it.Updated = c.now().UTC()
		return true, nil
	})
	if err != nil {
		return Item{}, err
	}
	c.cacheItem(it)
	return it, nil
}
