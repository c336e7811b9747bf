package clinic

import (
	"context"
	"errors"
	"testing"
)

// countsMatchRecount fails t unless QueueCounts equals a recount of every
// item's meta, queue by queue.
func countsMatchRecount(t *testing.T, ic *inboxClinic, when string) map[string]QueueCount {
	t.Helper()
	ctx := context.Background()
	want := recountQueues(t, ic)
	got, err := ic.c.QueueCounts(ctx, ic.owner)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]QueueCount{}
	for _, g := range got {
		w := want[g.Queue.ID]
		if g.Open != w.Open || g.New != w.New || g.Urgent != w.Urgent {
			t.Fatalf("%s: queue %s counts %+v, recount %+v", when, g.Queue.ID, g, w)
		}
		out[g.Queue.ID] = g
	}
	return out
}

// TestMoveQueue: a request moves to another queue with a reason; the
// queue's lists and counts follow in the same write, the thread says so,
// the audit records it, and the new queue's staff are told. Without a
// reason, to an unknown queue, or by someone who cannot open the request,
// nothing moves.
func TestMoveQueue(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "My rash is spreading since the new cream"})
	if err != nil {
		t.Fatal(err)
	}
	id := ack.Item.ID
	if ack.Item.Queue != "frontdesk" {
		t.Fatalf("a message starts in %s", ack.Item.Queue)
	}
	if _, err := ic.c.Assign(ctx, ic.owner, id, ic.front.ID); err != nil {
		t.Fatal(err)
	}
	before := countsMatchRecount(t, ic, "before the move")

	// Refusals: nothing changes.
	var ie *InputError
	if _, err := ic.c.MoveQueue(ctx, ic.front, id, QueueMove{Queue: "clinical", Reason: "  "}); !errors.As(err, &ie) || ie.Field != "reason" {
		t.Fatalf("without a reason: %v", err)
	}
	if _, err := ic.c.MoveQueue(ctx, ic.front, id, QueueMove{Queue: "nursing", Reason: "Clinical question"}); !errors.As(err, &ie) || ie.Field != "queue" {
		t.Fatalf("to an unknown queue: %v", err)
	}
	if _, err := ic.c.MoveQueue(ctx, ic.front, id, QueueMove{Queue: "frontdesk", Reason: "Stay"}); !errors.As(err, &ie) || ie.Field != "queue" {
		t.Fatalf("to its own queue: %v", err)
	}
	bill, err := ic.c.CreateItem(ctx, ic.owner, NewItem{Type: TypeBilling, Body: "Statement question", PatientID: ic.patA.Patient})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.MoveQueue(ctx, ic.clin, bill.Item.ID, QueueMove{Queue: "clinical", Reason: "Looks clinical"}); !errors.Is(err, ErrBreakGlass) {
		t.Fatalf("a clinician outside the billing queue moved it: %v", err)
	}
	if _, err := ic.c.MoveQueue(ctx, ic.patA, id, QueueMove{Queue: "clinical", Reason: "Please"}); err == nil {
		t.Fatal("a patient moved a request")
	}
	if _, err := ic.c.MoveQueue(ctx, ic.front, "00000000-0000-7000-8000-000000000000", QueueMove{Queue: "clinical", Reason: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no such item: %v", err)
	}
	if v, err := ic.c.GetItem(ctx, ic.front, id); err != nil || v.Item.Queue != "frontdesk" || v.Item.Assignee != ic.front.ID {
		t.Fatalf("a refused move changed the item: %+v %v", v.Item, err)
	}
	countsMatchRecount(t, ic, "after the refusals")

	// The move.
	ic.events.reset()
	it, err := ic.c.MoveQueue(ctx, ic.front, id, QueueMove{Queue: "clinical", Reason: "Needs a clinician to look at the rash"})
	if err != nil {
		t.Fatal(err)
	}
	if it.Queue != "clinical" || it.Assignee != "" {
		t.Fatalf("moved item: queue %s, assignee %q (the front desk does not work clinical)", it.Queue, it.Assignee)
	}
	after := countsMatchRecount(t, ic, "after the move")
	if after["frontdesk"].Open != before["frontdesk"].Open-1 || after["clinical"].Open != before["clinical"].Open+1 ||
		after["frontdesk"].New != before["frontdesk"].New || after["clinical"].New != before["clinical"].New {
		t.Fatalf("counts: before %+v, after %+v", before, after)
	}
	// The index follows: the clinical list has it, the front desk's not.
	inQueue := func(a Actor, q string) bool {
		t.Helper()
		rows, err := ic.c.ListItems(ctx, a, ItemFilter{Queue: q})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.ID == id {
				return true
			}
		}
		return false
	}
	if !inQueue(ic.clin, "clinical") || inQueue(ic.owner, "frontdesk") {
		t.Fatal("the queue lists did not follow the move")
	}
	// The front desk no longer opens it; the clinician does, and reads why.
	if _, err := ic.c.GetItem(ctx, ic.front, id); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the front desk still opens a clinical request: %v", err)
	}
	v, err := ic.c.GetItem(ctx, ic.clin, id)
	if err != nil {
		t.Fatal(err)
	}
	last := v.Messages[len(v.Messages)-1]
	if last.Kind != KindSystem || last.Body != "moved:frontdesk:clinical:Needs a clinician to look at the rash" || last.AuthorID != ic.front.ID {
		t.Fatalf("thread line: %+v", last)
	}
	log, err := ic.c.AuditLog(ctx, ic.owner, auditFilterAction("item.queue"), false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].ActorName != "Maria Front" || log[0].Object != "item:"+id {
		t.Fatalf("audit: %+v", log)
	}
	evs := ic.events.list() // then the clinician's read (item.seen)
	if len(evs) < 2 || evs[0].Type != "item.queue_left" || evs[0].Queue != "frontdesk" ||
		evs[1].Type != "item.queue" || evs[1].Queue != "clinical" || evs[1].ItemID != id || evs[1].Seq <= evs[0].Seq {
		t.Fatalf("events: %+v", evs)
	}
	// And back again by the clinician: an assignee who works both queues
	// stays.
	if _, err := ic.c.Assign(ctx, ic.clin, id, ic.clin.ID); err != nil {
		t.Fatal(err)
	}
	if it, err = ic.c.MoveQueue(ctx, ic.clin, id, QueueMove{Queue: "frontdesk", Reason: "Only needs an appointment"}); err != nil {
		t.Fatal(err)
	}
	if it.Queue != "frontdesk" || it.Assignee != ic.clin.ID {
		t.Fatalf("moved back: %+v", it)
	}
	countsMatchRecount(t, ic, "after moving back")
}
