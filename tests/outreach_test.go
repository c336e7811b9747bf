package tests

import (
	"fmt"
	"testing"
	"time"
)

// TestNoticeSurvivesKillMidway: kill -9 while a 200-patient notice is being
// made, restart, and every patient has exactly one conversation of it (the
// notice's records on disk decide who still needs one).
func TestNoticeSurvivesKillMidway(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	var ids []string
	for i := range 200 {
		var out struct{ ID string }
		name := fmt.Sprintf("Pat Notice%c%c", 'a'+i/26, 'a'+i%26)
		if code := owner.json("POST", "/api/v1/patients", map[string]string{"name": name, "dob": "1980-01-02", "lang": "en"}, &out); code != 201 {
			t.Fatalf("patient %d: %d", i, code)
		}
		ids = append(ids, out.ID)
	}
	type summary struct {
		ID         string
		Made       int
		Done       bool
		Recipients int
	}
	made := func(c *client, id string) summary {
		var list struct{ Notices []summary }
		if code := c.json("GET", "/api/v1/notices", nil, &list); code != 200 {
			t.Fatalf("notices: %d", code)
		}
		for _, n := range list.Notices {
			if n.ID == id {
				return n
			}
		}
		t.Fatalf("notice %s is not listed", id)
		return summary{}
	}
	// The kill must land while conversations are being made; a machine fast
	// enough to finish before the first look gets another notice.
	var id, subject string
	caught := false
	for try := 1; try <= 3 && !caught; try++ {
		subject = fmt.Sprintf("Parking lot closed (notice %d)", try)
		var pv struct{ ID string }
		if code := owner.json("POST", "/api/v1/notices", map[string]any{"patient_ids": ids, "subject": subject,
			"body": "The parking lot is closed tomorrow.", "send": true, "confirm_count": 200}, &pv); code != 201 {
			t.Fatalf("send: %d", code)
		}
		id = pv.ID
		for {
			s := made(owner, id)
			if s.Done || s.Made == s.Recipients {
				break
			}
			if s.Made >= 10 {
				in.kill()
				caught = true
				t.Logf("killed with %d of 200 conversations made", s.Made)
				break
			}
		}
	}
	if !caught {
		t.Fatal("three notices finished before they could be interrupted")
	}
	in.start()
	owner = in.owner()
	deadline := time.Now().Add(60 * time.Second)
	for s := made(owner, id); !s.Done; s = made(owner, id) {
		if time.Now().After(deadline) {
			t.Fatalf("the notice was not finished after the restart: %+v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, pid := range ids {
		var items struct{ Items []struct{ Subject string } }
		if code := owner.json("GET", "/api/v1/patients/"+pid+"/items", nil, &items); code != 200 {
			t.Fatalf("items of patient %d: %d", i, code)
		}
		n := 0
		for _, it := range items.Items {
			if it.Subject == subject {
				n++
			}
		}
		if n != 1 {
			t.Errorf("patient %d has %d conversations of the interrupted notice", i, n)
		}
	}
}
