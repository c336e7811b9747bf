// Package sms sends and receives text messages for the clinic: through an
// SMS gateway over HTTPS (the REST shape most providers offer or copy, with
// signed webhooks), or through a USB GSM modem with a SIM card spoken to in
// AT commands, and it turns phone numbers into E.164.
//
// It knows nothing of the clinic, its patients or its outbox: it is handed a
// number and a text and answers a message id, or an error in plain words
// that says whether retrying can help (ErrPermanent). It must never put a
// phone number or a message's text into an error, a log line or a State:
// those reach the owner's screens and the logs, which hold no PHI.
package sms

import (
	"context"
	"errors"
	"slices"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

// Message is one text to send.
type Message struct {
	To   string // the patient's number, in E.164 (+15551234567)
	Body string
	// StatusCallback is the URL the gateway posts delivery reports to (the
	// public URL of /hooks/sms/gateway); empty for none. The modem ignores it.
	StatusCallback string
}

// Inbound is a text that arrived, or a delivery report for one that left.
type Inbound struct {
	// From and To are in E.164 as a gateway gives them. A modem gives what
	// the network sent: E.164 for an international number, digits without
	// the + for a national one, a name for an alphanumeric sender; run
	// Normalize with the clinic's country before comparing.
	From, To string
	Body     string
	// SID is the message's id: the gateway's MessageSid, or for the modem
	// "modem-" and a hash of the sender, the network's time stamp (to the
	// second) and the parts, so a text the modem hands over twice (after a
	// crash before it was deleted) carries the same SID. For a delivery
	// report it is the SID Send answered.
	SID string
	// Status is set for delivery reports ("delivered", "failed",
	// "undelivered", "sent", ...) and empty for texts.
	Status string
}

// Transport sends texts. Both transports are safe for concurrent use.
type Transport interface {
	// Send hands m to the network and answers the message id. An error is a
	// *SendError; errors.Is(err, ErrPermanent) says retrying cannot help.
	Send(ctx context.Context, m Message) (sid string, err error)
	// State says in plain words whether the transport can send now.
	State() State
	Close() error
}

// State is a transport's condition, for Settings → Text messages and the
// outbox view.
type State struct {
	OK bool
	// Code is stable (one of the Code constants): the screens look their
	// words up in the message catalogue by it (sms.state.<code>).
	Code Code
	// Words is the same in plain English, for logs and the command line.
	Words string
}

// Code names a transport state or a send failure. The values are stable:
// they are keys of the message catalogue and may be stored.
type Code string

// The codes. "Retry" says whether a send that failed so may succeed later.
const (
	CodeReady         Code = "ready"           // can send
	CodeNotUsed       Code = "not_used"        // gateway: nothing sent yet, so the account is not proven
	CodeNoModem       Code = "no_modem"        // modem not found (unplugged, wrong device); retry
	CodeNoSIM         Code = "no_sim"          // retry (once a SIM is in)
	CodePINLocked     Code = "pin_locked"      // SIM asks for its PIN; retry
	CodeNoSignal      Code = "no_signal"       // retry
	CodeModemError    Code = "modem_error"     // the modem refused the command; retry
	CodeAuthRefused   Code = "auth_refused"    // gateway refused the account or token; permanent
	CodeGatewayDown   Code = "gateway_down"    // 5xx, timeout, unreachable; retry
	CodeGatewayBusy   Code = "gateway_busy"    // 429; retry
	CodeGatewayRefuse Code = "gateway_refused" // other 4xx; permanent
	CodeBadNumber     Code = "bad_number"      // not a number anyone can text; permanent
	CodeNotMobile     Code = "not_mobile"      // gateway says it is a landline; permanent
	CodeOptedOut      Code = "opted_out"       // the number replied STOP at the gateway; permanent
	CodeTooLong       Code = "too_long"        // over MaxSegments; permanent
	CodeEmpty         Code = "empty"           // no text; permanent
	CodeClosed        Code = "closed"          // the transport was closed; retry
	CodeNotSetUp      Code = "not_set_up"      // gateway URL, account, token or number missing; permanent
)

// Codes answers every Code, for a test that each has its words in the
// message catalogue.
func Codes() []Code {
	cs := make([]Code, 0, len(words))
	for c := range words {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	return cs
}

// words is each code in plain English.
var words = map[Code]string{
	CodeReady:         "ready",
	CodeNotUsed:       "ready, nothing sent yet",
	CodeNoModem:       "modem not found",
	CodeNoSIM:         "no SIM",
	CodePINLocked:     "SIM PIN locked",
	CodeNoSignal:      "no signal",
	CodeModemError:    "the modem refused the text",
	CodeAuthRefused:   "gateway refused the account or token",
	CodeGatewayDown:   "gateway did not answer",
	CodeGatewayBusy:   "gateway is busy",
	CodeGatewayRefuse: "gateway refused the message",
	CodeBadNumber:     "not a number that can get texts",
	CodeNotMobile:     "not a mobile number",
	CodeOptedOut:      "the number asked for no more texts",
	CodeTooLong:       "too long for ten text messages",
	CodeEmpty:         "the text is empty",
	CodeClosed:        "text messages are switched off",
	CodeNotSetUp:      "text messages are not set up",
}

// Words is the code in plain English.
func (c Code) Words() string {
	if w, ok := words[c]; ok {
		return w
	}
	return string(c)
}

func state(c Code) State {
	return State{OK: c == CodeReady || c == CodeNotUsed, Code: c, Words: c.Words()}
}

// ErrPermanent is wrapped by every send error that retrying cannot cure: the
// account or token refused, a number that cannot get texts, a text too long.
var ErrPermanent = errors.New("sms: retrying cannot help")

// SendError is why a text did not go. It holds no number and no text.
type SendError struct {
	Code      Code
	Permanent bool
	// Detail is a safe detail for logs: an HTTP status, a gateway's error
	// code, a modem's error name. Never a number or text.
	Detail string
}

func (e *SendError) Error() string {
	s := "sms: " + e.Code.Words()
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrPermanent) true for a permanent failure.
func (e *SendError) Is(target error) bool { return target == ErrPermanent && e.Permanent }

func sendErr(c Code, permanent bool, detail string) *SendError {
	return &SendError{Code: c, Permanent: permanent, Detail: detail}
}

// CodeOf answers the code of a send error ("" for nil, CodeModemError for
// one that is not a *SendError).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Code
	}
	return CodeModemError
}

// MaxSegments is the most parts a text may be split into; a longer one is
// refused (CodeTooLong) before any transport is touched.
const MaxSegments = 10

// MaxInbound is the most characters of an inbound text kept; the gateway's
// own limit is 1,600.
const MaxInbound = 1600

// Segments answers how many SMS parts body needs and whether it must go as
// UCS-2 (it holds a character outside the GSM 7-bit alphabet and its
// extension table, such as á, í, ó, ú or an emoji). GSM-7 fits 160
// characters in one part and 153 in each part of a longer text (extension
// characters such as € count twice); UCS-2 fits 70 UTF-16 units, and 67 per
// part. It splits exactly as the modem does, which is what gateways count.
func Segments(body string) (n int, ucs2 bool) {
	if body == "" {
		return 0, false
	}
	pdus, err := sms.Encode([]byte(body), sms.To("1"))
	if err != nil || len(pdus) == 0 {
		// The encoder refuses nothing it is given as UTF-8; treat anything
		// it did refuse as too long to send.
		return MaxSegments + 1, true
	}
	a, _ := pdus[0].Alphabet()
	return len(pdus), a == tpdu.AlphaUCS2
}

// checkBody refuses what no transport can send.
func checkBody(body string) error {
	if body == "" {
		return sendErr(CodeEmpty, true, "")
	}
	if n, _ := Segments(body); n > MaxSegments {
		return sendErr(CodeTooLong, true, "")
	}
	return nil
}
