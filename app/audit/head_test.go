package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
)

// cutTail deletes the newest n events and rewinds the head to the event
// before them, as someone without the key can: the head's MAC is gone
// (or, with keep, the old MAC is left in place over the new position).
func cutTail(t *testing.T, st store.Store, total, n int, keep bool) {
	t.Helper()
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for i := total - n + 1; i <= total; i++ {
			if err := tx.Delete("audit", fmt.Sprintf("%016x", i)); err != nil {
				return err
			}
		}
		raw, err := tx.Get("audit", fmt.Sprintf("%016x", total-n))
		if err != nil {
			return err
		}
		var e audit.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		hraw, err := tx.Get("audit_head", "head")
		if err != nil {
			return err
		}
		h := map[string]any{}
		if err := json.Unmarshal(hraw, &h); err != nil {
			return err
		}
		h["seq"], h["mac"] = e.Seq, e.MAC
		if !keep {
			delete(h, "auth")
		}
		b, err := json.Marshal(h)
		if err != nil {
			return err
		}
		return tx.Put("audit_head", "head", b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkHead returns CheckHead's verdict on the head; a read that fails
// fails the test.
func checkHead(t *testing.T, st store.Store, k []byte) error {
	t.Helper()
	var err error
	if verr := st.View(context.Background(), func(tx store.Tx) error { err = audit.CheckHead(tx, k); return nil }); verr != nil {
		t.Fatal(verr)
	}
	return err
}

func TestHeadIsAuthenticated(t *testing.T) {
	st := openStore(t)
	appendN(t, st, key, 10, "staff:a")
	if err := checkHead(t, st, key); err != nil {
		t.Fatalf("a sound head: %v", err)
	}
	if err := checkHead(t, st, []byte("another key, another key, 32 by")); !errors.Is(err, audit.ErrChain) {
		t.Fatalf("a head checked with another key: %v", err)
	}
}

func TestCutTailIsDetected(t *testing.T) {
	for name, keep := range map[string]bool{"head MAC removed": false, "old head MAC kept": true} {
		t.Run(name, func(t *testing.T) {
			st := openStore(t)
			appendN(t, st, key, 10, "staff:a")
			cutTail(t, st, 10, 3, keep)
			n, err := verify(t, st, key)
			var ce *audit.ChainError
			if !errors.As(err, &ce) && !errors.Is(err, audit.ErrHeadUnsealed) {
				t.Fatalf("verify after cutting 3 events: n=%d err=%v", n, err)
			}
			if err := checkHead(t, st, key); !errors.Is(err, audit.ErrChain) {
				t.Fatalf("CheckHead after the cut: %v", err)
			}
		})
	}
}

func TestLegacyHeadIsSealedOnce(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	appendN(t, st, key, 4, "staff:a")
	// A head as schema 3 wrote it: no MAC of its own.
	err := st.Update(ctx, func(tx store.Tx) error {
		hraw, err := tx.Get("audit_head", "head")
		if err != nil {
			return err
		}
		h := map[string]any{}
		if err := json.Unmarshal(hraw, &h); err != nil {
			return err
		}
		delete(h, "auth")
		b, err := json.Marshal(h)
		if err != nil {
			return err
		}
		return tx.Put("audit_head", "head", b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, st, key); !errors.Is(err, audit.ErrHeadUnsealed) {
		t.Fatalf("an old head: %v", err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return audit.MarkLegacyHead(tx) }); err != nil {
		t.Fatal(err)
	}
	if err := checkHead(t, st, key); !errors.Is(err, audit.ErrHeadUnsealed) {
		t.Fatalf("a marked old head: %v", err)
	}
	var sealed bool
	err = st.Update(ctx, func(tx store.Tx) error {
		var err error
		sealed, err = audit.SealLegacyHead(tx, key, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sealed {
		t.Fatal("the old head was not sealed")
	}
	if n, err := verify(t, st, key); err != nil || n != 5 {
		t.Fatalf("after sealing: n=%d err=%v (want the 4 events and the upgrade's)", n, err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		var err error
		sealed, err = audit.SealLegacyHead(tx, key, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if sealed {
		t.Fatal("a sealed head was sealed again")
	}
}

func TestFingerprint(t *testing.T) {
	h := audit.Head{Seq: 3, MAC: []byte{0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x7a, 0x8b, 0x9c}}
	if fp := h.Fingerprint(); fp != "1a2b-3c4d-5e6f-7a8b" {
		t.Fatalf("fingerprint %q", fp)
	}
	for fp, want := range map[string]bool{"1a2b-3c4d-5e6f-7a8b": true, "1A2B 3C4D": true, "1a2b3c4d5e6f7a8b9c": true, "1a2b-3c4d-5e6f-7a8c": false, "1a2b": false} {
		if got := audit.MatchesFingerprint(h.MAC, fp); got != want {
			t.Errorf("MatchesFingerprint(%q) = %v", fp, got)
		}
	}
}
