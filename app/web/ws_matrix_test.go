package web

import (
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"hearth/app/clinic"
	"hearth/app/realtime"
)

// TestWebsocketFrameMatrix (checklist 24, the websocket half): every frame
// type a browser may send (realtime.ClientMessages, so a type added later
// is swept) plus unknown ones, from every staff role, about an item in a
// queue everyone works and one only clinicians work, reaches exactly the
// colleagues the policy says: a frame is shared only when its sender may
// see the item's queue, and only with those who may too; an unknown type
// or a malformed id reaches no one. Each case runs on fresh sockets; after
// the frame, the sender announces itself on a marker item everyone sees,
// so "nothing came" is known without waiting for a timeout. Anyone without
// a live staff session (signed out, expired, disabled, a patient, a
// contact) cannot open the socket at all.
func TestWebsocketFrameMatrix(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	cal := e.addStaff(owner, "Cal Clinician", "cal@maple.test", "clinician")
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	clinical := e.patientItem(t, pid, "I have crushing chest pain").Item
	front := e.patientItem(t, pid, "Can I move my appointment?").Item
	marker := e.patientItem(t, pid, "Another question about my appointment").Item
	if clinical.Queue != clinic.UrgentQueue && clinical.Queue != "clinical" || front.Queue != "frontdesk" || marker.Queue != "frontdesk" {
		t.Fatalf("queues: %s %s %s", clinical.Queue, front.Queue, marker.Queue)
	}
	staff := []struct {
		name string
		u    *user
		sees func(queue string) bool
	}{
		{"owner", owner, func(string) bool { return true }},
		{"clinician", cal, func(string) bool { return true }},
		{"frontdesk", fran, func(q string) bool { return q == "frontdesk" }},
	}
	var types []string
	for k := range realtime.ClientMessages {
		types = append(types, k)
	}
	slices.Sort(types)
	if len(types) < 3 {
		t.Fatalf("only %d client frame types", len(types))
	}
	unknown := []string{"subscribe", "presence", "event", "replay", ""}
	waitHub := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); e.hub.Count() != n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the hub holds %d sockets, want %d", e.hub.Count(), n)
			}
		}
	}
	cases := 0
	for _, typ := range append(slices.Clone(types), unknown...) {
		known := realtime.ClientMessages[typ]
		for si, s := range staff {
			for _, it := range []clinic.Item{clinical, front} {
				for _, id := range []string{it.ID, it.ID + "x"} {
					waitHub(0)
					conns := make([]*websocket.Conn, len(staff))
					for i, p := range staff {
						c, _, err := p.u.dialWS(t, e.srv.URL, 0)
						if err != nil {
							t.Fatalf("dial as %s: %v", p.name, err)
						}
						conns[i] = c
					}
					waitHub(len(staff))
					sendWS(t, conns[si], map[string]string{"type": typ, "item_id": id})
					sendWS(t, conns[si], map[string]string{"type": "viewing", "item_id": marker.ID})
					for ri, r := range staff {
						if ri == si {
							continue
						}
						want := known && id == it.ID && s.sees(it.Queue) && r.sees(it.Queue)
						got := false
						readWithin(t, conns[ri], 5*time.Second)
						for {
							_, b, err := conns[ri].ReadMessage()
							if err != nil {
								t.Fatalf("%s sends %q on %s: %s never saw the marker: %v", s.name, typ, it.Queue, r.name, err)
							}
							var p realtime.Presence
							decodeFrame(t, b, &p)
							if p.Type != "presence" {
								continue
							}
							if p.ItemID == marker.ID {
								break
							}
							if p.ItemID == it.ID && p.StaffID == s.u.id && p.State == typ {
								got = true
							} else {
								t.Errorf("%s sends %q on %s: %s got an unexpected frame %s", s.name, typ, it.Queue, r.name, b)
							}
						}
						if got != want {
							t.Errorf("%s sends %q about %s (queue %s): %s heard it %v, want %v", s.name, typ, id, it.Queue, r.name, got, want)
						}
						cases++
					}
					for _, c := range conns {
						closeWS(t, c)
					}
				}
			}
		}
	}
	if cases < len(types)*3*2*2*2 {
		t.Fatalf("only %d cases", cases)
	}

	// No live staff session, no socket.
	expired := func() *user {
		now := e.clock.Now()
		e.clock.Set(now.Add(-clinic.SessionAbsolute - time.Minute))
		u := e.owner()
		e.clock.Set(now)
		return u
	}()
	signedOut := e.owner()
	signedOut.req("POST", "/api/v1/logout", nil)
	disabled := e.addStaff(owner, "Dee Disabled", "dee@maple.test", "frontdesk")
	if r := owner.req("PATCH", "/api/v1/staff/"+disabled.id, map[string]any{"disabled": true}); r.code != 200 {
		t.Fatalf("disable: %d", r.code)
	}
	patient, _ := e.patient(owner, "Bo Patient", "1980-01-01")
	for name, u := range map[string]*user{
		"anonymous": e.anon(), "expired": expired, "signed out": signedOut, "disabled": disabled,
		"patient": patient, "contact": e.contactUser("Cy Contact", "1990-02-03"),
	} {
		c, res, err := u.dialWS(t, e.srv.URL, 0)
		if err == nil {
			closeWS(t, c)
			t.Errorf("%s opened the staff socket", name)
		} else if res == nil || res.StatusCode != 401 {
			t.Errorf("%s: %v, want 401", name, err)
		}
	}
}
