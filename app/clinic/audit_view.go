package clinic

import (
	"context"
	"strings"

	"hearth/app/audit"
	"hearth/app/store"
)

// AuditEntry is an audit event with its actor named, for the owner's screen
// and the patient's access report.
type AuditEntry struct {
	audit.Event
	ActorName string `json:"actor_name"`
	ActorRole string `json:"actor_role,omitempty"`
}

// AuditLog lists audit events for the owner (and records that they looked).
// With newest set, events come newest first, before the sequence number
// `before` (0 for the newest).
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
		out = append(out, c.named(e, names))
	}
	return out, nil
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

func (c *Clinic) named(e audit.Event, names map[string]Staff) AuditEntry {
	ae := AuditEntry{Event: e}
	kind, id, _ := strings.Cut(e.Actor, ":")
	switch ActorKind(kind) {
	case ActorStaff:
		if s, ok := names[id]; ok {
			ae.ActorName, ae.ActorRole = s.Name, s.Role
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

// AccessReport lists who at the clinic looked at or changed a patient's
// record: staff names and roles, never internal ids. Patients see it.
func (c *Clinic) AccessReport(ctx context.Context, a Actor, patientID string) ([]AuditEntry, error) {
	if err := c.mayReadPatient(a, patientID); err != nil {
		return nil, err
	}
	var evs []audit.Event
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		evs, err = audit.ForPatient(tx, patientID, 500)
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
		ne := c.named(e, names)
		ne.Actor, ne.Client, ne.Prev, ne.MAC = "", "", nil, nil
		out = append(out, ne)
	}
	return out, nil
}
