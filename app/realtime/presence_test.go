package realtime

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const item1 = "0190a3c4-0000-7000-8000-000000000001"

// staffSocket connects a real websocket to h as staff member id.
func staffSocket(t *testing.T, h *Hub, id, name string) (*websocket.Conn, <-chan Presence) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Serve(w, r, Sub{StaffID: id, StaffName: name, May: func(q string) bool { return q == "frontdesk" }}, func(*http.Request) bool { return true })
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	out := make(chan Presence, 16)
	go func() {
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			var p Presence
			if json.Unmarshal(b, &p) == nil && p.Type == "presence" {
				out <- p
			}
		}
	}()
	return c, out
}

func expectPresence(t *testing.T, ch <-chan Presence, staff, state string) {
	t.Helper()
	select {
	case p := <-ch:
		if p.StaffID != staff || p.State != state || p.ItemID != item1 {
			t.Fatalf("got presence %+v, want %s %s", p, staff, state)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("no presence frame (%s %s)", staff, state)
	}
}

// Presence crosses a clinic group's nodes: node A's change is relayed,
// node B's staff see it and newcomers learn it, and what a node stops
// refreshing expires with a "left".
func TestPresenceAcrossNodes(t *testing.T) {
	a, b := NewHub(nil), NewHub(nil)
	for _, h := range []*Hub{a, b} {
		h.SetQueueOf(func(string) string { return "frontdesk" })
	}
	var mu sync.Mutex
	var relayed []Presence
	a.SetRelay(func(p Presence) { mu.Lock(); relayed = append(relayed, p); mu.Unlock(); b.Remote(p) })

	maria, _ := staffSocket(t, a, "s-maria", "Maria")
	_, bobSees := staffSocket(t, b, "s-bob", "Bob")
	for a.Count() < 1 || b.Count() < 1 {
		time.Sleep(time.Millisecond)
	}
	maria.WriteJSON(map[string]string{"type": "typing", "item_id": item1})
	expectPresence(t, bobSees, "s-maria", "typing")

	// A newcomer on node B learns that Maria (on A) is there.
	carl, carlSees := staffSocket(t, b, "s-carl", "Carl")
	for b.Count() < 2 {
		time.Sleep(time.Millisecond)
	}
	carl.WriteJSON(map[string]string{"type": "viewing", "item_id": item1})
	expectPresence(t, carlSees, "s-maria", "typing")
	expectPresence(t, bobSees, "s-carl", "viewing") // and Bob hears Carl, locally

	// Node A refreshes what it relayed; node B expires what goes quiet.
	mu.Lock()
	n := len(relayed)
	mu.Unlock()
	a.refreshPresence(time.Now())
	mu.Lock()
	if len(relayed) <= n {
		t.Fatal("node A did not refresh its presence to the other nodes")
	}
	mu.Unlock()
	b.refreshPresence(time.Now().Add(presenceTTL + time.Second))
	expectPresence(t, bobSees, "s-maria", "left")

	// A frame from another node for an item or state that is not valid is dropped.
	b.Remote(Presence{Type: "presence", ItemID: "../etc", StaffID: "x", State: "typing"})
	b.Remote(Presence{Type: "presence", ItemID: item1, StaffID: "x", State: "shouting"})
	select {
	case p := <-bobSees:
		t.Fatalf("an invalid remote frame reached a browser: %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
}
