package web

import (
	"net/http"

	"hearth/app/clinic"
)

// metaJSON is GET /api/v1/meta: the domain tables the staff console needs,
// taken from app/clinic so the browser keeps no copy of its own. It holds no
// PHI and, of the clinic's settings, only its time zone (every time the
// console shows or takes is in it, whatever the computer's clock says) and
// its queues' ids, names and roles (any of them a request may move to); the
// defaults here are what a clinic has until the owner changes them (settings
// answer null for a part never saved).
type metaJSON struct {
	ItemTypes      []string            `json:"item_types"`      // every kind of request, in display order
	Statuses       []string            `json:"statuses"`        // in the order staff work them
	Outcomes       map[string][]string `json:"outcomes"`        // item type -> the outcomes that close it
	Fields         map[string][]string `json:"fields"`          // item type -> its structured fields, in reading order
	ImportFields   []string            `json:"import_fields"`   // what an appointment import mapping can name
	DefaultTargets map[string]int      `json:"default_targets"` // item type (or "other") -> business minutes
	DefaultRoutes  map[string]string   `json:"default_routes"`  // item type -> queue id
	DefaultQueues  []clinic.Queue      `json:"default_queues"`
	UrgentQueue    string              `json:"urgent_queue"` // where urgent requests go whatever their type
	ClinicZone     string              `json:"clinic_zone"`  // the clinic's IANA time zone (settings)
	Queues         []clinic.Queue      `json:"queues"`       // the clinic's queues (settings)

	// AuditActions is every audit action with its words (English, as the
	// console is), for the owner's action picker.
	AuditActions []clinic.AuditAction `json:"audit_actions"`

	TimeZones []clinic.ZoneRegion `json:"time_zones"` // the zones the clinic's may be picked from, by region (zones.go)
}

func metaTables(zone string, queues []clinic.Queue, zones []clinic.ZoneRegion, actions []clinic.AuditAction) metaJSON {
	return metaJSON{
		ItemTypes:      clinic.ItemTypes,
		Statuses:       clinic.Statuses,
		Outcomes:       clinic.Outcomes,
		Fields:         clinic.TypeFields(),
		ImportFields:   clinic.ImportFields,
		DefaultTargets: clinic.DefaultTargets(),
		DefaultRoutes:  clinic.DefaultRoutes(),
		DefaultQueues:  clinic.DefaultQueues(),
		UrgentQueue:    clinic.UrgentQueue,
		ClinicZone:     zone,
		Queues:         queues,
		AuditActions:   actions,
		TimeZones:      zones,
	}
}

// handleMeta answers the console's domain tables to any signed-in staff.
func (s *Server) handleMeta(w http.ResponseWriter, r *http.Request, _ *reqCtx) error {
	settings, err := s.c.Settings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, metaTables(settings.Location().String(), settings.QueuesFor(clinic.RoleOwner), s.c.TimeZones(), s.c.AuditActionList("en")))
	return nil
}
