package clinic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"hearth/app/store"
)

// TestSessionCSRFIsDerivedNotStored: the session record holds no CSRF
// token; the token comes back the same after the record is read again
// (a restart, another node), differs between sessions, and a record from
// before the change, with a token in it, ends the session and goes.
func TestSessionCSRFIsDerivedNotStored(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	st, err := ic.c.Staff(ctx, ic.front.ID)
	if err != nil {
		t.Fatal(err)
	}
	token, sess, err := ic.c.StartSession(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.CSRF) != 43 || sess.CSRF == token {
		t.Fatalf("csrf token %q", sess.CSRF)
	}
	raw := func(id string) []byte {
		var b []byte
		if err := ic.st.View(ctx, func(tx store.Tx) error { var err error; b, err = tx.Get(bucketSessions, id); return err }); err != nil {
			t.Fatal(err)
		}
		return b
	}
	rec := raw(tokenHash(token))
	var fields map[string]any
	if err := json.Unmarshal(rec, &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["csrf"]; ok || bytes.Contains(rec, []byte(sess.CSRF)) || bytes.Contains(rec, []byte(token)) {
		t.Fatalf("the session record holds a token: %s", rec)
	}

	// Read back from the record alone, as after a restart.
	ic.c.sessions.mu.Lock()
	delete(ic.c.sessions.m, tokenHash(token))
	ic.c.sessions.mu.Unlock()
	again, _, err := ic.c.SessionFor(ctx, token, true)
	if err != nil || again.CSRF != sess.CSRF {
		t.Fatalf("after reload: %v, csrf %q want %q", err, again.CSRF, sess.CSRF)
	}
	token2, sess2, err := ic.c.StartSession(ctx, st)
	if err != nil || sess2.CSRF == sess.CSRF || token2 == token {
		t.Fatalf("a second session shares the csrf token: %v", err)
	}

	// A record written before the change carries its token in clear.
	old := Session{StaffID: st.ID, Generation: st.Generation, Created: ic.clock.now(), LastSeen: ic.clock.now()}
	b, _ := json.Marshal(old)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["csrf"] = RandomToken()
	b, _ = json.Marshal(m)
	oldToken := RandomToken()
	if err := ic.st.Update(ctx, func(tx store.Tx) error { return tx.Put(bucketSessions, tokenHash(oldToken), b) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ic.c.SessionFor(ctx, oldToken, true); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("a session from before the change: %v, want ended", err)
	}
	err = ic.st.View(ctx, func(tx store.Tx) error { _, err := tx.Get(bucketSessions, tokenHash(oldToken)); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("its record is still there: %v", err)
	}
}
