package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"hearth/app/clinic"
)

type wsEvent struct {
	Seq      uint64 `json:"seq"`
	Type     string `json:"type"`
	ItemID   string `json:"item_id"`
	Queue    string `json:"queue"`
	Priority string `json:"priority"`
}

func (u *user) dialWS(t *testing.T, origin string, since uint64) (*websocket.Conn, *http.Response, error) {
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	for _, c := range u.hc.Jar.Cookies(mustParse(u.e.srv.URL)) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	url := "ws" + strings.TrimPrefix(u.e.srv.URL, "http") + "/api/v1/ws"
	if since > 0 {
		url += "?since=" + itoa(since)
	}
	return websocket.DefaultDialer.Dial(url, hdr)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// mustDialWS opens u's socket; it is closed when the test ends.
func (u *user) mustDialWS(t *testing.T) *websocket.Conn {
	t.Helper()
	c, _, err := u.dialWS(t, u.e.srv.URL, 0)
	if err != nil {
		t.Fatalf("dial websocket: %v", err)
	}
	t.Cleanup(func() { closeWS(t, c) })
	return c
}

// closeWS closes a socket the test opened; the server closing its end
// first does not make the local close fail.
func closeWS(t *testing.T, c *websocket.Conn) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("close websocket: %v", err)
	}
}

// readWithin sets c's read deadline.
func readWithin(t *testing.T, c *websocket.Conn, d time.Duration) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatalf("set read deadline: %v", err)
	}
}

// sendWS writes one JSON frame.
func sendWS(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	if err := c.WriteJSON(v); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// decodeFrame reads a frame the server sent as JSON.
func decodeFrame(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("frame is not JSON: %v: %.200s", err, b)
	}
}

func readEvent(t *testing.T, c *websocket.Conn, within time.Duration) (wsEvent, error) {
	var e wsEvent
	if err := c.SetReadDeadline(time.Now().Add(within)); err != nil {
		return e, err
	}
	_, b, err := c.ReadMessage()
	if err != nil {
		return e, err
	}
	return e, json.Unmarshal(b, &e)
}

func (e *env) patientItem(t *testing.T, pid, body string) clinic.Ack {
	t.Helper()
	ack, err := e.c.CreateItem(context.Background(), clinic.Actor{Kind: clinic.ActorPatient, ID: pid, Patient: pid},
		clinic.NewItem{Type: "message", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

func TestWebsocketAuthAndOrigin(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	for _, o := range []string{"", "null", "https://evil.example"} {
		c, resp, err := owner.dialWS(t, o, 0)
		if err == nil {
			closeWS(t, c)
			t.Errorf("Origin %q: upgraded", o)
		} else if resp == nil || resp.StatusCode != 403 {
			t.Errorf("Origin %q: %v", o, err)
		}
	}
	if _, resp, err := e.anon().dialWS(t, e.srv.URL, 0); err == nil || resp.StatusCode != 401 {
		t.Errorf("without a session: %v", err)
	}
	c, _, err := owner.dialWS(t, e.srv.URL, 0)
	if err != nil {
		t.Fatalf("same origin with a session: %v", err)
	}
	closeWS(t, c)
}

func TestWebsocketEventsFilteringAndReplay(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	oc := owner.mustDialWS(t)
	fc := fran.mustDialWS(t)
	time.Sleep(50 * time.Millisecond)

	ack := e.patientItem(t, pid, "Is the flu shot available this week?")
	ev, err := readEvent(t, oc, 2*time.Second)
	if err != nil || ev.ItemID != ack.Item.ID || ev.Type != "item.new" || ev.Seq == 0 || ev.Queue != "frontdesk" {
		t.Fatalf("owner's event: %+v %v", ev, err)
	}
	if ev2, err := readEvent(t, fc, 2*time.Second); err != nil || ev2.ItemID != ack.Item.ID {
		t.Fatalf("front desk's event: %+v %v", ev2, err)
	}
	// Urgent items go to the clinical queue: the front desk is not told.
	urgent := e.patientItem(t, pid, "I have crushing chest pain and can't breathe")
	if urgent.Item.Priority != "urgent" || urgent.Item.Queue != "clinical" {
		t.Fatalf("urgent item routed to %s/%s", urgent.Item.Queue, urgent.Item.Priority)
	}
	if ev, err := readEvent(t, oc, 2*time.Second); err != nil || ev.ItemID != urgent.Item.ID || ev.Priority != "urgent" {
		t.Fatalf("owner's urgent event: %+v %v", ev, err)
	}
	if ev, err := readEvent(t, fc, 300*time.Millisecond); err == nil {
		t.Fatalf("the front desk got a clinical-queue event: %+v", ev)
	}
	// No PHI in frames: replay everything since 0 and look.
	rc, _, err := owner.dialWS(t, e.srv.URL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer closeWS(t, rc)
	got := map[string]bool{}
	for i := 0; i < 5; i++ {
		readWithin(t, rc, 500*time.Millisecond)
		_, b, err := rc.ReadMessage()
		if err != nil {
			break
		}
		if strings.Contains(string(b), "flu") || strings.Contains(string(b), "Ada") || strings.Contains(string(b), "chest") {
			t.Fatalf("PHI in a frame: %s", b)
		}
		var ev wsEvent
		decodeFrame(t, b, &ev)
		got[ev.ItemID] = true
	}
	if !got[urgent.Item.ID] || got[ack.Item.ID] {
		t.Fatalf("replay since 1 should hold only the second event: %v", got)
	}
}

func TestWebsocketClosesOnSignOutAndDisable(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	fc := fran.mustDialWS(t)
	oc := owner.mustDialWS(t)
	owner.req("PATCH", "/api/v1/staff/"+fran.id, map[string]any{"disabled": true})
	readWithin(t, fc, 2*time.Second)
	if _, _, err := fc.ReadMessage(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the disabled account's socket stayed open: %v", err)
	}
	// A role change ends the person's sessions and sockets too: what they
	// may see changed, so they sign in again (checklist 30).
	carl := e.addStaff(owner, "Carl Clinician", "carl@maple.test", "clinician")
	cc := carl.mustDialWS(t)
	if r := owner.req("PATCH", "/api/v1/staff/"+carl.id, map[string]any{"role": "frontdesk"}); r.code != 200 {
		t.Fatalf("role change: %d %s", r.code, r.body)
	}
	readWithin(t, cc, 2*time.Second)
	if _, _, err := cc.ReadMessage(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the socket of a staff member whose role changed stayed open: %v", err)
	}
	if r := carl.req("GET", "/api/v1/items", nil); r.code != 401 {
		t.Fatalf("the session of a staff member whose role changed: %d", r.code)
	}
	owner.req("POST", "/api/v1/logout", nil)
	readWithin(t, oc, 2*time.Second)
	if _, _, err := oc.ReadMessage(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the signed-out session's socket stayed open: %v", err)
	}
}

func TestWebsocketSlowClientDropped(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	owner.mustDialWS(t) // never read
	time.Sleep(50 * time.Millisecond)
	if e.hub.Count() != 1 {
		t.Fatalf("sockets: %d", e.hub.Count())
	}
	// Never read: publish far more than the buffer holds.
	for i := 0; i < 50000; i++ {
		e.hub.Publish(clinic.Event{Seq: uint64(i + 1), Type: "item.new", ItemID: pid, Queue: "frontdesk"})
	}
	deadline := time.Now().Add(3 * time.Second)
	for e.hub.Count() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if e.hub.Count() != 0 {
		t.Fatal("a client that does not read was not dropped")
	}
}

func TestWebsocketPresence(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Maria Front", "maria@maple.test", "frontdesk")
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	ack := e.patientItem(t, pid, "Question")
	oc := owner.mustDialWS(t)
	fc := fran.mustDialWS(t)
	time.Sleep(50 * time.Millisecond)
	sendWS(t, fc, map[string]string{"type": "typing", "item_id": ack.Item.ID})
	readWithin(t, oc, 2*time.Second)
	var p struct{ Type, ItemID, Name, State string }
	for {
		_, b, err := oc.ReadMessage()
		if err != nil {
			t.Fatalf("no presence frame: %v", err)
		}
		decodeFrame(t, b, &p)
		if p.Type == "presence" {
			break
		}
	}
	if p.Name != "Maria" || p.State != "typing" {
		t.Fatalf("presence: %+v", p)
	}
	// The owner opens the item and learns Maria is there.
	sendWS(t, oc, map[string]string{"type": "viewing", "item_id": ack.Item.ID})
	readWithin(t, fc, 2*time.Second)
	for {
		_, b, err := fc.ReadMessage()
		if err != nil {
			t.Fatalf("Maria was not told: %v", err)
		}
		decodeFrame(t, b, &p)
		if p.Type == "presence" {
			break
		}
	}
	if p.Name != "Olive" || p.State != "viewing" {
		t.Fatalf("presence to Maria: %+v", p)
	}
	// and the newcomer is told who was already there.
	readWithin(t, oc, 2*time.Second)
	if _, b, err := oc.ReadMessage(); err != nil || !strings.Contains(string(b), `"state":"typing"`) {
		t.Fatalf("the owner was not told Maria is typing: %s %v", b, err)
	}
	// Unknown frame types and junk ids are ignored, not echoed.
	sendWS(t, fc, map[string]string{"type": "delete_everything", "item_id": ack.Item.ID})
	sendWS(t, fc, map[string]string{"type": "typing", "item_id": "../../etc"})
	readWithin(t, oc, 300*time.Millisecond)
	if _, b, err := oc.ReadMessage(); err == nil {
		t.Fatalf("a junk frame was relayed: %s", b)
	}
}

// TestPresenceStaysInTheQueue: who is replying on a clinical item is not
// told to the front desk, who cannot open it.
func TestPresenceStaysInTheQueue(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	urgent := e.patientItem(t, pid, "I have crushing chest pain")
	fc := fran.mustDialWS(t)
	oc := owner.mustDialWS(t)
	time.Sleep(50 * time.Millisecond)
	sendWS(t, oc, map[string]string{"type": "typing", "item_id": urgent.Item.ID})
	readWithin(t, fc, 400*time.Millisecond)
	if _, b, err := fc.ReadMessage(); err == nil {
		t.Fatalf("the front desk heard about a clinical item: %s", b)
	}
}

// TestOpenSocketDoesNotKeepTheSessionAlive (checklist 41): a console left
// open with its live socket, even one that keeps sending presence frames,
// is idle to the session: the idle lock comes at its time, and the idle
// expiry ends the session (and with it the socket's right to events).
func TestOpenSocketDoesNotKeepTheSessionAlive(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	ack := e.patientItem(t, pid, "Question")
	fran := e.addStaff(owner, "Maria Front", "maria@maple.test", "frontdesk")
	oc := owner.mustDialWS(t)
	fc := fran.mustDialWS(t)
	// seen waits until Maria's socket shows the owner's presence: the server
	// has handled the frame before the test goes on.
	seen := func() {
		t.Helper()
		readWithin(t, fc, 3*time.Second)
		for {
			_, b, err := fc.ReadMessage()
			if err != nil {
				t.Fatalf("the owner's presence never reached Maria: %v", err)
			}
			var p struct{ Type, Name string }
			decodeFrame(t, b, &p)
			if p.Type == "presence" && p.Name != "Maria" {
				return
			}
		}
	}
	for deadline := time.Now().Add(3 * time.Second); e.hub.Count() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the two sockets never joined the hub")
		}
	}
	// The frames are handled in order on one connection; waiting for the
	// first shows they reach the server while the clock moves.
	for i, kind := range []string{"viewing", "typing", "viewing", "typing"} {
		e.clock.Add(5 * time.Minute)
		sendWS(t, oc, map[string]string{"type": kind, "item_id": ack.Item.ID})
		if i == 0 {
			seen()
		}
	}
	// Twenty minutes of socket traffic and no request: locked.
	if r := owner.req("GET", "/api/v1/items", nil); r.code != 401 || !strings.Contains(r.body, "session_locked") {
		t.Fatalf("after 20 minutes with only the socket busy: %d %s", r.code, r.body)
	}
	e.clock.Add(clinic.SessionIdleExpiry)
	sendWS(t, oc, map[string]string{"type": "viewing", "item_id": ack.Item.ID})
	if r := owner.req("GET", "/api/v1/session", nil); r.code != 401 || strings.Contains(r.body, "session_locked") {
		t.Fatalf("after the idle expiry with only the socket busy: %d %s", r.code, r.body)
	}
}
