package realtime

import (
	"encoding/json"
	"testing"
)

// FuzzClientFrame: any frame a browser sends is either a presence frame
// about an item the sender may see, passed on to colleagues as exactly
// that, or ignored. Nothing else from the frame reaches another socket.
func FuzzClientFrame(f *testing.F) {
	item := "0b6c7a36-1d1f-4c65-9b53-7a0e0f1d2c3e"
	for _, s := range []string{
		`{"type":"viewing","item_id":"` + item + `"}`,
		`{"type":"typing","item_id":"` + item + `"}`,
		`{"type":"left","item_id":"` + item + `"}`,
		`{"type":"viewing","item_id":"` + item + `","name":"<img src=x onerror=alert(1)>","staff_id":"owner"}`,
		`{"type":"delete","item_id":"` + item + `"}`,
		`{"type":"viewing","item_id":"../../x"}`,
		`{"type":"viewing","item_id":"0B6C7A36-1D1F-4C65-9B53-7A0E0F1D2C3E"}`,
		"{\"type\":\"viewing\u202e\",\"item_id\":\"\x00\"}",
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := NewHub(nil)
		h.SetQueueOf(func(id string) string {
			if id == item {
				return "frontdesk"
			}
			return ""
		})
		var relayed []Presence
		h.SetRelay(func(p Presence) { relayed = append(relayed, p) })
		mk := func(staff string, may bool) *Client {
			c := &Client{Sub: Sub{StaffID: staff, StaffName: staff, May: func(string) bool { return may }},
				send: make(chan frame, sendBuffer), done: make(chan struct{})}
			h.clients[c] = struct{}{}
			return c
		}
		from, colleague, outsider := mk("from", true), mk("colleague", true), mk("outsider", false)
		h.handleFrame(from, b)

		check := func(p Presence) {
			if p.Type != "presence" || p.ItemID != item || p.StaffID != "from" || p.Name != "from" || !ClientMessages[p.State] {
				t.Fatalf("frame %q passed on as %+v", b, p)
			}
		}
		if len(outsider.send) != 0 {
			t.Fatalf("frame %q reached a socket that may not see the queue", b)
		}
		if len(from.send) != 0 {
			t.Fatalf("frame %q echoed to its sender", b)
		}
		for len(colleague.send) > 0 {
			var p Presence
			if err := json.Unmarshal((<-colleague.send).json, &p); err != nil {
				t.Fatal(err)
			}
			check(p)
		}
		for _, p := range relayed {
			check(p)
		}
		for id, who := range h.presence {
			if id != item {
				t.Fatalf("presence kept for %q", id)
			}
			for c, st := range who {
				if c != from || !ClientMessages[st] {
					t.Fatalf("presence %q kept for %s", st, c.StaffID)
				}
			}
		}
		// The same bytes from the group's other nodes, as a presence frame.
		var p Presence
		if json.Unmarshal(b, &p) == nil {
			h.Remote(p)
			for id, who := range h.remote {
				if !validItemID(id) {
					t.Fatalf("remote presence kept for %q", id)
				}
				for _, e := range who {
					if !ClientMessages[e.p.State] || e.p.Type != "presence" {
						t.Fatalf("remote presence kept: %+v", e.p)
					}
				}
			}
			if len(outsider.send) != 0 {
				t.Fatalf("remote frame %q reached a socket that may not see the queue", b)
			}
		}
	})
}
