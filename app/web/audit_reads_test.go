package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
)

// TestEachSingleRecordReadIsAuditedOnce (checklist 34): every read of one
// record's PHI (a patient, an item and its thread, the first and a later
// time, a file, the copy for the chart) writes exactly one audit row, and
// that row names the actor, the patient, the record read (kind and id),
// the action, the client, and the time in UTC, the clinic clock's instant.
// The row carries no PHI. (List views are audited per page elsewhere; this
// test reads single records only.)
func TestEachSingleRecordReadIsAuditedOnce(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	cal := e.addStaff(owner, "Cal Clinician", "cal@maple.test", "clinician")
	pat, pid := e.patient(owner, "Zelda Canarypatient", "1961-03-14")
	link := e.sendPhoto(t, pat)
	fileID := strings.TrimPrefix(link, "/f/")
	var item string
	{
		var out struct{ Items []struct{ ID string } }
		owner.req("GET", "/api/v1/patients/"+pid+"/items", nil).json(t, &out)
		if len(out.Items) != 1 {
			t.Fatalf("the patient's items: %+v", out.Items)
		}
		item = out.Items[0].ID
	}
	lastSeq := func() uint64 {
		t.Helper()
		var n uint64
		err := e.st.View(context.Background(), func(tx store.Tx) error {
			evs, err := audit.ListNewest(tx, audit.Filter{Limit: 1}, 0)
			if len(evs) == 1 {
				n = evs[0].Seq
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	since := func(seq uint64) []audit.Event {
		t.Helper()
		var evs []audit.Event
		err := e.st.View(context.Background(), func(tx store.Tx) error {
			var err error
			evs, err = audit.List(tx, audit.Filter{After: seq})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	for _, c := range []struct {
		name, path     string
		u              *user
		action, object string
	}{
		{"staff opens the patient", "/api/v1/patients/" + pid, cal, "patient.read", "patient:" + pid},
		{"staff opens the item (first time)", "/api/v1/items/" + item, cal, "item.read", "item:" + item},
		{"staff opens the item again", "/api/v1/items/" + item, cal, "item.read", "item:" + item},
		{"staff downloads the file", "/api/v1/files/" + fileID, cal, "file.read", "file:" + fileID},
		{"staff copies the item for the chart", "/api/v1/items/" + item + "/chart", cal, "item.export", "item:" + item},
		{"the owner opens the patient", "/api/v1/patients/" + pid, owner, "patient.read", "patient:" + pid},
	} {
		e.clock.Add(7*time.Second + 123*time.Millisecond)
		before := lastSeq()
		if r := c.u.req("GET", c.path, nil); r.code != 200 {
			t.Fatalf("%s: %d %s", c.name, r.code, r.body)
		}
		evs := since(before)
		if len(evs) != 1 {
			t.Errorf("%s: %d audit rows, want exactly 1: %+v", c.name, len(evs), evs)
			continue
		}
		ev := evs[0]
		want := audit.Event{Actor: "staff:" + c.u.id, Action: c.action, Object: c.object, Patient: pid, Client: "127.0.0.1"}
		if ev.Actor != want.Actor || ev.Action != want.Action || ev.Object != want.Object || ev.Patient != want.Patient || ev.Client != want.Client || ev.Outcome != "" {
			t.Errorf("%s: audit row %+v, want %+v", c.name, ev, want)
		}
		if ev.At.Location() != time.UTC || !ev.At.Equal(e.clock.Now()) {
			t.Errorf("%s: audit time %v (%v), want %v in UTC", c.name, ev.At, ev.At.Location(), e.clock.Now().UTC())
		}
		if ev.Seq != before+1 {
			t.Errorf("%s: seq %d after %d", c.name, ev.Seq, before)
		}
		for _, phi := range []string{"Zelda", "Canarypatient", "1961", "rash", "555-201"} {
			for _, f := range []string{ev.Actor, ev.Action, ev.Object, ev.Patient, ev.Client, ev.Outcome} {
				if strings.Contains(f, phi) {
					t.Errorf("%s: the audit row carries %q", c.name, phi)
				}
			}
		}
	}
}
