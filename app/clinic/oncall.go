package clinic

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// After hours, the on-call clinician. The owner keeps a rota (who, which
// days and hours in clinic time, their phone and email, the fallbacks after
// them, and how long to wait before escalating). An urgent request that
// comes in while the clinic is closed pages the person on call at once
// (pageStaff, notify.go: no PHI, a link that opens the item after sign-in
// and an "I've got it" link); nobody taking it within EscalateMinutes pages
// the next person, then the owner. Every page and acknowledgement is a line
// on the item's timeline. A non-urgent request after hours pages nobody,
// and the patient is told "the on-call clinician has been alerted" only
// when a page was actually written to the outbox.

// OnCall is the owner's rota.
type OnCall struct {
	Rota            []Shift  `json:"rota"`
	EscalateMinutes int      `json:"escalate_minutes"`
	Fallbacks       []string `json:"fallbacks"` // staff ids paged in turn after the person on call, before the owner
}

// Shift is one person's on-call hours: on Days (0 = Sunday), From to To in
// the clinic's time zone ("24:00" may end a day).
type Shift struct {
	StaffID string `json:"staff_id"`
	Phone   string `json:"phone"`           // for texts
	Email   string `json:"email,omitempty"` // "" for their sign-in email
	Days    []int  `json:"days"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// DefaultEscalateMinutes is the wait before the next person is paged.
const DefaultEscalateMinutes = 10

// mobileDigits reports whether a phone number can be a mobile number to
// text: 10 to 15 digits, with an optional leading + and the usual separators.
func mobileDigits(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 30 {
		return false
	}
	for i, r := range s {
		if !strings.ContainsRune("0123456789 -().", r) && !(r == '+' && i == 0) {
			return false
		}
	}
	n := len(phoneDigits(s))
	return n >= 10 && n <= 15
}

// check validates a rota against the staff list, naming each problem's
// field ("rota.2.to").
func (oc *OnCall) check(staff []Staff) error {
	var es InputErrors
	if oc.EscalateMinutes == 0 {
		oc.EscalateMinutes = DefaultEscalateMinutes
	}
	if oc.EscalateMinutes < 1 || oc.EscalateMinutes > 240 {
		es = append(es, &InputError{Field: "escalate_minutes", Msg: "Wait between 1 and 240 minutes before paging the next person."})
	}
	active := func(id string) *Staff {
		i := slices.IndexFunc(staff, func(s Staff) bool { return s.ID == id && !s.Disabled })
		if i < 0 {
			return nil
		}
		return &staff[i]
	}
	if len(oc.Rota) > 100 {
		es = append(es, &InputError{Field: "rota", Msg: "Keep the rota to at most 100 rows."})
	}
	type span struct{ row, from, to int }
	var byDay [7][]span
	for i := range oc.Rota {
		sh := &oc.Rota[i]
		f := func(name string) string { return fmt.Sprintf("rota.%d.%s", i, name) }
		if active(sh.StaffID) == nil {
			es = append(es, &InputError{Field: f("staff_id"), Msg: "Choose a staff member who can sign in."})
		}
		sh.Phone = strings.TrimSpace(sh.Phone)
		if sh.Phone != "" && !mobileDigits(sh.Phone) {
			es = append(es, &InputError{Field: f("phone"), Msg: "Write a mobile number with its area code, like 555-201-3344, or leave it empty."})
		}
		sh.Email = normalizeEmail(sh.Email)
		if sh.Email != "" && !validEmail(sh.Email) {
			es = append(es, &InputError{Field: f("email"), Msg: "Write an email address like name@example.com, or leave it empty for their sign-in email."})
		}
		if len(sh.Days) == 0 {
			es = append(es, &InputError{Field: f("days"), Msg: "Choose at least one day."})
		}
		slices.Sort(sh.Days)
		sh.Days = slices.Compact(sh.Days)
		badDay := slices.ContainsFunc(sh.Days, func(d int) bool { return d < 0 || d > 6 })
		if badDay {
			es = append(es, &InputError{Field: f("days"), Msg: "Days are 0 (Sunday) to 6 (Saturday)."})
		}
		from, ok1 := parseClock(sh.From, false)
		to, ok2 := parseClock(sh.To, true)
		switch {
		case !ok1:
			es = append(es, &InputError{Field: f("from"), Msg: "Write the start as hours and minutes on the 24-hour clock, like 17:00."})
		case !ok2:
			es = append(es, &InputError{Field: f("to"), Msg: "Write the end as hours and minutes on the 24-hour clock, like 08:00 (24:00 for midnight)."})
		case to <= from:
			es = append(es, &InputError{Field: f("to"), Msg: "The end must be later than the start on the same day; for a night, add a second row for the next morning."})
		case !badDay:
			for _, d := range sh.Days {
				for _, o := range byDay[d] {
					if from < o.to && o.from < to {
						es = append(es, &InputError{Field: f("from"), Msg: fmt.Sprintf("These hours overlap row %d on %s: only one person is on call at a time.", o.row+1, weekdayNames[d])})
					}
				}
				byDay[d] = append(byDay[d], span{i, from, to})
			}
		}
	}
	for _, id := range oc.Fallbacks {
		if active(id) == nil {
			es = append(es, &InputError{Field: "fallbacks", Msg: "Each fallback must be a staff member who can sign in."})
			break
		}
	}
	return es.err()
}

func validEmail(e string) bool {
	at := strings.LastIndexByte(e, '@')
	return at > 0 && at < len(e)-1 && !strings.ContainsAny(e, " <>,;\"")
}

// GetOnCall returns the rota (empty until the owner sets one).
func (c *Clinic) GetOnCall(ctx context.Context, a Actor) (OnCall, error) {
	if a.Kind != ActorStaff && a.Kind != ActorSystem {
		return OnCall{}, ErrForbidden
	}
	oc := OnCall{EscalateMinutes: DefaultEscalateMinutes}
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefNoPatient(bucketOnCall, "rota"), &oc) })
	if IsNotFound(err) {
		err = nil
	}
	if oc.Rota == nil {
		oc.Rota = []Shift{}
	}
	if oc.Fallbacks == nil {
		oc.Fallbacks = []string{}
	}
	return oc, err
}

// SaveOnCall replaces the rota. Owners only.
func (c *Clinic) SaveOnCall(ctx context.Context, a Actor, oc OnCall) (OnCall, error) {
	if a.Kind != ActorSystem && a.Role != RoleOwner {
		return OnCall{}, ErrForbidden
	}
	staff, err := c.ListStaff(ctx, System)
	if err != nil {
		return OnCall{}, err
	}
	if err := oc.check(staff); err != nil {
		return OnCall{}, err
	}
	if oc.Rota == nil {
		oc.Rota = []Shift{}
	}
	if oc.Fallbacks == nil {
		oc.Fallbacks = []string{}
	}
	sealed, err := c.seal(vault.RefNoPatient(bucketOnCall, "rota"), oc)
	if err != nil {
		return OnCall{}, err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketOnCall, "rota", sealed); err != nil {
			return err
		}
		return c.audit(tx, a, "oncall.change", "oncall", "")
	})
	return oc, err
}

// OnCallAt is the shift covering t (clinic time), if any.
func (oc OnCall) OnCallAt(t time.Time, loc *time.Location) (Shift, bool) {
	local := t.In(loc)
	mins := local.Hour()*60 + local.Minute()
	day := int(local.Weekday())
	for _, sh := range oc.Rota {
		from, ok1 := parseClock(sh.From, false)
		to, ok2 := parseClock(sh.To, true)
		if ok1 && ok2 && slices.Contains(sh.Days, day) && mins >= from && mins < to {
			return sh, true
		}
	}
	return Shift{}, false
}

// chain is who is paged, in order: the person on call now, the fallbacks,
// then the owners. Empty when nobody is on call now.
func (c *Clinic) chain(ctx context.Context, s Settings, now time.Time) ([]Pagee, int, error) {
	oc, err := c.GetOnCall(ctx, System)
	if err != nil {
		return nil, 0, err
	}
	sh, ok := oc.OnCallAt(now, s.Location())
	if !ok {
		return nil, 0, nil
	}
	staff, err := c.ListStaff(ctx, System)
	if err != nil {
		return nil, 0, err
	}
	find := func(id string) (Staff, bool) {
		i := slices.IndexFunc(staff, func(s Staff) bool { return s.ID == id && !s.Disabled })
		if i < 0 {
			return Staff{}, false
		}
		return staff[i], true
	}
	var out []Pagee
	add := func(id, email, phone string) {
		st, ok := find(id)
		if !ok || slices.ContainsFunc(out, func(p Pagee) bool { return p.StaffID == id }) {
			return
		}
		if email == "" {
			email = st.Email
		}
		if phone == "" {
			// a fallback's phone is the one on their own rota row, if any
			if i := slices.IndexFunc(oc.Rota, func(r Shift) bool { return r.StaffID == id && r.Phone != "" }); i >= 0 {
				phone = oc.Rota[i].Phone
			}
		}
		out = append(out, Pagee{StaffID: id, Email: email, Phone: phone})
	}
	add(sh.StaffID, sh.Email, sh.Phone)
	for _, id := range oc.Fallbacks {
		add(id, "", "")
	}
	for _, st := range staff {
		if st.Role == RoleOwner {
			add(st.ID, "", "")
		}
	}
	return out, oc.EscalateMinutes, nil
}

// Page is one urgent request's page and its escalation.
type Page struct {
	ID       string    `json:"id"`
	ItemID   string    `json:"item_id"`
	Chain    []Pagee   `json:"chain"`
	Tokens   []string  `json:"tokens"` // SHA-256 (hex) of each person's "I've got it" token, by chain position
	Step     int       `json:"step"`   // who was paged last
	Escalate int       `json:"escalate_minutes"`
	NextAt   time.Time `json:"next_at,omitzero"` // when the next person is paged; zero once done
	AckBy    string    `json:"ack_by,omitempty"`
	AckAt    time.Time `json:"ack_at,omitzero"`
}

func (pg Page) dueKey() []byte { return cat(be64(pg.NextAt), idBytes(pg.ID)) }

func newAckToken() (string, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	tok := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(tok))
	return tok, hex.EncodeToString(h[:])
}

// pageLine is the timeline line for a page or its answer. Body is a key the
// console words; AuthorID/AuthorName say who.
func (c *Clinic) pageLine(ctx context.Context, body, staffID string, at time.Time) Message {
	m := Message{Kind: KindSystem, Body: body, At: at, AuthorID: staffID}
	if st, err := c.staffCached(ctx, staffID); err == nil {
		m.AuthorName = st.SignedName()
	}
	return m
}

// nextPage pages the first person from position from on who can be
// reached: it returns their position (len(Chain) when nobody can be), the
// outbox records and the timeline line.
func (c *Clinic) nextPage(ctx context.Context, s Settings, pg *Page, from int) (int, []outRecord, *Message, error) {
	now := c.now().UTC()
	for i := from; i < len(pg.Chain); i++ {
		tok, hash := newAckToken()
		outs, err := c.pageStaff(s, pg.Chain[i], staffPage{ItemID: pg.ItemID, AckPath: "/oncall/" + pg.ID + "/" + tok})
		if err != nil {
			return 0, nil, nil, err
		}
		if len(outs) == 0 {
			continue
		}
		pg.Tokens[i] = hash
		line := c.pageLine(ctx, "oncall.paged", pg.Chain[i].StaffID, now)
		return i, outs, &line, nil
	}
	return len(pg.Chain), nil, nil, nil
}

// startPage prepares the page for a new urgent item that came in while the
// clinic is closed, or nil when nobody is on call or nobody can be reached.
func (c *Clinic) startPage(ctx context.Context, s Settings, itemID string) (*Page, []byte, []outRecord, *Message, error) {
	now := c.now().UTC()
	chain, esc, err := c.chain(ctx, s, now)
	if err != nil || len(chain) == 0 {
		return nil, nil, nil, nil, err
	}
	pg := &Page{ID: newTimeID(), ItemID: itemID, Chain: chain, Tokens: make([]string, len(chain)), Escalate: esc}
	step, outs, line, err := c.nextPage(ctx, s, pg, 0)
	if err != nil || line == nil {
		return nil, nil, nil, nil, err
	}
	pg.Step, pg.NextAt = step, now.Add(time.Duration(esc)*time.Minute)
	sealed, err := c.seal(vault.RefNoPatient(bucketPages, pg.ID), pg)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return pg, sealed, outs, line, nil
}

func putPage(tx store.Tx, old *Page, pg *Page, sealed []byte) error {
	if old != nil && !old.NextAt.IsZero() {
		if err := tx.DeleteIndex(ixPagesDue, old.dueKey()); err != nil {
			return err
		}
	}
	if err := tx.Put(bucketPages, pg.ID, sealed); err != nil {
		return err
	}
	if !pg.NextAt.IsZero() {
		return tx.SetIndex(ixPagesDue, pg.dueKey(), pg.ID)
	}
	return nil
}

// errPageMoved: the page changed between reading and writing it (an
// acknowledgement raced an escalation); the change is worked out again.
var errPageMoved = errors.New("clinic: the page changed meanwhile")

// changePage reads a page, applies change (which may add a timeline line
// and outbox records) and writes page, line and records in one
// transaction, only if the page is still what was read.
func (c *Clinic) changePage(ctx context.Context, a Actor, id string, change func(pg *Page) (*Message, []outRecord, string, error)) (Page, error) {
	for range 8 {
		var raw []byte
		var pg Page
		if err := c.st.View(ctx, func(tx store.Tx) error {
			var err error
			if raw, err = tx.Get(bucketPages, id); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return ErrNotFound
				}
				return err
			}
			return c.openRaw(vault.RefNoPatient(bucketPages, id), raw, &pg)
		}); err != nil {
			return Page{}, err
		}
		old := pg
		line, outs, action, err := change(&pg)
		if err != nil || (line == nil && action == "") {
			return pg, err
		}
		sealed, err := c.seal(vault.RefNoPatient(bucketPages, id), pg)
		if err != nil {
			return Page{}, err
		}
		write := func(tx store.Tx, it *Item) error {
			cur, err := tx.Get(bucketPages, id)
			if err != nil {
				return err
			}
			if !bytes.Equal(cur, raw) {
				return errPageMoved
			}
			if err := putPage(tx, &old, &pg, sealed); err != nil {
				return err
			}
			if err := putOutRecords(tx, outs); err != nil {
				return err
			}
			if action == "oncall.ack" {
				// whoever took it, by the console or by their own link
				return c.audit(tx, Actor{Kind: ActorStaff, ID: pg.AckBy, Role: a.Role, Client: a.Client}, action, "item:"+pg.ItemID, it.PatientID)
			}
			if action != "" {
				return c.audit(tx, a, action, "item:"+pg.ItemID, it.PatientID)
			}
			return nil
		}
		err = c.addSystemLine(ctx, pg.ItemID, line, write)
		if errors.Is(err, errPageMoved) {
			continue
		}
		return pg, err
	}
	return Page{}, errPageMoved
}

// addSystemLine adds a line to an item's timeline, with the caller's other
// writes in the same transaction.
func (c *Clinic) addSystemLine(ctx context.Context, itemID string, line *Message, also func(tx store.Tx, it *Item) error) error {
	var sealed []byte
	var ev Event
	_, err := c.changeItem(ctx, itemID, func(it *Item) error {
		if line == nil {
			return nil
		}
		it.Messages++
		line.ID, line.ItemID = messageID(itemID, it.Messages), itemID
		var err error
		sealed, err = c.seal(vault.NewRef(bucketMessages, line.ID, it.owner()), *line)
		return err
	}, func(tx store.Tx, it *Item) error {
		if line != nil {
			if err := tx.Put(bucketMessages, line.ID, sealed); err != nil {
				return err
			}
		}
		if err := also(tx, it); err != nil {
			return err
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: "item.message", ItemID: it.ID, Queue: it.Queue, Priority: it.Priority})
		return err
	})
	if err == nil {
		c.publish(ev)
	}
	return err
}

// EscalatePages pages the next person for every page nobody took in time,
// and marks a page unanswered once the owner too was paged. It runs every
// minute.
func (c *Clinic) EscalatePages(ctx context.Context) (int, error) {
	now := c.now()
	ids, err := c.idsUntil(ctx, ixPagesDue, store.Range{Limit: 100}, now)
	if err != nil {
		return 0, err
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		_, err := c.changePage(ctx, System, id, func(pg *Page) (*Message, []outRecord, string, error) {
			if pg.NextAt.IsZero() || pg.NextAt.After(now) || pg.AckBy != "" {
				return nil, nil, "", nil
			}
			step, outs, line, err := c.nextPage(ctx, s, pg, pg.Step+1)
			if err != nil {
				return nil, nil, "", err
			}
			if line == nil {
				pg.NextAt = time.Time{}
				l := Message{Kind: KindSystem, Body: "oncall.unanswered", At: now.UTC()}
				return &l, nil, "oncall.unanswered", nil
			}
			pg.Step, pg.NextAt = step, now.UTC().Add(time.Duration(pg.Escalate)*time.Minute)
			return line, outs, "oncall.escalate", nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ErrPageTaken: somebody already said "I've got it" for this page.
var ErrPageTaken = errors.New("clinic: somebody already has this urgent request")

// AckPageLink is "I've got it" from the link in a page: the token says who
// (each person paged has their own), and it works once; a page someone
// already took answers ErrPageTaken.
func (c *Clinic) AckPageLink(ctx context.Context, pageID, token, client string) (string, error) {
	if !validItemID(pageID) || token == "" {
		return "", ErrNotFound
	}
	h := sha256.Sum256([]byte(token))
	hash := hex.EncodeToString(h[:])
	var itemID string
	_, err := c.changePage(ctx, Actor{Kind: ActorStaff, Client: client}, pageID, func(pg *Page) (*Message, []outRecord, string, error) {
		itemID = pg.ItemID
		if pg.AckBy != "" {
			return nil, nil, "", ErrPageTaken // every link was spent with it
		}
		who := slices.IndexFunc(pg.Tokens, func(t string) bool { return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(hash)) == 1 })
		if who < 0 {
			return nil, nil, "", ErrNotFound
		}
		return c.ack(ctx, pg, pg.Chain[who].StaffID)
	})
	return itemID, err
}

func (c *Clinic) ack(ctx context.Context, pg *Page, staffID string) (*Message, []outRecord, string, error) {
	now := c.now().UTC()
	pg.AckBy, pg.AckAt, pg.NextAt = staffID, now, time.Time{}
	for i := range pg.Tokens {
		pg.Tokens[i] = "" // every link is spent
	}
	line := c.pageLine(ctx, "oncall.ack", staffID, now)
	return &line, nil, "oncall.ack", nil
}

// AckItemPage is "I've got it" from the console, by the signed-in person.
func (c *Clinic) AckItemPage(ctx context.Context, a Actor, itemID string) error {
	if a.Kind != ActorStaff {
		return ErrForbidden
	}
	if !validItemID(itemID) {
		return ErrNotFound
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, itemID); return err }); err != nil {
		return err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return err
	}
	it, err := c.loadItem(ctx, m)
	if err != nil {
		return err
	}
	if it.PageID == "" {
		return inputErr("page", "Nobody was paged for this request.")
	}
	_, err = c.changePage(ctx, a, it.PageID, func(pg *Page) (*Message, []outRecord, string, error) {
		if pg.AckBy != "" {
			return nil, nil, "", nil
		}
		return c.ack(ctx, pg, a.ID)
	})
	return err
}

// ItemPage is the page sent for an item, for the console (who was paged,
// who took it); false when nobody was paged.
func (c *Clinic) ItemPage(ctx context.Context, it Item) (Page, bool, error) {
	if it.PageID == "" {
		return Page{}, false, nil
	}
	var pg Page
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefNoPatient(bucketPages, it.PageID), &pg) })
	if err != nil {
		return Page{}, false, err
	}
	pg.Tokens = nil
	return pg, true, nil
}
