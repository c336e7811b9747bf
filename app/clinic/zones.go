package clinic

import (
	"bufio"
	"bytes"
	"io/fs"
	"slices"
	"strings"
	"time"

	// Go's own copy of the IANA zone database, linked into the binary, so
	// time.LoadLocation (the clinic's zone, every check of a zone the owner
	// picks, the board's wall times) works the same on a computer without
	// /usr/share/zoneinfo (Windows, a slim container) as on one with it.
	_ "time/tzdata"
)

// The time zones the owner picks the clinic's from. The list is IANA's
// zone1970.tab (embed/tz/, public domain): one zone per region of the world
// whose clocks have agreed since 1970, with its countries and a note, which
// is what a person choosing "their" zone needs (the full database adds
// hundreds of aliases such as US/Eastern). It is embedded, so the list is
// the same whatever the computer has installed, and each entry is checked
// against the linked database, so the list never offers a zone the server
// would refuse.

// zoneTable is the list's path in the embedded files.
const zoneTable = "tz/zone1970.tab"

// Zone is one choice in the time zone list.
type Zone struct {
	ID        string `json:"id"`        // the IANA name, what settings store: "America/Chicago"
	Name      string `json:"name"`      // its place in words: "Chicago", "Argentina / Buenos Aires"
	Countries string `json:"countries"` // ISO country codes, most populous first: "US"
	Note      string `json:"note,omitempty"`
}

// ZoneRegion is the zones of one region ("America", "Europe"), by name.
type ZoneRegion struct {
	Region string `json:"region"`
	Zones  []Zone `json:"zones"`
}

// TimeZones lists the zones the owner may pick, by region, regions and
// zones in alphabetical order, UTC last (as "Other"). It is read once from
// the embedded table; without it (a clinic opened without its files) the
// list is UTC alone.
func (c *Clinic) TimeZones() []ZoneRegion {
	c.zonesOnce.Do(func() {
		var raw []byte
		if c.files != nil {
			raw, _ = fs.ReadFile(c.files, zoneTable)
		}
		c.zones = parseZones(raw)
	})
	return c.zones
}

func parseZones(raw []byte) []ZoneRegion {
	byRegion := map[string][]Zone{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) < 3 {
			continue
		}
		id := col[2]
		region, place, ok := strings.Cut(id, "/")
		if !ok || !KnownZone(id) {
			continue
		}
		z := Zone{ID: id, Name: strings.ReplaceAll(strings.ReplaceAll(place, "_", " "), "/", " / "), Countries: strings.ReplaceAll(col[0], ",", ", ")}
		if len(col) > 3 {
			z.Note = col[3]
		}
		byRegion[region] = append(byRegion[region], z)
	}
	out := make([]ZoneRegion, 0, len(byRegion)+1)
	for r, zs := range byRegion {
		slices.SortFunc(zs, func(a, b Zone) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, ZoneRegion{Region: r, Zones: zs})
	}
	slices.SortFunc(out, func(a, b ZoneRegion) int { return strings.Compare(a.Region, b.Region) })
	return append(out, ZoneRegion{Region: "Other", Zones: []Zone{{ID: "UTC", Name: "UTC (Coordinated Universal Time)"}}})
}

// KnownZone reports whether id names a time zone of the IANA database
// (time.LoadLocation knows it). "Local" is refused: it means whatever the
// server's computer is set to, not a place.
func KnownZone(id string) bool {
	if id == "" || id == "Local" {
		return false
	}
	_, err := time.LoadLocation(id)
	return err == nil
}
