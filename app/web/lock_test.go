package web

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/clinic"
	"hearth/app/realtime"
	"hearth/app/store"
)

// restart opens the same data as a fresh process would: keys loaded from
// disk (locked in sealed mode), the same database, a new server.
func (e *env) restart(t *testing.T) *env {
	hub := realtime.NewHub(nil)
	c := e.fx.Open(t, clinic.Deps{Vault: e.fx.Reload(t), Events: hub, Files: e.files})
	hub.SetSource(c)
	hub.SetQueueOf(c.ItemQueue)
	w, err := New(Options{Clinic: c, Hub: hub, Files: e.files, Version: "test", Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, web: w, c: c, clock: e.clock, hub: hub, log: e.log, fx: e.fx, st: e.st, files: e.files}
}

func TestSealedModeLockedAfterRestart(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	if r := owner.req("POST", "/api/v1/settings/passphrase", map[string]string{"password": "wrong", "passphrase": "maple street rainy tuesday"}); r.code != 400 {
		t.Fatalf("passphrase without the owner's password: %d", r.code)
	}
	if r := owner.req("POST", "/api/v1/settings/passphrase", map[string]string{"password": ownerPass, "passphrase": "maple street rainy tuesday"}); r.code != 200 {
		t.Fatalf("set passphrase: %d %s", r.code, r.body)
	}
	l := e.restart(t)
	if !l.c.Locked() {
		t.Fatal("sealed mode did not come up locked")
	}
	if r := l.anon().req("GET", "/healthz", nil); r.code != 200 || !contains([]string{`{"status":"locked","version":"test"}` + "\n"}, r.body) {
		t.Errorf("healthz while locked: %d %q", r.code, r.body)
	}
	// Patients can still write in; nothing can be read.
	ack, err := l.c.CreateItem(context.Background(), clinic.Actor{Kind: clinic.ActorPatient, ID: pid, Patient: pid}, clinic.NewItem{Type: "message", Body: "Sent while locked"})
	if err != nil {
		t.Fatalf("a patient message while locked: %v", err)
	}
	if r := l.anon().req("POST", "/api/v1/login", map[string]string{"email": ownerEmail, "password": ownerPass}); r.code != 503 {
		t.Fatalf("sign-in while locked: %d %s", r.code, r.body)
	}
	if r := l.anon().req("POST", "/api/v1/unlock", map[string]string{"passphrase": "not it"}); r.code != 401 {
		t.Fatalf("wrong passphrase: %d", r.code)
	}
	if r := l.anon().req("POST", "/api/v1/unlock", map[string]string{"passphrase": "maple street rainy tuesday"}); r.code != 200 {
		t.Fatalf("unlock: %d %s", r.code, r.body)
	}
	o2 := l.owner()
	if r := o2.req("GET", "/api/v1/items/"+ack.Item.ID, nil); r.code != 200 {
		t.Fatalf("the locked-time message after unlock: %d", r.code)
	}
	// The audit events written while locked are chained and verify.
	key, err := l.c.Vault().AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var verr error
	if err := l.st.View(context.Background(), func(tx store.Tx) error { n, verr = audit.Verify(tx, key); return nil }); err != nil {
		t.Fatal(err)
	}
	if verr != nil || n == 0 {
		t.Fatalf("audit after unlock: %d %v", n, verr)
	}
	rep, err := l.c.Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("verify after unlock: %v %v", err, rep.Problems)
	}
}

// Wrong passphrases are throttled per client: after ten in the window even
// the right one is refused with 429 and Hearth stays locked; when the window
// has passed, the right one unlocks. (The cheap test scrypt cost changes how
// long a try takes, not how many are allowed.)
func TestVaultUnlockThrottled(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	const passphrase = "maple street rainy tuesday"
	if r := owner.req("POST", "/api/v1/settings/passphrase", map[string]string{"password": ownerPass, "passphrase": passphrase}); r.code != 200 {
		t.Fatalf("set passphrase: %d %s", r.code, r.body)
	}
	l := e.restart(t)
	u := l.anon()
	for i := range 10 {
		if r := u.req("POST", "/api/v1/unlock", map[string]string{"passphrase": "not it, try " + strconv.Itoa(i)}); r.code != 401 {
			t.Fatalf("wrong passphrase %d: %d %s", i+1, r.code, r.body)
		}
	}
	if r := u.req("POST", "/api/v1/unlock", map[string]string{"passphrase": passphrase}); r.code != 429 {
		t.Fatalf("the right passphrase after ten wrong ones: %d, want 429", r.code)
	}
	if !l.c.Locked() {
		t.Fatal("a throttled unlock opened the vault")
	}
	e.clock.Add(16 * time.Minute)
	if r := u.req("POST", "/api/v1/unlock", map[string]string{"passphrase": passphrase}); r.code != 200 {
		t.Fatalf("unlock once the window passed: %d %s", r.code, r.body)
	}
	if l.c.Locked() {
		t.Fatal("still locked after the right passphrase")
	}
}
