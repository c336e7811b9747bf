package clinic

import (
	"context"
	"slices"
	"strings"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
)

// AuditEntry is an audit event with its actor named, for the owner's screen
// and the patient's access report. On the owner's screen (AuditLogNamed)
// it also carries the action's plain words and the names of the patients
// the event is about.
type AuditEntry struct {
	audit.Event
	ActorName    string         `json:"actor_name"`
	ActorRole    string         `json:"actor_role,omitempty"`
	ActionWords  string         `json:"action_words,omitempty"`
	PatientNames []PatientLabel `json:"patient_names,omitempty"`
}

// PatientLabel is a patient's id with their name, for the owner's audit
// screen.
type PatientLabel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AuditLog lists audit events for the owner, with staff named (the CSV
// export; the export records itself). With newest set, events come newest
// first, before the sequence number `before` (0 for the newest).
func (c *Clinic) AuditLog(ctx context.Context, a Actor, f audit.Filter, newest bool, before uint64) ([]AuditEntry, error) {
	if a.Role != RoleOwner {
		return nil, ErrForbidden
	}
	var evs []audit.Event
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		if newest {
			evs, err = audit.ListNewest(tx, f, before)
		} else {
			evs, err = audit.List(tx, f)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	names, err := c.staffNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, 0, len(evs))
	for _, e := range evs {
		out = append(out, c.named(e, names, false))
	}
	return out, nil
}

// AuditLogNamed is AuditLog for the owner's screen: each event also carries
// its action's words in lang and the names of the patients it is about.
// Showing those names is a look at those patients' records, so it writes
// one "audit.read" event listing them (or none of them, when the page named
// nobody); if that event cannot be written, nothing is shown.
func (c *Clinic) AuditLogNamed(ctx context.Context, a Actor, f audit.Filter, newest bool, before uint64, lang string) ([]AuditEntry, error) {
	entries, err := c.AuditLog(ctx, a, f, newest, before)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	var shown []string
	for i := range entries {
		e := &entries[i]
		e.ActionWords = c.auditActionWords(lang, e.Action)
		for _, id := range e.PatientIDs() {
			name, ok := names[id]
			if !ok {
				name = c.patientLabel(ctx, id)
				names[id] = name
				shown = append(shown, id)
			}
			e.PatientNames = append(e.PatientNames, PatientLabel{ID: id, Name: name})
		}
	}
	if err := c.st.Update(ctx, func(tx store.Tx) error {
		return c.auditEvent(tx, audit.Event{Actor: a.String(), Action: ActionAuditRead, Object: "audit", Patients: shown, Client: a.Client})
	}); err != nil {
		return nil, err
	}
	return entries, nil
}

// patientLabel is the name the owner's audit screen shows for a patient
// id: the patient's name, or "" when the record is gone (merged away or
// never there) or cannot be opened; the screen then shows the id.
func (c *Clinic) patientLabel(ctx context.Context, id string) string {
	if !validItemID(id) {
		return ""
	}
	p, err := c.loadPatient(ctx, id)
	if err != nil {
		return ""
	}
	return p.Name
}

func (c *Clinic) staffNames(ctx context.Context) (map[string]Staff, error) {
	all, err := c.ListStaff(ctx, System)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Staff, len(all))
	for _, s := range all {
		m[s.ID] = s
	}
	return m, nil
}

// named gives an event its actor's name: a staff member's full name for the
// owner, or the name they sign with (SignedName) for a patient (signed).
func (c *Clinic) named(e audit.Event, names map[string]Staff, signed bool) AuditEntry {
	ae := AuditEntry{Event: e}
	kind, id, _ := strings.Cut(e.Actor, ":")
	switch ActorKind(kind) {
	case ActorStaff:
		if s, ok := names[id]; ok {
			ae.ActorName, ae.ActorRole = s.Name, s.Role
			if signed {
				ae.ActorName = s.SignedName()
			}
		} else {
			ae.ActorName = "staff member"
		}
	case ActorPatient:
		ae.ActorName = "patient"
	case ActorCaregiver:
		ae.ActorName = "caregiver"
	case ActorContact:
		ae.ActorName = "patient (no account)"
	default:
		ae.ActorName = "Hearth"
	}
	return ae
}

// accessReportEvents bounds how far back a patient's access report reads
// (their newest events; a list view is one event per page shown).
const accessReportEvents = 2000

// AccessReport lists who at the clinic looked at or changed a patient's
// record, oldest first: staff names as they sign (SignedName) and roles,
// never internal ids or other patients. Patients see it.
func (c *Clinic) AccessReport(ctx context.Context, a Actor, patientID string) ([]AuditEntry, error) {
	out, err := c.accessEntries(ctx, a, patientID)
	for i := range out {
		out[i].Actor = ""
	}
	return out, err
}

// accessEntries is AccessReport with each event's actor kept (grouping
// needs it: two people may sign with the same name).
func (c *Clinic) accessEntries(ctx context.Context, a Actor, patientID string) ([]AuditEntry, error) {
	if err := c.mayReadPatient(a, patientID); err != nil {
		return nil, err
	}
	var evs []audit.Event
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		evs, err = audit.ForPatient(tx, patientID, accessReportEvents)
		return err
	})
	if err != nil {
		return nil, err
	}
	names, err := c.staffNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []AuditEntry
	for _, e := range evs {
		if !strings.HasPrefix(e.Actor, "staff:") || e.Outcome != "" {
			continue
		}
		ne := c.named(e, names, true)
		// The other patients a list showed are none of this patient's business.
		ne.Client, ne.Prev, ne.MAC, ne.Patient, ne.Patients = "", nil, nil, patientID, nil
		out = append(out, ne)
	}
	return out, nil
}

// AccessLine is one line of a patient's "who looked at my record": one
// person, one action, one day of the clinic's calendar, and how many times
// ("Maria, front desk, saw your name in the inbox list 3 times on Dec 6").
type AccessLine struct {
	Name   string    // the staff member as they sign (SignedName)
	Role   string    // their role
	Action string    // the audit action
	Day    time.Time // midnight of the day, in the clinic's time zone
	Last   time.Time // the newest of the group
	Count  int
}

// AccessSummary is AccessReport grouped for the patient: repeats by the
// same person, of the same action, on the same clinic day, become one line
// with a count. Newest first.
func (c *Clinic) AccessSummary(ctx context.Context, a Actor, patientID string) ([]AccessLine, error) {
	rep, err := c.accessEntries(ctx, a, patientID)
	if err != nil {
		return nil, err
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return groupAccess(rep, settings.Location()), nil
}

// groupAccess groups entries (oldest first) by person, action and day in
// loc, newest line first.
func groupAccess(rep []AuditEntry, loc *time.Location) []AccessLine {
	type key struct {
		actor, name, role, action string
		day                       time.Time
	}
	at := map[key]int{}
	var out []AccessLine
	for _, e := range rep {
		t := e.At.In(loc)
		k := key{e.Actor, e.ActorName, e.ActorRole, e.Action, time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)}
		if i, ok := at[k]; ok {
			out[i].Count++
			if e.At.After(out[i].Last) {
				out[i].Last = e.At
			}
			continue
		}
		at[k] = len(out)
		out = append(out, AccessLine{Name: k.name, Role: k.role, Action: k.action, Day: k.day, Last: e.At, Count: 1})
	}
	slices.SortStableFunc(out, func(x, y AccessLine) int { return y.Last.Compare(x.Last) })
	return out
}
