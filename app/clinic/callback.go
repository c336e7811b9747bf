package clinic

import (
	"context"
	"strings"

	"hearth/app/store"
)

// What a call-back try came to, as the patient is told it. Staff write the
// outcome in their own words (the console offers the usual ones); the
// result is read from those words once, when the try is logged.
const (
	CallReached     = "reached"      // the call connected: someone spoke with the patient
	CallVoicemail   = "voicemail"    // a voicemail or message was left
	CallNoAnswer    = "no_answer"    // nobody picked up
	CallBusy        = "busy"         // the line was busy
	CallWrongNumber = "wrong_number" // the number did not reach the patient
	CallOther       = "other"        // words Hearth does not know: a try, nothing more
)

// CallResults are the results an attempt can have, for the patient's words.
var CallResults = []string{CallReached, CallVoicemail, CallNoAnswer, CallBusy, CallWrongNumber, CallOther}

// callWords map phrases of an outcome (folded as triage folds text) to a
// result, tried in order: the ones that say a call did not connect come
// before the ones that say it did, so "not reached" is no answer.
var callWords = []struct{ result, phrase string }{
	{CallVoicemail, " voicemail "}, {CallVoicemail, " voice mail "}, {CallVoicemail, " left a message "},
	{CallVoicemail, " left message "}, {CallVoicemail, " left a voice "}, {CallVoicemail, " answering machine "},
	{CallWrongNumber, " wrong number "}, {CallWrongNumber, " not in service "}, {CallWrongNumber, " disconnected "},
	{CallWrongNumber, " invalid number "},
	{CallBusy, " busy "}, {CallBusy, " engaged "},
	{CallNoAnswer, " no answer "}, {CallNoAnswer, " not answer"}, {CallNoAnswer, " didnt answer "},
	{CallNoAnswer, " unanswered "}, {CallNoAnswer, " no reply "}, {CallNoAnswer, " no response "},
	{CallNoAnswer, " not reached "}, {CallNoAnswer, " couldnt reach "}, {CallNoAnswer, " could not reach "},
	{CallNoAnswer, " not pick"}, {CallNoAnswer, " didnt pick "}, {CallNoAnswer, " no pickup "},
	{CallReached, " spoke "}, {CallReached, " spoken "}, {CallReached, " talked "}, {CallReached, " reached "},
	{CallReached, " connected "}, {CallReached, " answered "}, {CallReached, " speak with "},
}

// CallResult reads a logged outcome ("No answer", "Left a voicemail",
// "Spoke with the patient") as one of CallResults.
func CallResult(outcome string) string {
	s := foldText(outcome)
	for _, w := range callWords {
		if strings.Contains(s, w.phrase) {
			return w.result
		}
	}
	return CallOther
}

// Result is what the try came to (read from its words when it was logged
// before results were kept).
func (at Attempt) Result() string {
	if at.Kind != "" {
		return at.Kind
	}
	return CallResult(at.Outcome)
}

// CallTried reports whether the last word on an item is a call that did
// not connect: its last attempt came after any staff reply and reached
// nobody. The patient's status then says so, never "answered".
func (it Item) CallTried() (Attempt, bool) {
	if len(it.Attempts) == 0 {
		return Attempt{}, false
	}
	last := it.Attempts[len(it.Attempts)-1]
	if last.Result() == CallReached {
		return last, false
	}
	replied := it.StaffReplied
	if replied.IsZero() && !it.FirstReply.IsZero() && it.FirstReply.Before(it.Attempts[0].At) {
		replied = it.FirstReply // a reply written before results were kept
	}
	if replied.After(last.At) {
		return last, false
	}
	return last, true
}

// Answered reports whether a person has answered the request: a staff
// reply, or a call that connected. A call nobody picked up is not an
// answer.
func (it Item) Answered() bool {
	if !it.StaffReplied.IsZero() {
		return true
	}
	for _, at := range it.Attempts {
		if at.Result() == CallReached {
			return true
		}
	}
	if it.FirstReply.IsZero() {
		return false
	}
	// Before StaffReplied was kept, FirstReply was a reply or the first
	// call try, whichever came first.
	return len(it.Attempts) == 0 || it.FirstReply.Before(it.Attempts[0].At)
}

// LogAttempt records a call-back try; the patient sees each attempt and
// what it came to.
func (c *Clinic) LogAttempt(ctx context.Context, a Actor, id, outcome string) (Item, error) {
	outcome, err := cleanBody("outcome", outcome, true)
	if err != nil {
		return Item{}, inputErr("outcome", "Say how the call went, for example: no answer, left a message.")
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, id); return err }); err != nil {
		return Item{}, err
	}
	if err := c.mayOpen(ctx, a, m); err != nil {
		return Item{}, err
	}
	if m.Type != TypeCallback {
		return Item{}, inputErr("outcome", "Call attempts are for call-back requests.")
	}
	st, err := c.staffCached(ctx, a.ID)
	if err != nil {
		return Item{}, err
	}
	return c.systemChange(ctx, a, id, "item.call_attempt", func(it *Item) (string, error) {
		now := c.now().UTC()
		it.Attempts = append(it.Attempts, Attempt{At: now, StaffID: st.ID, Name: st.SignedName(), Outcome: outcome, Kind: CallResult(outcome)})
		if it.FirstReply.IsZero() {
			it.FirstReply = now // the staff's first response, for the reply-time figures
		}
		if it.Status == StatusNew {
			it.Status = StatusOpen
		}
		return "call_attempt", nil
	})
}
