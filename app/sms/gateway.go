package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// GatewayConfig is the clinic's account at an SMS gateway.
type GatewayConfig struct {
	// URL is the gateway's base URL, without the /2010-04-01 part
	// ("https://api.twilio.com").
	URL     string
	Account string
	Token   string // the account's auth token: it signs the webhooks too
	From    string // the clinic's sending number, E.164
	// Client is for tests (a private certificate); nil means one with a 30 s
	// timeout.
	Client *http.Client
}

// Gateway sends texts through an SMS gateway's REST API:
// POST {URL}/2010-04-01/Accounts/{Account}/Messages.json with basic auth and
// the form fields To, From, Body and StatusCallback, answered by JSON
// {"sid", "status"}. Inbound texts and delivery reports come back to the
// clinic's webhook, signed (Sign, VerifySignature, ParseInbound).
type Gateway struct {
	cfg GatewayConfig

	mu    sync.Mutex
	state State
}

var _ Transport = (*Gateway)(nil)

// NewGateway makes a gateway transport. It contacts nothing until Send.
func NewGateway(cfg GatewayConfig) *Gateway {
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Gateway{cfg: cfg, state: state(CodeNotUsed)}
}

// e164 is the shape of a number in E.164.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// gatewayCodes maps the gateway's numeric error codes (the REST shape's
// "code" field) to ours. Any other 4xx is CodeGatewayRefuse.
var gatewayCodes = map[int]Code{
	21211: CodeBadNumber, // invalid To
	21401: CodeBadNumber, // invalid phone number
	21407: CodeBadNumber, // this number is not supported
	21408: CodeBadNumber, // no permission to send to this country
	21612: CodeBadNumber, // cannot route to this number
	21614: CodeNotMobile, // To is not a mobile number
	21610: CodeOptedOut,  // the recipient replied STOP
	21617: CodeTooLong,   // body over 1,600 characters
	21602: CodeEmpty,     // body required
	20003: CodeAuthRefused,
}

// Send posts m to the gateway. A 401 or 403 is permanent (CodeAuthRefused);
// a 5xx, a timeout or an unreachable gateway is retryable (CodeGatewayDown),
// as is a 429 (CodeGatewayBusy); a 4xx naming the number or the text is
// permanent. A retried timeout may send the text twice: the gateway may have
// taken it before the answer was lost.
func (g *Gateway) Send(ctx context.Context, m Message) (string, error) {
	if !e164.MatchString(m.To) {
		return "", sendErr(CodeBadNumber, true, "not E.164")
	}
	if err := checkBody(m.Body); err != nil {
		return "", err
	}
	if g.cfg.URL == "" || g.cfg.Account == "" || g.cfg.Token == "" || g.cfg.From == "" {
		return "", g.failed(sendErr(CodeNotSetUp, true, ""))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	form := url.Values{"To": {m.To}, "From": {g.cfg.From}, "Body": {m.Body}}
	if m.StatusCallback != "" {
		form.Set("StatusCallback", m.StatusCallback)
	}
	endpoint := g.cfg.URL + "/2010-04-01/Accounts/" + url.PathEscape(g.cfg.Account) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", g.failed(sendErr(CodeGatewayRefuse, true, "bad gateway URL"))
	}
	req.SetBasicAuth(g.cfg.Account, g.cfg.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := g.cfg.Client.Do(req)
	if err != nil {
		detail := "unreachable"
		var ne interface{ Timeout() bool }
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			detail = "timeout"
		}
		return "", g.failed(sendErr(CodeGatewayDown, false, detail))
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", g.failed(sendErr(CodeGatewayDown, false, "answer cut short"))
	}
	status := "HTTP " + strconv.Itoa(resp.StatusCode)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		var ans struct {
			SID    string `json:"sid"`
			Status string `json:"status"`
		}
		if json.Unmarshal(body, &ans) != nil || !safeSID(ans.SID) {
			// The gateway took the text but gave no id to follow it by:
			// it is not retried, so it cannot go twice.
			return "", g.failed(sendErr(CodeGatewayRefuse, true, status+" without a message id"))
		}
		g.set(state(CodeReady))
		return ans.SID, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", g.failed(sendErr(CodeAuthRefused, true, status))
	case resp.StatusCode == http.StatusTooManyRequests:
		return "", g.failed(sendErr(CodeGatewayBusy, false, status))
	case resp.StatusCode >= 500:
		return "", g.failed(sendErr(CodeGatewayDown, false, status))
	default:
		// The gateway's "message" may quote the number: only its code is read.
		var ans struct {
			Code int `json:"code"`
		}
		_ = json.Unmarshal(body, &ans)
		c, ok := gatewayCodes[ans.Code]
		if !ok {
			c = CodeGatewayRefuse
		}
		if ans.Code != 0 {
			status += ", code " + strconv.Itoa(ans.Code)
		}
		return "", g.failed(sendErr(c, true, status))
	}
}

// failed records what a failure says of the gateway itself (not of one
// number) in its State.
func (g *Gateway) failed(e *SendError) *SendError {
	switch e.Code {
	case CodeAuthRefused, CodeGatewayDown, CodeGatewayBusy, CodeNotSetUp:
		g.set(state(e.Code))
	}
	return e
}

func (g *Gateway) set(s State) {
	g.mu.Lock()
	g.state = s
	g.mu.Unlock()
}

// State is what the last send said of the gateway: CodeNotUsed before any,
// CodeReady after a success, CodeAuthRefused, CodeGatewayDown,
// CodeGatewayBusy or CodeNotSetUp after such a failure. A failure that is
// about one number or one text leaves it as it was.
func (g *Gateway) State() State {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// Close does nothing: the gateway holds no connection of its own.
func (g *Gateway) Close() error { return nil }

// SignatureHeader is the header a gateway signs its webhooks in.
const SignatureHeader = "X-Twilio-Signature"

// Sign answers a webhook's signature: base64 of HMAC-SHA1 keyed with token
// over fullURL (the public URL the gateway posted to, query included)
// followed by every form parameter sorted by name, each name followed
// directly by its value (a name given twice: its values sorted).
func Sign(token, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(token))
	_, _ = io.WriteString(mac, fullURL)
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		vs := slices.Clone(form[k])
		slices.Sort(vs)
		for _, v := range vs {
			_, _ = io.WriteString(mac, k)
			_, _ = io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether sig is the signature of the webhook, in
// constant time. An empty token or signature never verifies.
func VerifySignature(token, fullURL string, form url.Values, sig string) bool {
	if token == "" || sig == "" {
		return false
	}
	return hmac.Equal([]byte(Sign(token, fullURL, form)), []byte(sig))
}

// ErrBadWebhook is ParseInbound's answer for a form that is not a text or a
// delivery report.
var ErrBadWebhook = errors.New("sms: the webhook is not a text or a delivery report")

// ParseInbound reads a verified webhook's form: From, To, Body, MessageSid
// (or SmsSid) and, for a delivery report, MessageStatus. A body longer than
// MaxInbound characters is cut there. A status of "received" or "receiving"
// is a text, not a report.
func ParseInbound(form url.Values) (Inbound, error) {
	in := Inbound{
		From:   form.Get("From"),
		To:     form.Get("To"),
		Body:   form.Get("Body"),
		SID:    form.Get("MessageSid"),
		Status: strings.ToLower(form.Get("MessageStatus")),
	}
	if in.SID == "" {
		in.SID = form.Get("SmsSid")
	}
	if !safeSID(in.SID) {
		return Inbound{}, ErrBadWebhook
	}
	if in.Status == "received" || in.Status == "receiving" {
		in.Status = ""
	}
	if in.Status == "" && in.From == "" {
		return Inbound{}, ErrBadWebhook
	}
	if utf8.RuneCountInString(in.Body) > MaxInbound {
		in.Body = string([]rune(in.Body)[:MaxInbound])
	}
	return in, nil
}

// safeSID reports whether a message id is fit to be a store key: short,
// and letters, digits, '-' and '_' only.
func safeSID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
