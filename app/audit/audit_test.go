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
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
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

// verify runs audit.Verify in a read transaction; a failure of the
// transaction itself fails the test.
func verify(t *testing.T, st store.Store, k []byte) (int, error) {
	t.Helper()
	var n int
	var verr error
	if err := st.View(context.Background(), func(tx store.Tx) error { n, verr = audit.Verify(tx, k); return nil }); err != nil {
		t.Fatal(err)
	}
	return n, verr
}

// list runs audit.List in a read transaction.
func list(t *testing.T, st store.Store, f audit.Filter) []audit.Event {
	t.Helper()
	var listed []audit.Event
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		listed, err = audit.List(tx, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return listed
}

func TestChainVerifies(t *testing.T) {
	st := openStore(t)
	appendN(t, st, key, 10, "staff:a")
	n, err := verify(t, st, key)
	if err != nil || n != 10 {
		t.Fatalf("verify = %d, %v", n, err)
	}
	if _, err := verify(t, st, []byte("another key.....................")); !errors.Is(err, audit.ErrChain) {
		t.Fatalf("verify with another key: %v", err)
	}
}

func TestTailTruncationDetected(t *testing.T) {
	st := openStore(t)
	appendN(t, st, key, 5, "staff:a")
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Delete("audit", "0000000000000005") }); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, st, key); !errors.Is(err, audit.ErrChain) {
		t.Fatalf("removing the newest event went unnoticed: %v", err)
	}
}

func TestPendingWhileLockedThenSettled(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	appendN(t, st, key, 2, "staff:a")
	appendN(t, st, nil, 3, "patient:p") // locked: no key
	if listed := list(t, st, audit.Filter{}); len(listed) != 2 {
		t.Fatalf("pending events are listed before they are chained: %d", len(listed))
	}
	var settled int
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		settled, err = audit.Settle(tx, key)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if settled != 3 {
		t.Fatalf("settled %d", settled)
	}
	n, err := verify(t, st, key)
	if err != nil || n != 5 {
		t.Fatalf("after settle: %d, %v", n, err)
	}
	if listed := list(t, st, audit.Filter{Actor: "patient:p"}); len(listed) != 3 {
		t.Fatalf("filter by actor: %d", len(listed))
	}
}
