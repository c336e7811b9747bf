package clinic

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Nothing left behind: the overdue ticker, the closing-time sweep, the
// workload view, call-back attempts, templates, copy-for-chart and linking
// an unverified contact to a patient record.

// bucketOverdue remembers (in the clear: ids and a stage) which overdue
// items were already announced, so each alert fires once.

// EscalateAfter is how long an item may stay overdue before the owner is told.
const EscalateAfter = 30 * time.Minute

// TickOverdue announces items that became overdue to their queue, and those
// overdue for EscalateAfter to the owner. It runs every minute.
func (c *Clinic) TickOverdue(ctx context.Context) (int, error) {
	now := c.now()
	type hit struct {
		m     ItemMeta
		stage string
	}
	var hits []hit
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixOpenDue, store.Range{}, func(k []byte, id string) error {
			due := time.UnixMilli(int64(beUint(k[:8])))
			if !now.After(due) {
				return store.ErrStop
			}
			stage := "overdue"
			if now.Sub(due) >= EscalateAfter {
				stage = "escalated"
			}
			done, _ := tx.Get(bucketOverdue, id)
			if string(done) == stage || string(done) == "escalated" {
				return nil
			}
			m, err := getMetaRec(tx, id)
			if err != nil {
				return err
			}
			hits = append(hits, hit{m, stage})
			return nil
		})
	})
	if err != nil || len(hits) == 0 {
		return 0, err
	}
	var evs []Event
	err = c.st.Update(ctx, func(tx store.Tx) error {
		evs = evs[:0]
		for _, h := range hits {
			if err := tx.Put(bucketOverdue, h.m.ID, []byte(h.stage)); err != nil {
				return err
			}
			e, err := c.addEvent(tx, Event{Type: "item." + h.stage, ItemID: h.m.ID, Queue: h.m.Queue, Priority: h.m.Priority})
			if err != nil {
				return err
			}
			evs = append(evs, e)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	c.publish(evs...)
	return len(hits), nil
}

// SweepRow is one item the closing-time sweep found.
type SweepRow struct {
	ItemRow
	Reasons []string `json:"reasons"` // unanswered, unassigned, overdue
}

// Sweep lists every open item still unanswered, unassigned or overdue in
// the caller's queues: what must not be left for tomorrow.
func (c *Clinic) Sweep(ctx context.Context, a Actor) ([]SweepRow, error) {
	rows, err := c.ListItems(ctx, a, ItemFilter{Limit: 200})
	if err != nil {
		return nil, err
	}
	var out []SweepRow
	for _, r := range rows {
		var why []string
		if r.FirstReply.IsZero() {
			why = append(why, "unanswered")
		}
		if r.Assignee == "" {
			why = append(why, "unassigned")
		}
		if r.Overdue {
			why = append(why, "overdue")
		}
		if len(why) > 0 {
			out = append(out, SweepRow{r, why})
		}
	}
	return out, nil
}

// AnnounceSweep tells every console that the closing sweep is ready (the
// owner's last alert of the day). It carries no PHI, only a count.
func (c *Clinic) AnnounceSweep(ctx context.Context) error {
	var e Event
	err := c.st.Update(ctx, func(tx store.Tx) error {
		var err error
		e, err = c.addEvent(tx, Event{Type: "sweep"})
		return err
	})
	if err == nil {
		c.publish(e)
	}
	return err
}

// Workload is the numbers behind the workload view.
type Workload struct {
	Queues          []QueueCount   `json:"queues"`
	ByType          map[string]int `json:"by_type"`
	ByStaff         []StaffLoad    `json:"by_staff"`
	Unassigned      int            `json:"unassigned"`
	MedianFirstResp struct {
		TodayMinutes float64 `json:"today_minutes"`
		WeekMinutes  float64 `json:"week_minutes"`
	} `json:"median_first_response"`
	ClosedToday int `json:"closed_today"`
	NewToday    int `json:"new_today"`
}

// StaffLoad is one person's open items.
type StaffLoad struct {
	StaffID string `json:"staff_id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Open    int    `json:"open"`
	Overdue int    `json:"overdue"`
}

// Workload counts from the plain item records only: no record is opened.
func (c *Clinic) Workload(ctx context.Context, a Actor) (Workload, error) {
	var w Workload
	if a.Kind != ActorStaff {
		return w, ErrForbidden
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return w, err
	}
	if w.Queues, err = c.QueueCounts(ctx, a); err != nil {
		return w, err
	}
	loc := settings.Location()
	now := c.now()
	y, mo, d := now.In(loc).Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	week := today.AddDate(0, 0, -6)
	w.ByType = map[string]int{}
	perStaff := map[string]*StaffLoad{}
	var respToday, respWeek []float64
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketItemMeta, "", func(_ string, v []byte) error {
			var m ItemMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if !settings.mayQueue(a.Role, m.Queue) {
				return nil
			}
			if !m.Created.Before(today) {
				w.NewToday++
			}
			if m.Status == StatusClosed {
				if !m.Closed.Before(today) {
					w.ClosedToday++
				}
			} else {
				w.ByType[m.Type]++
				if m.Assignee == "" {
					w.Unassigned++
				} else {
					sl := perStaff[m.Assignee]
					if sl == nil {
						sl = &StaffLoad{StaffID: m.Assignee}
						perStaff[m.Assignee] = sl
					}
					sl.Open++
					if m.Overdue(now) {
						sl.Overdue++
					}
				}
			}
			if !m.FirstReply.IsZero() && !m.Created.Before(week) {
				mins := m.FirstReply.Sub(m.Created).Minutes()
				respWeek = append(respWeek, mins)
				if !m.Created.Before(today) {
					respToday = append(respToday, mins)
				}
			}
			return nil
		})
	})
	if err != nil {
		return w, err
	}
	w.MedianFirstResp.TodayMinutes = median(respToday)
	w.MedianFirstResp.WeekMinutes = median(respWeek)
	for id, sl := range perStaff {
		if st, err := c.staffCached(ctx, id); err == nil {
			sl.Name, sl.Role = st.Name, st.Role
		}
		w.ByStaff = append(w.ByStaff, *sl)
	}
	sort.Slice(w.ByStaff, func(i, j int) bool { return w.ByStaff[i].Open > w.ByStaff[j].Open })
	return w, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	if n := len(xs); n%2 == 1 {
		return xs[n/2]
	} else {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
}

// LogAttempt records a call-back try; the patient sees the attempts.
func (c *Clinic) LogAttempt(ctx context.Context, a Actor, id, outcome string) (Item, error) {
	outcome, err := cleanBody("outcome", outcome, true)
	if err != nil {
		return Item{}, inputErr("outcome", "Say how the call went, for example: no answer, left a message.")
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Item{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return Item{}, err
	}
	if m.Type != TypeCallback {
		return Item{}, inputErr("outcome", "Call attempts are for call-back requests.")
	}
	st, err := c.staffCached(ctx, a.ID)
	if err != nil {
		return Item{}, err
	}
	return c.systemChange(ctx, a, id, "item.call_attempt", func(it *Item) (string, error) {
		it.Attempts = append(it.Attempts, Attempt{At: c.now().UTC(), StaffID: st.ID, Name: st.FirstName(), Outcome: outcome})
		if it.FirstReply.IsZero() {
			it.FirstReply = c.now().UTC()
		}
		if it.Status == StatusNew {
			it.Status = StatusOpen
		}
		return "call_attempt", nil
	})
}

// Template is an owner-managed canned reply. Placeholders:
// {patient_first_name}, {staff_name}, {clinic_phone}, {clinic_name},
// {next_business_day}.
type Template struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Body string `json:"body"`
}

// DefaultTemplates are a new clinic's canned replies.
func DefaultTemplates() []Template {
	return []Template{
		{ID: "refill-sent", Name: "Refill sent to pharmacy", Body: "Hi {patient_first_name}, your refill was sent to your pharmacy. It is usually ready within a day. — {staff_name}"},
		{ID: "call-us", Name: "Please call us", Body: "Hi {patient_first_name}, please call us at {clinic_phone} so we can talk this through. — {staff_name}"},
		{ID: "booked", Name: "Appointment booked", Body: "Hi {patient_first_name}, you are booked. If the time does not work, reply here or call {clinic_phone}. — {staff_name}"},
		{ID: "next-day", Name: "We'll follow up", Body: "Hi {patient_first_name}, thank you for your message. We will follow up by {next_business_day}. — {staff_name}"},
	}
}

func (s Settings) templates() []Template {
	if s.Templates == nil {
		return DefaultTemplates()
	}
	return s.Templates
}

// RenderTemplate fills a template for an item; staff can still edit it.
func (c *Clinic) RenderTemplate(ctx context.Context, a Actor, templateID, itemID string) (string, error) {
	settings, err := c.Settings(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(settings.templates(), func(t Template) bool { return t.ID == templateID })
	if i < 0 {
		return "", ErrNotFound
	}
	v, err := c.GetItem(ctx, a, itemID)
	if err != nil {
		return "", err
	}
	st, err := c.staffCached(ctx, a.ID)
	if err != nil {
		return "", err
	}
	first := ""
	if v.Patient != nil {
		first = v.Patient.FirstName()
	} else if v.Contact != nil {
		first = Patient{Name: v.Contact.Name}.FirstName()
	}
	loc := settings.Location()
	next := settings.hours().NextOpen(c.now().Add(24*time.Hour).In(loc), loc)
	r := strings.NewReplacer("{patient_first_name}", first, "{staff_name}", st.FirstName(), "{clinic_phone}", settings.Phone,
		"{clinic_name}", settings.ClinicName, "{next_business_day}", next.In(loc).Format("Monday, January 2"))
	return r.Replace(settings.templates()[i].Body), nil
}

// ChartSummary is a plain-text copy of an item for the clinic's EHR, headed
// by the patient's name and birth date. It is logged as an export.
func (c *Clinic) ChartSummary(ctx context.Context, a Actor, itemID string) (string, error) {
	v, err := c.GetItem(ctx, a, itemID)
	if err != nil {
		return "", err
	}
	settings, _ := c.Settings(ctx)
	loc := settings.Location()
	var b strings.Builder
	switch {
	case v.Patient != nil:
		fmt.Fprintf(&b, "Patient: %s  DOB: %s\n", v.Patient.Name, v.Patient.DOB)
	case v.Contact != nil:
		fmt.Fprintf(&b, "Unverified contact: %s  DOB (as given): %s  Phone: %s\n", v.Contact.Name, v.Contact.DOB, v.Contact.Phone)
	}
	it := v.Item
	fmt.Fprintf(&b, "%s request via Hearth, received %s\nSubject: %s\n", strings.ToUpper(it.Type[:1])+it.Type[1:], it.Created.In(loc).Format("2006-01-02 15:04"), it.Subject)
	keys := make([]string, 0, len(it.Fields))
	for k := range it.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", strings.ReplaceAll(k, "_", " "), it.Fields[k])
	}
	b.WriteString("\n")
	for _, m := range v.Messages {
		if m.Kind == KindSystem {
			continue
		}
		who := "Patient"
		switch m.Kind {
		case KindStaff:
			who = m.AuthorName + " (" + m.AuthorRole + ")"
		case KindNote:
			who = m.AuthorName + " (internal note)"
		}
		fmt.Fprintf(&b, "[%s] %s:\n%s\n\n", m.At.In(loc).Format("2006-01-02 15:04"), who, m.Body)
	}
	if it.Status == StatusClosed {
		fmt.Fprintf(&b, "Closed %s: %s %s\n", it.Closed.In(loc).Format("2006-01-02 15:04"), it.Outcome, it.ClosedReason)
	}
	err = c.st.Update(ctx, func(tx store.Tx) error { return c.audit(tx, a, "item.export", "item:"+itemID, it.PatientID) })
	return b.String(), err
}

// StaffPatientItems lists a patient's items for the staff patient page.
func (c *Clinic) StaffPatientItems(ctx context.Context, a Actor, patientID string) ([]ItemRow, error) {
	if a.Kind != ActorStaff {
		return nil, ErrForbidden
	}
	if !validItemID(patientID) {
		return nil, ErrNotFound
	}
	metas, err := c.ownerMetas(ctx, patientID)
	if err != nil {
		return nil, err
	}
	settings, _ := c.Settings(ctx)
	now := c.now()
	var rows []ItemRow
	for _, m := range metas {
		row := ItemRow{ItemMeta: m, Overdue: m.Overdue(now)}
		if settings.mayQueue(a.Role, m.Queue) {
			if it, err := c.loadItem(ctx, m); err == nil {
				row.Subject = it.Subject
			}
		}
		rows = append(rows, row)
	}
	err = c.st.Update(ctx, func(tx store.Tx) error { return c.audit(tx, a, "patient.items", "patient:"+patientID, patientID) })
	return rows, err
}

// LinkContact moves an unverified contact's items onto a patient record,
// after staff compared both identities side by side. Every item and message
// is re-sealed to the patient.
func (c *Clinic) LinkContact(ctx context.Context, a Actor, contactID, patientID string) (int, error) {
	if a.Kind != ActorStaff {
		return 0, ErrForbidden
	}
	ct, err := c.loadContact(ctx, contactID)
	if err != nil {
		return 0, ErrNotFound
	}
	if _, err := c.loadPatient(ctx, patientID); err != nil {
		return 0, ErrNotFound
	}
	if ct.PatientID != "" {
		return 0, inputErr("contact_id", "This contact is already linked to a patient.")
	}
	owner := "contact:" + contactID
	var ids []string
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixOwner, store.Range{Prefix: append([]byte(owner), 0)}, func(_ []byte, id string) error {
			ids = append(ids, id)
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := c.reownItem(ctx, a, id, owner, patientID); err != nil {
			return 0, err
		}
	}
	ct.PatientID = patientID
	sealed, err := c.seal(vault.NewRef(bucketContacts, ct.ID, owner), ct)
	if err != nil {
		return 0, err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketContacts, ct.ID, sealed); err != nil {
			return err
		}
		return c.audit(tx, a, "contact.link", "contact:"+contactID, patientID)
	})
	return len(ids), err
}

// reownItem re-seals one item and its messages from the contact to the patient.
func (c *Clinic) reownItem(ctx context.Context, a Actor, id, from, patientID string) error {
	var it Item
	msgs := map[string][]byte{}
	err := c.st.View(ctx, func(tx store.Tx) error {
		if err := c.open(tx, vault.NewRef(bucketItems, id, from), &it); err != nil {
			return err
		}
		return tx.Each(bucketMessages, id, func(mid string, raw []byte) error {
			if !strings.HasPrefix(mid, id+":") {
				return store.ErrStop
			}
			var m Message
			if err := c.openRaw(vault.NewRef(bucketMessages, mid, from), raw, &m); err != nil {
				return err
			}
			b, err := c.seal(vault.NewRef(bucketMessages, mid, patientID), m)
			msgs[mid] = b
			return err
		})
	})
	if err != nil {
		return err
	}
	old := it.ItemMeta
	it.PatientID, it.ContactID = patientID, ""
	sealed, err := c.seal(vault.NewRef(bucketItems, id, patientID), it)
	if err != nil {
		return err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketItems, id, sealed); err != nil {
			return err
		}
		for mid, b := range msgs {
			if err := tx.Put(bucketMessages, mid, b); err != nil {
				return err
			}
		}
		if err := putMeta(tx, &old, it.ItemMeta); err != nil {
			return err
		}
		return c.audit(tx, a, "item.link", "item:"+id, patientID)
	})
	if err == nil {
		c.items.drop(id)
	}
	return err
}

// ClosingTime is when the clinic closes today (local), and whether it opens
// at all today.
func (s Settings) ClosingTime(now time.Time) (time.Time, bool) {
	loc := s.Location()
	local := now.In(loc)
	day := local.Format("2006-01-02")
	h := s.hours()
	if slices.Contains(h.Holidays, day) {
		return time.Time{}, false
	}
	spans := h.Weekly[local.Weekday()]
	if len(spans) == 0 {
		return time.Time{}, false
	}
	last := spans[len(spans)-1].Close
	mins, ok := parseClock(last, true)
	if !ok {
		return time.Time{}, false
	}
	y, m, d := local.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).Add(time.Duration(mins) * time.Minute), true
}

// metaSweepDay is the local date of the last closing sweep announced.
const metaSweepDay = "sweep_day"

// EveryMinute runs the periodic work: overdue alerts and, once closing time
// has passed, the day's closing sweep alert.
func (c *Clinic) EveryMinute(ctx context.Context) error {
	if c.v.Locked() {
		return nil
	}
	if _, err := c.TickOverdue(ctx); err != nil {
		return err
	}
	if _, err := c.SendReminders(ctx); err != nil {
		return err
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	now := c.now()
	closing, open := s.ClosingTime(now)
	day := now.In(s.Location()).Format("2006-01-02")
	if open && !now.Before(closing) && c.Meta(ctx, metaSweepDay) != day {
		if err := c.AnnounceSweep(ctx); err != nil {
			return err
		}
		return c.SetMeta(ctx, metaSweepDay, day)
	}
	return nil
}
