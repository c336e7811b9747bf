package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hearth/app/store/pgstore/pgtest"
)

// groupClinic sets up a clinic on a fresh PostgreSQL database and returns
// two nodes of it: A (set up first, so it holds the keys) and B (a copy of
// A's keys folder, as docs/OPERATIONS.md tells an owner to place them).
func groupClinic(t *testing.T) (a, b *instance, dsn string) {
	t.Helper()
	dsn = pgtest.DSN(t)
	dataA := filepath.Join(t.TempDir(), "node-a")
	out, err := hearth(t, ownerPassword+"\n"+ownerPassword+"\n", "setup", "--data", dataA, "--store", dsn,
		"--clinic", "Maple Street Family Clinic", "--owner-name", "Olive Owner", "--owner-email", "owner@maple.test")
	if err != nil {
		t.Fatalf("hearth setup --store: %v\n%s", err, out)
	}
	if strings.Contains(out, dsn) {
		t.Fatalf("setup printed the database URL:\n%s", out)
	}
	dataB := filepath.Join(t.TempDir(), "node-b")
	copyDir(t, filepath.Join(dataA, "keys"), filepath.Join(dataB, "keys"))
	a = &instance{t: t, data: dataA, recovery: recoveryRe.FindString(out), extra: []string{"--store", dsn}}
	b = &instance{t: t, data: dataB, extra: []string{"--store", dsn}}
	return a, b, dsn
}

// waitLog waits until the node's log says want.
func waitLog(t *testing.T, in *instance, want string, within time.Duration) {
	t.Helper()
	for start := time.Now(); time.Since(start) < within; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(in.log.String(), want) {
			return
		}
	}
	t.Fatalf("node %s did not log %q within %v:\n%s", filepath.Base(in.data), want, within, in.log.String())
}

const leading = "this node now runs the clinic's periodic jobs"

// TestTwoNodesOneInbox: two nodes on one PostgreSQL database. A patient
// posts on node A and a staff browser's websocket on node B hears it within
// a second; node A is killed (kill -9) under write load and no acknowledged
// write is lost; node B takes over the periodic jobs.
func TestTwoNodesOneInbox(t *testing.T) {
	a, b, dsn := groupClinic(t)
	a.start()
	waitLog(t, a, leading, 10*time.Second)
	b.start()

	// The front desk's live channel, on node B.
	staffB := b.owner()
	ws := staffSocket(t, b, staffB)
	type frame struct {
		Type   string `json:"type"`
		ItemID string `json:"item_id"`
		Name   string `json:"name"`
		State  string `json:"state"`
	}
	frames := make(chan frame, 256)
	go func() {
		defer close(frames)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var f frame
			if json.Unmarshal(msg, &f) == nil {
				frames <- f
			}
		}
	}()

	// A patient, invited and signed in on node A, sends a message there.
	ownerA := a.owner()
	var pat struct {
		ID string `json:"id"`
	}
	inboxAPI(t, ownerA, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14", "phone": "555-201-3344", "lang": "en"}, &pat)
	var inv struct {
		Code string `json:"code"`
	}
	inboxAPI(t, ownerA, "POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv)
	p := inboxPatientSignIn(t, a, "Rosa", inv.Code, "1961-03-14")
	for drained := false; !drained; {
		select {
		case <-frames:
		default:
			drained = true
		}
	}
	sent := time.Now()
	item := p.send("message", map[string]string{"body": "Is my lab result back yet?"})
	var heard time.Duration
	deadline := time.After(time.Second)
wait:
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("node B's websocket closed")
			}
			if f.Type == "item.new" && f.ItemID == item {
				heard = time.Since(sent)
				break wait
			}
		case <-deadline:
			t.Fatalf("a staff browser on node B did not hear of the item posted on node A within one second")
		}
	}
	t.Logf("posted on node A, heard on node B's websocket after %v (the send's whole round trip included)", heard.Round(time.Millisecond))

	// A colleague opening the item on node A shows on node B ("Frida is
	// viewing"), as on one node.
	fridaID := inboxStaff(t, a, ownerA, "Frida Front", "frida@maple.test", "frontdesk", "Frida-Long-Password-7")
	fridaWS := staffSocket(t, a, a.login("frida@maple.test", "Frida-Long-Password-7"))
	if err := fridaWS.WriteJSON(map[string]string{"type": "viewing", "item_id": item}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.After(2 * time.Second); ; {
		select {
		case f := <-frames:
			if f.Type != "presence" || f.ItemID != item || f.State != "viewing" {
				continue
			}
			if f.Name != "Frida" {
				t.Fatalf("presence from node A names %q, want the colleague's first name", f.Name)
			}
		case <-deadline:
			t.Fatal("node B's staff did not see that a colleague on node A has the item open")
		}
		break
	}

	// Node B forgets what node A ends: a session signed out on A,
	// and the sessions of an account disabled on A, no longer work on B
	// (the same cookie reaches both nodes; B had it in memory).
	onBoth := func() (*client, *client) {
		cA := a.login("frida@maple.test", "Frida-Long-Password-7")
		cB := &client{in: b, hc: cA.hc, csrf: cA.csrf}
		if code := cB.json("GET", "/api/v1/items", nil, nil); code != 200 {
			t.Fatalf("a session made on node A answers %d on node B", code)
		}
		return cA, cB
	}
	// B hears of it through PostgreSQL's NOTIFY, a few milliseconds after
	// A's answer: B must refuse the session within two seconds.
	refusedOnB := func(c *client, what string) {
		t.Helper()
		code := 0
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if code = c.json("GET", "/api/v1/items", nil, nil); code == 401 {
				return
			}
		}
		t.Fatalf("%s, the session still answers %d on node B after two seconds, want 401", what, code)
	}
	cA, cB := onBoth()
	inboxAPI(t, cA, "POST", "/api/v1/logout", nil, nil)
	refusedOnB(cB, "after signing out on node A")
	_, cB = onBoth()
	inboxAPI(t, ownerA, "PATCH", "/api/v1/staff/"+fridaID, map[string]any{"disabled": true}, nil)
	refusedOnB(cB, "after the account was disabled on node A")

	// Node B serves the item posted on A, and A's own inbox has it too.
	var got struct {
		Item struct {
			ID string `json:"id"`
		} `json:"item"`
	}
	inboxAPI(t, staffB, "GET", "/api/v1/items/"+item, nil, &got)
	if got.Item.ID != item {
		t.Fatalf("node B does not serve the item: %+v", got)
	}

	// A patient's write budget is shared too: ten new requests in the
	// window, wherever they land (the device cookie works on every node).
	pB := &inboxPatient{t: t, in: b, hc: p.hc, name: p.name}
	for i := 1; i < 10; i++ {
		who := p
		if i%2 == 1 {
			who = pB
		}
		who.send("message", map[string]string{"body": "Follow-up number " + strconv.Itoa(i)})
	}
	for _, who := range []*inboxPatient{p, pB} {
		_, page := who.get("/new?type=message")
		if status, _, _ := who.post("/new", page, url.Values{"type": {"message"}, "body": {"one too many"}}); status != http.StatusTooManyRequests {
			t.Fatalf("the 11th request in the window, on node %s: HTTP %d, want 429", filepath.Base(who.in.data), status)
		}
	}

	// Sign-in limits are shared: ten wrong passwords for one account,
	// spread over both nodes, close it on either node for the window.
	for i := 0; i < 10; i++ {
		node := a
		if i%2 == 1 {
			node = b
		}
		if code, _, _ := node.newClient().do("POST", "/api/v1/login", map[string]string{"email": "nina@maple.test", "password": "wrong-password-" + strconv.Itoa(i)}); code != 401 {
			t.Fatalf("wrong password %d on node %s: HTTP %d, want 401", i, filepath.Base(node.data), code)
		}
	}
	for _, node := range []*instance{a, b} {
		if code, _, _ := node.newClient().do("POST", "/api/v1/login", map[string]string{"email": "nina@maple.test", "password": "wrong-again"}); code != 429 {
			t.Fatalf("after ten failures spread over both nodes, node %s answers %d, want 429", filepath.Base(node.data), code)
		}
	}

	// Node B has not led while A was alive.
	if strings.Contains(b.log.String(), leading) {
		t.Fatal("node B ran the periodic jobs while node A held them")
	}

	// kill -9 node A in the middle of a write load.
	stop := make(chan struct{})
	load := writeLoad(t, ownerA, 16, "Group", stop)
	time.Sleep(1500 * time.Millisecond)
	a.kill()
	killed := time.Now()
	close(stop)
	// Node B takes over the periodic jobs.
	waitLog(t, b, leading, 15*time.Second)
	t.Logf("node B took over the periodic jobs %v after node A was killed", time.Since(killed).Round(10*time.Millisecond))
	acks := load()
	if len(acks) < 20 {
		t.Fatalf("only %d writes were acknowledged before the kill; the load did not run", len(acks))
	}
	for _, ack := range acks {
		var pt struct{ Name string }
		if code := staffB.json("GET", "/api/v1/patients/"+ack.id, nil, &pt); code != 200 || pt.Name != ack.name {
			t.Fatalf("acknowledged patient %s lost after node A's kill -9 (node B answers %d)", ack.id, code)
		}
	}
	t.Logf("%d writes acknowledged by node A before kill -9; node B serves every one", len(acks))

	// The shared database verifies clean while node B serves.
	if out, err := hearth(t, "", "verify", "--data", b.data, "--store", dsn); err != nil || !strings.Contains(out, "all good") {
		t.Fatalf("verify on the shared database: %v\n%s", err, out)
	}
}
