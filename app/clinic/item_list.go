package clinic

import (
	"context"
	"slices"
	"sort"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

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

// auditRows records that a list showed these patients' names: one event
// for the page, listing every patient on it.
func (c *Clinic) auditRows(ctx context.Context, a Actor, rows []ItemRow) error {
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.PatientID)
	}
	return c.auditListed(ctx, a, "item.list", "items", ids)
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
