package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
)

// TestListEventIndexedForEveryPatient: one event for a page that showed
// three patients is found in each patient's trail (ForPatient and the
// newest-first patient filter), the chain verifies, and changing the list
// of patients breaks the chain.
func TestListEventIndexedForEveryPatient(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	err := st.Update(ctx, func(tx store.Tx) error {
		if _, err := audit.Append(tx, key, audit.Event{At: at, Actor: "staff:a", Action: "patient.read", Patient: "p9"}); err != nil {
			return err
		}
		_, err := audit.Append(tx, key, audit.Event{At: at, Actor: "staff:a", Action: "item.list", Object: "page", Patients: []string{"p1", "p2", "p3", "p2"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := verify(t, st, key); err != nil || n != 2 {
		t.Fatalf("verify = %d, %v", n, err)
	}
	for _, p := range []string{"p1", "p2", "p3"} {
		var mine, newest []audit.Event
		err := st.View(ctx, func(tx store.Tx) error {
			var err error
			if mine, err = audit.ForPatient(tx, p, 100); err != nil {
				return err
			}
			newest, err = audit.ListNewest(tx, audit.Filter{Patient: p}, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) != 1 || mine[0].Action != "item.list" || len(newest) != 1 || newest[0].Seq != 2 {
			t.Fatalf("patient %s: trail %+v, newest %+v", p, mine, newest)
		}
	}
	if got := list(t, st, audit.Filter{Patient: "p3"}); len(got) != 1 {
		t.Fatalf("List by a listed patient: %d events", len(got))
	}
	if got := list(t, st, audit.Filter{Patient: "p9"}); len(got) != 1 || got[0].Action != "patient.read" {
		t.Fatalf("List by the single patient: %+v", got)
	}
	// Paging back: before the list event, p1 has nothing.
	err = st.View(ctx, func(tx store.Tx) error {
		older, err := audit.ListNewest(tx, audit.Filter{Patient: "p1"}, 2)
		if err == nil && len(older) != 0 {
			t.Errorf("before the list event: %+v", older)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Dropping a patient from the stored event breaks the chain.
	err = st.Update(ctx, func(tx store.Tx) error {
		v, err := tx.Get("audit", "0000000000000002")
		if err != nil {
			return err
		}
		var e audit.Event
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		e.Patients = e.Patients[1:]
		b, _ := json.Marshal(e)
		return tx.Put("audit", "0000000000000002", b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, st, key); !errors.Is(err, audit.ErrChain) {
		t.Fatalf("a changed list of patients went unnoticed: %v", err)
	}
}

// TestOldEventEncodingUnchanged: an event without listed patients encodes
// without the field, so events chained before it existed keep their MACs.
func TestOldEventEncodingUnchanged(t *testing.T) {
	b, _ := json.Marshal(audit.Event{Actor: "staff:a", Action: "patient.read", Patient: "p1"})
	if string(b) != `{"seq":0,"at":"0001-01-01T00:00:00Z","actor":"staff:a","action":"patient.read","patient":"p1"}` {
		t.Fatalf("encoding changed: %s", b)
	}
}
