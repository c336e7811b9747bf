package audit_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
	"hearth/app/store/boltstore"
)

func openStore(t *testing.T) store.Store {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "a.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var key = []byte("0123456789abcdef0123456789abcdef")

func appendN(t *testing.T, st store.Store, k []byte, n int, actor string) {
	ctx := context.Background()
	for i := 0; i < n; i++ {
		err := st.Update(ctx, func(tx store.Tx) error {
			_, err := audit.Append(tx, k, audit.Event{At: time.Now(), Actor: actor, Action: "patient.read", Patient: "p1"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func verify(st store.Store, k []byte) (int, error) {
	var n int
	var verr error
	st.View(context.Background(), func(tx store.Tx) error { n, verr = audit.Verify(tx, k); return nil })
	return n, verr
}

func TestChainVerifies(t *testing.T) {
	st := openStore(t)
	appendN(t, st, key, 10, "staff:a")
	n, err := verify(st, key)
	if err != nil || n != 10 {
		t.Fatalf("verify = %d, %v", n, err)
	}
	if _, err := verify(st, []byte("another key.....................")); !errors.Is(err, audit.ErrChain) {
		t.Fatalf("verify with another key: %v", err)
	}
}

func TestTailTruncationDetected(t *testing.T) {
	st := openStore(t)
	appendN(t, st, key, 5, "staff:a")
	st.Update(context.Background(), func(tx store.Tx) error { return tx.Delete("audit", "0000000000000005") })
	if _, err := verify(st, key); !errors.Is(err, audit.ErrChain) {
		t.Fatalf("removing the newest event went unnoticed: %v", err)
	}
}

func TestPendingWhileLockedThenSettled(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	appendN(t, st, key, 2, "staff:a")
	appendN(t, st, nil, 3, "patient:p") // locked: no key
	var listed []audit.Event
	st.View(ctx, func(tx store.Tx) error { listed, _ = audit.List(tx, audit.Filter{}); return nil })
	if len(listed) != 2 {
		t.Fatalf("pending events are listed before they are chained: %d", len(listed))
	}
	var settled int
	st.Update(ctx, func(tx store.Tx) error { settled, _ = audit.Settle(tx, key); return nil })
	if settled != 3 {
		t.Fatalf("settled %d", settled)
	}
	n, err := verify(st, key)
	if err != nil || n != 5 {
		t.Fatalf("after settle: %d, %v", n, err)
	}
	st.View(ctx, func(tx store.Tx) error { listed, _ = audit.List(tx, audit.Filter{Actor: "patient:p"}); return nil })
	if len(listed) != 3 {
		t.Fatalf("filter by actor: %d", len(listed))
	}
}
