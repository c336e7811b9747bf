package web

import (
	"reflect"
	"testing"

	"hearth/app/clinic"
)

// TestMetaTables: GET /api/v1/meta answers exactly the tables of app/clinic
// that the console uses, and the clinic's time zone and queues, to every
// staff role and to nobody else.
func TestMetaTables(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	front := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	for name, u := range map[string]*user{"owner": owner, "frontdesk": front} {
		r := u.req("GET", "/api/v1/meta", nil)
		if r.code != 200 {
			t.Fatalf("%s: GET /api/v1/meta: %d %s", name, r.code, r.body)
		}
		var got metaJSON
		r.json(t, &got)
		want := metaJSON{
			ItemTypes:      clinic.ItemTypes,
			Statuses:       clinic.Statuses,
			Outcomes:       clinic.Outcomes,
			Fields:         clinic.TypeFields(),
			ImportFields:   clinic.ImportFields,
			DefaultTargets: clinic.DefaultTargets(),
			DefaultRoutes:  clinic.DefaultRoutes(),
			DefaultQueues:  clinic.DefaultQueues(),
			UrgentQueue:    clinic.UrgentQueue,
			ClinicZone:     "America/New_York", // a new clinic's, from settings
			Queues:         clinic.DefaultQueues(),
			AuditActions:   e.c.AuditActionList("en"),
			TimeZones:      e.c.TimeZones(),
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: meta\n got %+v\nwant %+v", name, got, want)
		}
		// Every type has its fields listed, and every table names only
		// known types: the console shows nothing the server does not send.
		for _, typ := range clinic.ItemTypes {
			if len(got.Fields[typ]) == 0 {
				t.Errorf("no fields for type %s", typ)
			}
		}
		for typ := range got.Outcomes {
			if !contains(clinic.ItemTypes, typ) {
				t.Errorf("outcomes for unknown type %s", typ)
			}
		}
	}
	if r := e.anon().req("GET", "/api/v1/meta", nil); r.code != 401 {
		t.Errorf("signed out: %d, want 401", r.code)
	}
}
