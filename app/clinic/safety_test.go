package clinic

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestClosedAckNeverPromisesEarly: at 1:40 am on a Sunday an urgent request
// is due to staff within the hour, but the sender is told the clinic is
// closed and when it opens, and promised nothing before the opening; so is
// the compose page's preview.
func TestClosedAckNeverPromisesEarly(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ny := ic.clock.t.Location()
	ic.clock.t = time.Date(2026, 11, 29, 1, 40, 0, 0, ny) // Sunday
	opens := time.Date(2026, 11, 30, 9, 0, 0, 0, ny)
	for _, body := range []string{"I have chest pain and can't breathe", "A question about my results"} {
		ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if !ack.AfterHours || !ack.OpensAt.Equal(opens) {
			t.Errorf("%q: after hours %v, opens %v; want closed, opening %v", body, ack.AfterHours, ack.OpensAt, opens)
		}
		if ack.ReplyBy.Before(opens) {
			t.Errorf("%q: promised by %v, before the opening", body, ack.ReplyBy)
		}
		_, msgs, err := ic.c.PatientThread(ctx, ic.patA, ack.Item.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[1].Body != "after_hours" {
			t.Errorf("%q: thread %+v, want the after-hours line", body, msgs)
		}
		if ack.Urgent && !ack.Item.Due.Equal(ic.clock.t.Add(time.Hour)) {
			t.Errorf("urgent staff due %v, want within the hour", ack.Item.Due)
		}
	}
	by, open, err := ic.c.ExpectedReply(ctx, TypeMessage, true)
	if err != nil {
		t.Fatal(err)
	}
	if open || !by.Equal(opens.Add(time.Hour)) {
		t.Errorf("urgent preview at night: %v (open %v), want an hour after the opening", by, open)
	}
	// Open, with more than an hour left: within the hour, as before.
	ic.clock.t = time.Date(2026, 11, 30, 10, 0, 0, 0, ny)
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "crushing chest pain"})
	if err != nil {
		t.Fatal(err)
	}
	if ack.AfterHours || !ack.ReplyBy.Equal(ic.clock.t.Add(time.Hour)) {
		t.Errorf("urgent while open: after hours %v, by %v", ack.AfterHours, ack.ReplyBy)
	}
	// Half an hour before closing, the rest of the hour runs at the next
	// opening for the patient.
	ic.clock.t = time.Date(2026, 11, 30, 16, 30, 0, 0, ny)
	ack, err = ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "crushing chest pain"})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 1, 9, 30, 0, 0, ny); !ack.ReplyBy.Equal(want) {
		t.Errorf("urgent before closing: by %v, want %v", ack.ReplyBy, want)
	}
}

func TestCrisisLineDefault(t *testing.T) {
	line := func(s string) *string { return &s }
	cases := []struct {
		emergency string
		crisis    *string
		want      string
	}{
		{"911", nil, "988"},
		{"", nil, "988"},
		{"112", nil, ""},
		{"112", line("0800 111 0 111"), "0800 111 0 111"},
		{"911", line(""), ""},
	}
	for _, c := range cases {
		s := DefaultSettings()
		s.EmergencyNumber, s.CrisisLine = c.emergency, c.crisis
		if got := s.Crisis(); got != c.want {
			t.Errorf("emergency %q: crisis %q, want %q", c.emergency, got, c.want)
		}
		if got := *s.Effective().CrisisLine; got != c.want {
			t.Errorf("emergency %q: effective %q, want %q", c.emergency, got, c.want)
		}
	}
	s := DefaultSettings()
	s.CrisisLine = line("text HOME")
	if err := s.normalize(); !isField(err, "crisis_line") {
		t.Errorf("crisis line that is no number: %v", err)
	}
	s.CrisisLine, s.AfterHoursPhone = line(" 988 "), "call us"
	if err := s.normalize(); !isField(err, "after_hours_phone") {
		t.Errorf("after-hours line that is no number: %v", err)
	}
	s.AfterHoursPhone = "(555) 201-9999"
	if err := s.normalize(); err != nil || *s.CrisisLine != "988" {
		t.Errorf("good lines: %v %q", err, *s.CrisisLine)
	}
	var it Item
	it.Urgent = []string{"chest_pain"}
	if it.SelfHarm() {
		t.Error("chest pain reads as self-harm")
	}
	it.Urgent = []string{"overdose", "suicide"}
	if !it.SelfHarm() {
		t.Error("suicide wording does not read as self-harm")
	}
}

func isField(err error, field string) bool {
	var ie *InputError
	return errors.As(err, &ie) && ie.Field == field
}

func TestCallResults(t *testing.T) {
	for outcome, want := range map[string]string{
		"No answer": CallNoAnswer, "no answer, will try later": CallNoAnswer, "Didn't answer": CallNoAnswer,
		"did not answer": CallNoAnswer, "Could not reach her": CallNoAnswer, "not reached": CallNoAnswer,
		"Left a voicemail": CallVoicemail, "left a message with her husband": CallVoicemail, "voice mail full? left voicemail": CallVoicemail,
		"Line busy": CallBusy, "Wrong number": CallWrongNumber, "number disconnected": CallWrongNumber,
		"Spoke with the patient": CallReached, "Talked to him, all sorted": CallReached, "patient answered": CallReached,
		"tried": CallOther,
	} {
		if got := CallResult(outcome); got != want {
			t.Errorf("%q: %s, want %s", outcome, got, want)
		}
	}
}

// TestCallAttemptsStatus: a call that reached nobody is the last word until
// staff reply or a call connects, and only those answer the request.
func TestCallAttemptsStatus(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeCallback, Fields: map[string]string{"phone": "555-201-3344"}})
	if err != nil {
		t.Fatal(err)
	}
	id := ack.Item.ID
	step := func(d time.Duration) { ic.clock.t = ic.clock.t.Add(d) }
	step(time.Minute)
	it, err := ic.c.LogAttempt(ctx, ic.front, id, "Left a voicemail")
	if err != nil {
		t.Fatal(err)
	}
	if at, tried := it.CallTried(); !tried || at.Kind != CallVoicemail || it.Answered() || it.FirstReply.IsZero() {
		t.Fatalf("after a voicemail: tried %v kind %q answered %v first reply %v", tried, at.Kind, it.Answered(), it.FirstReply)
	}
	step(time.Minute)
	if it, err = ic.c.LogAttempt(ctx, ic.front, id, "No answer"); err != nil {
		t.Fatal(err)
	}
	if at, tried := it.CallTried(); !tried || at.Result() != CallNoAnswer || it.Answered() {
		t.Fatalf("after no answer: tried %v result %q answered %v", tried, at.Result(), it.Answered())
	}
	step(time.Minute)
	if _, err := ic.c.AddMessage(ctx, ic.front, id, "We tried to reach you twice; when is a good time?", false); err != nil {
		t.Fatal(err)
	}
	items, err := ic.c.PatientItems(ctx, ic.patA)
	if err != nil {
		t.Fatal(err)
	}
	if _, tried := items[0].CallTried(); tried || !items[0].Answered() {
		t.Fatalf("after a reply: tried %v answered %v", tried, items[0].Answered())
	}
	step(time.Minute)
	if it, err = ic.c.LogAttempt(ctx, ic.front, id, "Line busy"); err != nil {
		t.Fatal(err)
	}
	if _, tried := it.CallTried(); !tried {
		t.Fatal("a busy line after the reply is not the last word")
	}
	step(time.Minute)
	if it, err = ic.c.LogAttempt(ctx, ic.front, id, "Spoke with the patient"); err != nil {
		t.Fatal(err)
	}
	if _, tried := it.CallTried(); tried || !it.Answered() {
		t.Fatal("a call that connected does not answer the request")
	}
	// Attempts logged before results were kept are read from their words.
	old := Item{Attempts: []Attempt{{At: ic.clock.t, Outcome: "No answer"}}}
	old.FirstReply = ic.clock.t
	if _, tried := old.CallTried(); !tried || old.Answered() {
		t.Errorf("an old no-answer: tried %v answered %v", tried, old.Answered())
	}
}
