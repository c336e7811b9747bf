package group

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"hearth/app/clinic"
	"hearth/app/realtime"
	"hearth/app/store"
	"hearth/app/store/pgstore"
	"hearth/app/store/pgstore/pgtest"
	"hearth/app/vault"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var cheap = clinic.Argon2Params{Time: 1, MemKiB: 64, Threads: 1}

// wire is a node's real store.Cluster, with a switch that loses every
// notification the node sends (as a dropped connection would), and a count
// of the times its listener has (re)connected and the node has handled it.
type wire struct {
	store.Cluster
	lose     atomic.Bool
	connects atomic.Int32
}

func (w *wire) Notify(ctx context.Context, channel, payload string) error {
	if w.lose.Load() {
		return nil
	}
	return w.Cluster.Notify(ctx, channel, payload)
}

func (w *wire) Listen(ctx context.Context, channels []string, fn func(channel, payload string)) error {
	return w.Cluster.Listen(ctx, channels, func(channel, payload string) {
		fn(channel, payload)
		if channel == chanChanged && payload == "" {
			w.connects.Add(1)
		}
	})
}

// member is one node of a test clinic group: its own connections to the
// shared database, its own clinic, hub and Node, the group's keys.
type member struct {
	clinic *clinic.Clinic
	hub    *realtime.Hub
	node   *Node
	wire   *wire
	dsn    string // the shared database
}

// join opens one more node on dsn and runs it until the test ends; every is
// how often it looks at the event log without being told to.
func join(t *testing.T, dsn string, v *vault.Vault, init bool, every time.Duration) *member {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := pgstore.Open(ctx, dsn, pgstore.Options{Migrations: os.DirFS("../../embed/migrations")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	if init {
		if err := clinic.Init(ctx, st, v, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	hub := realtime.NewHub(log)
	n := New(log, hub)
	n.every = every
	cl, err := clinic.Open(ctx, clinic.Deps{Store: st, Vault: v, Log: log, Argon2: cheap, Events: n, Peers: PeersOf(n), Files: os.DirFS("../../embed")})
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{Cluster: st}
	n.Join(w, cl)
	hub.SetSource(cl)
	hub.SetQueueOf(cl.ItemQueue)
	hub.SetRelay(n.SharePresence)

	run, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); hub.Run(run) }()
	go func() { defer wg.Done(); n.Run(run) }()
	t.Cleanup(func() { hub.CloseAll(); stop(); wg.Wait() })

	select {
	case <-n.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the node did not find where the event log stands within 10s")
	}
	waitFor(t, 10*time.Second, "the node's listener to connect", func() bool { return w.connects.Load() > 0 })
	return &member{clinic: cl, hub: hub, node: n, wire: w, dsn: dsn}
}

// twoNodes sets up a clinic on a fresh PostgreSQL database and returns two
// nodes of it and its owner.
func twoNodes(t *testing.T, everyA, everyB time.Duration) (a, b *member, owner clinic.Staff) {
	t.Helper()
	dsn := pgtest.DSN(t)
	v, _, err := vault.Create(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	a = join(t, dsn, v, true, everyA)
	b = join(t, dsn, v, false, everyB)
	owner, err = a.clinic.Setup(context.Background(), clinic.SetupInput{ClinicName: "Maple Street", OwnerName: "Olive Owner",
		OwnerEmail: "o@maple.test", Password: "a-long-password-1"}, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	return a, b, owner
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for start := time.Now(); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > within {
			t.Fatalf("waited %v for %s", within, what)
		}
	}
}

// frame is what a staff browser receives: an event or a presence frame.
type frame struct {
	Seq     uint64 `json:"seq"`
	Type    string `json:"type"`
	ItemID  string `json:"item_id"`
	StaffID string `json:"staff_id"`
	State   string `json:"state"`
}

// browser connects a staff member's websocket to m's hub, seeing every
// queue, and returns the socket and the frames it receives.
func browser(t *testing.T, m *member, staffID, name string) (*websocket.Conn, <-chan frame) {
	t.Helper()
	before := m.hub.Count()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.hub.Serve(w, r, realtime.Sub{StaffID: staffID, StaffName: name, May: func(string) bool { return true }},
			func(*http.Request) bool { return true })
	}))
	t.Cleanup(srv.Close)
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("closing the socket: %v", err)
		}
	})
	frames := make(chan frame, 64)
	go func() {
		defer close(frames)
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			var f frame
			if err := json.Unmarshal(b, &f); err != nil {
				f = frame{Type: notJSON}
			}
			frames <- f
		}
	}()
	waitFor(t, 5*time.Second, "the socket to join the hub", func() bool { return m.hub.Count() > before })
	return c, frames
}

// notJSON marks a frame the browser could not read.
const notJSON = "(not JSON)"

// next returns the next frame of type typ, or fails after within.
func next(t *testing.T, frames <-chan frame, typ string, within time.Duration) frame {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("the socket closed while waiting for a %s frame", typ)
			}
			if f.Type == notJSON {
				t.Fatal("the socket received a frame that is not JSON")
			}
			if f.Type == typ {
				return f
			}
		case <-deadline:
			t.Fatalf("no %s frame within %v", typ, within)
		}
	}
}

// newItems files n messages for one patient on m and returns their ids.
func newItems(t *testing.T, m *member, owner clinic.Staff, n int) []string {
	t.Helper()
	ctx := context.Background()
	staff := clinic.Actor{Kind: clinic.ActorStaff, ID: owner.ID, Role: owner.Role, Client: "127.0.0.1"}
	p, err := m.clinic.CreatePatient(ctx, staff, clinic.PatientInput{Name: "Ada Example", DOB: "1970-06-15", ConfirmDuplicate: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range n {
		ack, err := m.clinic.CreateItem(ctx, staff, clinic.NewItem{Type: clinic.TypeMessage, PatientID: p.ID, Body: "A question about my results"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ack.Item.ID)
	}
	return ids
}

// An event published on one node reaches every node's browsers (its own
// too, through the shared log) when it is announced, in log order, without
// waiting for the periodic look at the log.
func TestEventsReachEveryNode(t *testing.T) {
	a, b, owner := twoNodes(t, time.Hour, time.Hour)
	_, onA := browser(t, a, "s-a", "Ann")
	_, onB := browser(t, b, "s-b", "Bob")

	ids := newItems(t, a, owner, 3)
	for _, sock := range []struct {
		name   string
		frames <-chan frame
	}{{"A", onA}, {"B", onB}} {
		var last uint64
		for _, id := range ids {
			f := next(t, sock.frames, "item.new", 5*time.Second)
			if f.ItemID != id || f.Seq <= last {
				t.Fatalf("node %s: got item.new for %s (seq %d after %d), want %s", sock.name, f.ItemID, f.Seq, last, id)
			}
			last = f.Seq
		}
	}

	// And the other way: B's news reaches A.
	id := newItems(t, b, owner, 1)[0]
	if f := next(t, onA, "item.new", 5*time.Second); f.ItemID != id {
		t.Fatalf("node A got item.new for %s, want B's %s", f.ItemID, id)
	}
}

// A lost notification delays an event until the next look at the log; it
// never loses it.
func TestLostNotificationIsCaughtUp(t *testing.T) {
	a, b, owner := twoNodes(t, time.Hour, 200*time.Millisecond)
	_, onB := browser(t, b, "s-b", "Bob")
	a.wire.lose.Store(true)
	ids := newItems(t, a, owner, 2)
	for _, id := range ids {
		if f := next(t, onB, "item.new", 5*time.Second); f.ItemID != id {
			t.Fatalf("node B got item.new for %s, want %s", f.ItemID, id)
		}
	}
}

// What one node changes, the other stops remembering: a session signed out,
// an account disabled, new settings.
func TestOtherNodesForgetWhatChanged(t *testing.T) {
	ctx := context.Background()
	a, b, owner := twoNodes(t, time.Hour, time.Hour)
	system := clinic.Actor{Kind: clinic.ActorSystem}
	nurse, err := a.clinic.CreateStaff(ctx, system, clinic.StaffInput{Name: "Nina Nurse", Email: "n@maple.test",
		Role: clinic.RoleClinician, Password: "another-long-password-2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ended := func(tok string) func() bool {
		return func() bool {
			_, _, err := b.clinic.SessionFor(ctx, tok, false)
			return errors.Is(err, clinic.ErrSessionEnded)
		}
	}

	// Signed out on A: B refuses the session it remembered.
	tok, _, err := a.clinic.StartSession(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.clinic.SessionFor(ctx, tok, true); err != nil {
		t.Fatalf("B does not know A's session: %v", err)
	}
	if err := a.clinic.EndSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "B to end the session signed out on A", ended(tok))

	// Disabled on A: the account's session ends on B.
	tok, _, err = a.clinic.StartSession(ctx, nurse)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.clinic.SessionFor(ctx, tok, true); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := a.clinic.UpdateStaff(ctx, system, nurse.ID, clinic.StaffUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "B to end the session of an account disabled on A", ended(tok))

	// New settings on A are B's settings.
	s, err := b.clinic.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.ClinicName = "Maple Street Health"
	if err := a.clinic.SaveSettings(ctx, system, s); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "B to show the settings saved on A", func() bool {
		got, err := b.clinic.Settings(ctx)
		return err == nil && got.ClinicName == "Maple Street Health"
	})
}

// News lost while a node's listener was away is made good when it
// reconnects: it forgets everything it remembered. (Without the news and
// before the reconnect, B still accepts the ended session: what B
// remembers is what the relay must correct.)
func TestReconnectForgetsEverything(t *testing.T) {
	ctx := context.Background()
	a, b, owner := twoNodes(t, time.Hour, time.Hour)
	tok, _, err := a.clinic.StartSession(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.clinic.SessionFor(ctx, tok, true); err != nil {
		t.Fatal(err)
	}
	a.wire.lose.Store(true)
	if err := a.clinic.EndSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, _, err := b.clinic.SessionFor(ctx, tok, false); err != nil {
		t.Fatalf("B re-read the session without being told; this test no longer shows what the relay does: %v", err)
	}

	connects := b.wire.connects.Load()
	dropListeners(t, b.dsn)
	waitFor(t, 10*time.Second, "B's listener to reconnect", func() bool { return b.wire.connects.Load() > connects })
	if _, _, err := b.clinic.SessionFor(ctx, tok, false); !errors.Is(err, clinic.ErrSessionEnded) {
		t.Fatalf("after reconnecting, B still accepts the session ended on A: %v", err)
	}
}

// dropListeners ends, as an administrator or a network fault would, every
// node's listening session on the database.
func dropListeners(t *testing.T, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := conn.Close(ctx); err != nil {
			t.Errorf("closing the admin connection: %v", err)
		}
	}()
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'hearth-listen' AND datname = current_database()`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("ended %d listening sessions, want 2 (one per node)", n)
	}
}

// Presence crosses nodes: a colleague on node B sees that Maria, on node
// A, is replying to an item.
func TestPresenceCrossesNodes(t *testing.T) {
	a, b, owner := twoNodes(t, time.Hour, time.Hour)
	id := newItems(t, a, owner, 1)[0]
	maria, _ := browser(t, a, "s-maria", "Maria")
	_, onB := browser(t, b, "s-bob", "Bob")
	if err := maria.WriteJSON(map[string]string{"type": "typing", "item_id": id}); err != nil {
		t.Fatal(err)
	}
	f := next(t, onB, "presence", 5*time.Second)
	if f.StaffID != "s-maria" || f.State != "typing" || f.ItemID != id {
		t.Fatalf("node B got presence %+v, want s-maria typing on %s", f, id)
	}
}

// A notification naming an event the relay has already handed out (the
// node's own, which it had from Publish) does not wake the relay; one
// naming a newer event sends it to the log, and one naming none (news may
// have been lost) or something unreadable makes it read the log whatever
// it has.
func TestOldNotificationsAreNotReadAgain(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := New(log, realtime.NewHub(log))
	n.relayed.Store(10)
	for _, c := range []struct {
		payload string
		wake    bool
		heardTo uint64
		lost    bool
	}{{"10", false, 0, false}, {"3", false, 0, false}, {"11", true, 11, false}, {"", true, 11, true}, {"x", true, 11, true}} {
		n.heard(chanEvents, c.payload)
		woke := false
		select {
		case <-n.wake:
			woke = true
		default:
		}
		lost := n.lost.Swap(false)
		if woke != c.wake || n.heardTo.Load() != c.heardTo || lost != c.lost {
			t.Errorf("notification %q with events to 10 relayed: woke %v, read to %d, lost %v; want %v, %d, %v",
				c.payload, woke, n.heardTo.Load(), lost, c.wake, c.heardTo, c.lost)
		}
	}
}

// The node's own events go to its browsers without a read of the log, in
// log order whatever order their requests published them in: an event
// after a gap waits for the missing one.
func TestOwnEventsInLogOrder(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := realtime.NewHub(log)
	run, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(run) }()
	t.Cleanup(func() { hub.CloseAll(); stop(); <-done })
	n := New(log, hub)
	_, frames := browser(t, &member{hub: hub}, "s-a", "Ann")
	ev := func(seq uint64) clinic.Event {
		return clinic.Event{Seq: seq, Type: "item.new", ItemID: fmt.Sprint("item-", seq), At: time.Now().UTC()}
	}
	for _, seq := range []uint64{12, 9, 11, 14} {
		n.Publish(ev(seq))
	}
	if last := n.handMine(10); last != 12 {
		t.Fatalf("handed out to %d, want 12 (11 and 12; 14 waits for 13, 9 is before)", last)
	}
	n.Publish(ev(13))
	if last := n.handMine(12); last != 14 {
		t.Fatalf("handed out to %d, want 14", last)
	}
	for _, want := range []uint64{11, 12, 13, 14} {
		if f := next(t, frames, "item.new", 5*time.Second); f.Seq != want {
			t.Fatalf("frame for event %d, want %d", f.Seq, want)
		}
	}
	n.mu.Lock()
	left := len(n.mine)
	n.mu.Unlock()
	if left != 0 {
		t.Errorf("%d events still held after all were handed out", left)
	}
}
