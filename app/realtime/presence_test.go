package realtime

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const item1 = "0190a3c4-0000-7000-8000-000000000001"

// staffSocket connects a real websocket to h as staff member id, who may
// see the frontdesk queue and the extra queues named.
func staffSocket(t *testing.T, h *Hub, id, name string, extra ...string) (*websocket.Conn, <-chan Presence) {
	t.Helper()
	may := func(q string) bool { return q == "frontdesk" || slices.Contains(extra, q) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Serve(w, r, Sub{StaffID: id, StaffName: name, May: may}, func(*http.Request) bool { return true })
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close the socket: %v", err)
		}
	})
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

// send writes a frame from a staff browser.
func send(t *testing.T, c *websocket.Conn, frame map[string]string) {
	t.Helper()
	if err := c.WriteJSON(frame); err != nil {
		t.Fatal(err)
	}
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
	send(t, maria, map[string]string{"type": "typing", "item_id": item1})
	expectPresence(t, bobSees, "s-maria", "typing")

	// A newcomer on node B learns that Maria (on A) is there.
	carl, carlSees := staffSocket(t, b, "s-carl", "Carl")
	for b.Count() < 2 {
		time.Sleep(time.Millisecond)
	}
	send(t, carl, map[string]string{"type": "viewing", "item_id": item1})
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

const clinicalItem = "0190a3c4-0000-7000-8000-000000000002"

// Presence stays in the item's queue, locally and from other nodes: a
// colleague who may not see the queue is not told who is there, and cannot
// learn it by announcing themselves on the item.
func TestPresenceStaysInItsQueue(t *testing.T) {
	h := NewHub(nil)
	h.SetQueueOf(func(id string) string {
		if id == clinicalItem {
			return "clinical"
		}
		return "frontdesk"
	})
	nurse, nurseSees := staffSocket(t, h, "s-nina", "Nina", "clinical")
	desk, deskSees := staffSocket(t, h, "s-dora", "Dora")
	for h.Count() < 2 {
		time.Sleep(time.Millisecond)
	}
	send(t, nurse, map[string]string{"type": "viewing", "item_id": clinicalItem})
	h.Remote(Presence{Type: "presence", ItemID: clinicalItem, StaffID: "s-remote", Name: "Rita", State: "typing"})
	// The front desk announces itself on the clinical item: it learns nothing,
	// and the nurse is not told about it.
	send(t, desk, map[string]string{"type": "viewing", "item_id": clinicalItem})
	// A frame the front desk may see still reaches it, so the socket works.
	send(t, nurse, map[string]string{"type": "viewing", "item_id": item1})
	select {
	case p := <-deskSees:
		if p.ItemID != item1 || p.StaffID != "s-nina" {
			t.Fatalf("the front desk saw presence on a clinical item: %+v", p)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the front desk heard nothing, not even on its own queue")
	}
	got := map[string]bool{}
	for done := false; !done; {
		select {
		case p := <-nurseSees:
			got[p.StaffID+" "+p.ItemID] = true
		case <-time.After(300 * time.Millisecond):
			done = true
		}
	}
	if !got["s-remote "+clinicalItem] {
		t.Fatalf("the nurse did not see the other node's colleague on the clinical item: %v", got)
	}
	if got["s-dora "+clinicalItem] {
		t.Fatal("the front desk's announcement on a clinical item reached the nurse")
	}
}
