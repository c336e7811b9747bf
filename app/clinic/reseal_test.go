package clinic

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestResealStartsOverWhenTheRecordChanged: another writer changes the item
// between the loop's read and its write; the loop starts over on the fresh
// record, so both changes land, and the plain metadata follows the record.
func TestResealStartsOverWhenTheRecordChanged(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "A question"})
	if err != nil {
		t.Fatal(err)
	}
	id := ack.Item.ID
	calls := 0
	it, err := ic.c.changeItem(ctx, id, func(it *Item) error {
		calls++
		if calls == 1 {
			if _, err := ic.c.changeItem(ctx, id, func(x *Item) error { x.Feedback = "other writer"; return nil }, nil); err != nil {
				return err
			}
		}
		it.Status = StatusWaiting
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || it.Feedback != "other writer" || it.Status != StatusWaiting {
		t.Fatalf("after a concurrent change: %d calls, feedback %q, status %s", calls, it.Feedback, it.Status)
	}
	ic.c.items.drop(id)
	got, err := ic.c.GetItem(ctx, ic.front, id)
	if err != nil || got.Item.Feedback != "other writer" {
		t.Fatalf("stored item: %+v %v", got.Item.ItemMeta, err)
	}
	rows, err := ic.c.ListItems(ctx, ic.owner, ItemFilter{Status: StatusWaiting})
	if err != nil || len(rows) != 1 || rows[0].ID != id {
		t.Fatalf("the status index did not follow the record: %+v %v", rows, err)
	}
	mustVerifyClean(t, ic.c)
}

// TestResealLosesNoConcurrentChange: many writers change one item, one
// appointment and one staff record at once; every change is kept.
func TestResealLosesNoConcurrentChange(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "A question"})
	if err != nil {
		t.Fatal(err)
	}
	ap, _, err := ic.c.CreateAppointment(ctx, ic.front, ApptInput{PatientID: ic.patA.Patient, StartsAt: ic.clock.t.Add(48 * time.Hour), Minutes: 20})
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Add(3)
		go func() {
			defer wg.Done()
			_, err := ic.c.AddMessage(ctx, ic.front, ack.Item.ID, fmt.Sprintf("reply %d", i), false)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, _, err := ic.c.updateAppointment(ctx, ap.ID, func(cur *Appointment) (bool, error) {
				cur.Reminded = append(cur.Reminded, i)
				return true, nil
			}, nil)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := ic.c.changeStaff(ctx, ic.owner, ic.front.ID, "", func(s *Staff) error {
				s.Name += "x"
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	v, err := ic.c.GetItem(ctx, ic.owner, ack.Item.ID)
	if err != nil || v.Item.Messages != 1+n {
		t.Fatalf("item after %d concurrent replies: %d messages, %v", n, v.Item.Messages, err)
	}
	got, err := ic.c.appointment(ctx, ap.ID)
	if err != nil || len(got.Reminded) != n {
		t.Fatalf("appointment after %d concurrent changes: %v %v", n, got.Reminded, err)
	}
	s, err := ic.c.Staff(ctx, ic.front.ID)
	if err != nil || s.Name != "Maria Front"+"xxxxxx" {
		t.Fatalf("staff after %d concurrent changes: %q %v", n, s.Name, err)
	}
	mustVerifyClean(t, ic.c)
}
