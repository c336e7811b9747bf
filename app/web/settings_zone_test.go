package web

import (
	"strings"
	"testing"
	"time"
)

// TestTimeZoneList: GET /api/v1/meta lists the IANA zones by region, from
// the zone table embedded in the binary, each one a zone the server
// accepts; PUT /api/v1/settings refuses a zone that is not one with a
// plain error beside the field and keeps the clinic's, and takes one
// picked from the list.
func TestTimeZoneList(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	var meta struct {
		TimeZones []struct {
			Region string
			Zones  []struct{ ID, Name, Countries, Note string }
		} `json:"time_zones"`
	}
	owner.req("GET", "/api/v1/meta", nil).json(t, &meta)
	n, found := 0, false
	regions := map[string]bool{}
	for _, r := range meta.TimeZones {
		regions[r.Region] = true
		for _, z := range r.Zones {
			n++
			if _, err := time.LoadLocation(z.ID); err != nil {
				t.Errorf("listed zone %s does not load: %v", z.ID, err)
			}
			if r.Region != "Other" && !strings.HasPrefix(z.ID, r.Region+"/") {
				t.Errorf("%s listed under %s", z.ID, r.Region)
			}
			if z.ID == "America/Chicago" && z.Name == "Chicago" && strings.HasPrefix(z.Countries, "US") && z.Note != "" {
				found = true
			}
		}
	}
	if n < 250 || !found || !regions["Europe"] || !regions["Asia"] || !regions["Pacific"] {
		t.Fatalf("%d zones in %d regions, Chicago found %v", n, len(regions), found)
	}

	for _, bad := range []string{"Mars/Olympus", "Local", "", "America/Chicagoo"} {
		r := owner.req("PUT", "/api/v1/settings", map[string]any{"time_zone": bad})
		var got struct{ Code, Field, Error string }
		r.json(t, &got)
		if r.code != 400 || got.Code != "invalid" || got.Field != "time_zone" || !strings.Contains(got.Error, "not a time zone Hearth knows") {
			t.Errorf("time zone %q: %d %s", bad, r.code, r.body)
		}
	}
	var s struct {
		TimeZone string `json:"time_zone"`
	}
	owner.req("GET", "/api/v1/settings", nil).json(t, &s)
	if s.TimeZone != "America/New_York" {
		t.Fatalf("a refused zone changed the clinic's: %s", s.TimeZone)
	}
	if r := owner.req("PUT", "/api/v1/settings", map[string]any{"time_zone": "Europe/Madrid"}); r.code != 200 || !strings.Contains(r.body, `"time_zone":"Europe/Madrid"`) {
		t.Fatalf("a listed zone: %d %s", r.code, r.body)
	}
}
