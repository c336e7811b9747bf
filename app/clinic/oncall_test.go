package clinic

import (
	"context"
	"strings"
	"testing"
	"time"

	"hearth/app/mail"
)

func TestOnCallAtBoundaries(t *testing.T) {
	loc := hoursNY(t)
	oc := OnCall{Rota: []Shift{
		{StaffID: "a", Days: []int{2}, From: "17:00", To: "24:00"}, // Tuesday evening
		{StaffID: "b", Days: []int{3}, From: "00:00", To: "08:00"}, // Wednesday morning
	}}
	for _, c := range []struct {
		at  time.Time
		who string
	}{
		{time.Date(2026, 11, 24, 16, 59, 0, 0, loc), ""},
		{time.Date(2026, 11, 24, 17, 0, 0, 0, loc), "a"},
		{time.Date(2026, 11, 24, 23, 59, 59, 0, loc), "a"},
		{time.Date(2026, 11, 25, 0, 0, 0, 0, loc), "b"},
		{time.Date(2026, 11, 25, 7, 59, 0, 0, loc), "b"},
		{time.Date(2026, 11, 25, 8, 0, 0, 0, loc), ""},
		{time.Date(2026, 12, 1, 18, 0, 0, 0, loc).UTC(), "a"}, // an instant in UTC is read in clinic time
	} {
		sh, ok := oc.OnCallAt(c.at, loc)
		if got := map[bool]string{true: sh.StaffID, false: ""}[ok]; got != c.who {
			t.Errorf("%v: on call %q, want %q", c.at, got, c.who)
		}
	}
}

// TestPageOnlyWhenSomeoneIsOnCall: an urgent request at a minute nobody
// covers pages nobody and promises nothing; one that is covered pages, and
// "I've got it" from the console stops the escalation.
func TestPageOnlyWhenSomeoneIsOnCall(t *testing.T) {
	ic, srv := mailClinic(t)
	ctx := context.Background()
	if _, err := ic.c.SaveOnCall(ctx, ic.owner, OnCall{Rota: []Shift{{StaffID: ic.clin.ID, Phone: "+1 555 201 3344",
		Days: []int{2}, From: "18:00", To: "24:00"}}, EscalateMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.c.SaveOnCall(ctx, ic.front, OnCall{}); err != ErrForbidden {
		t.Fatalf("the front desk changed the rota: %v", err)
	}
	ic.clock.t = time.Date(2026, 11, 24, 17, 30, 0, 0, hoursNY(t)) // Tuesday, closed, nobody on call yet
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Crushing chest pain"})
	if err != nil || !ack.Urgent || !ack.AfterHours || ack.OnCallPaged {
		t.Fatalf("nobody on call: %+v %v", ack, err)
	}
	ic.clock.t = time.Date(2026, 11, 24, 19, 0, 0, 0, hoursNY(t))
	ack, err = ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Crushing chest pain again"})
	if err != nil || !ack.OnCallPaged {
		t.Fatalf("on call: %+v %v", ack, err)
	}
	if n, err := ic.c.SendDueMail(ctx, mail.Send); err != nil || n != 1 {
		t.Fatalf("page: %d %v", n, err)
	}
	if got := srv.Messages(); len(got) != 1 || !strings.Contains(got[0], "Urgent request waiting in Hearth") || strings.Contains(got[0], "chest") {
		t.Fatalf("page: %q", got)
	}
	if err := ic.c.AckItemPage(ctx, ic.clin, ack.Item.ID); err != nil {
		t.Fatal(err)
	}
	if err := ic.c.AckItemPage(ctx, ic.clin, ack.Item.ID); err != nil {
		t.Fatalf("a second 'I've got it': %v", err)
	}
	ic.clock.t = ic.clock.t.Add(time.Hour)
	if _, err := ic.c.EscalatePages(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := ic.c.SendDueMail(ctx, mail.Send); err != nil || n != 0 {
		t.Fatalf("paged after it was taken: %d %v", n, err)
	}
	v, err := ic.c.GetItem(ctx, ic.clin, ack.Item.ID)
	if err != nil || v.Page == nil || v.Page.AckBy != ic.clin.ID || len(v.Page.Tokens) != 0 {
		t.Fatalf("the page as staff see it: %+v %v", v.Page, err)
	}
	lines := 0
	for _, m := range v.Messages {
		if strings.HasPrefix(m.Body, "oncall.") {
			lines++
		}
	}
	if lines != 2 {
		t.Fatalf("timeline has %d on-call lines, want the page and the answer", lines)
	}
}
