// Package smstest holds test doubles for app/sms that speak the real
// protocols: an SMS gateway on a local HTTP(S) server answering the REST
// shape (and signing the webhooks it posts back), and a GSM modem simulated
// on a pseudo-terminal that answers the AT conversation in PDU mode. Tests
// of every layer use them; nothing here is compiled into Hearth.
package smstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"hearth/app/sms"
)

// Mode is how the simulated gateway answers a send.
type Mode int

const (
	// Accept takes the text: 201 with {"sid", "status": "queued"}.
	Accept Mode = iota
	// Unauthorized answers 401 with the gateway's code 20003, as for a wrong
	// account or token.
	Unauthorized
	// ServerError answers 500.
	ServerError
	// Hang never answers: the client must give up on its own deadline.
	Hang
	// BadNumber answers 400 with code 21211 ("invalid To").
	BadNumber
)

// Sent is one text the gateway accepted.
type Sent struct {
	SID, To, From, Body, StatusCallback string
}

// Gateway is a running simulated SMS gateway.
type Gateway struct {
	// URL is the base URL to set as the gateway URL (GatewayConfig.URL).
	URL string
	// Account, Token and From are the credentials and sending number it
	// accepts: anything else gets a 401 (or, for From, a 400).
	Account, Token, From string
	// Client trusts the server's certificate (for NewGateway).
	Client *http.Client
	// HookClient posts the delivery reports (Report); nil means
	// http.DefaultClient. Set it when the hook is served over HTTPS with a
	// test certificate.
	HookClient *http.Client

	srv  *httptest.Server
	stop chan struct{}

	mu       sync.Mutex
	mode     Mode
	attempts int
	sent     []Sent
}

// NewGateway starts a gateway over HTTPS with a certificate only its Client
// (and Config's) trusts.
func NewGateway(t testing.TB) *Gateway { return start(t, true) }

// NewGatewayPlain starts one over plain HTTP, for a test that runs the
// hearth binary, which trusts only the system's certificates.
func NewGatewayPlain(t testing.TB) *Gateway { return start(t, false) }

func start(t testing.TB, tls bool) *Gateway {
	g := &Gateway{
		Account: "AC" + randomHex(t, 16),
		Token:   randomHex(t, 16),
		From:    "+15005550006",
		stop:    make(chan struct{}),
	}
	h := http.HandlerFunc(g.serve)
	if tls {
		g.srv = httptest.NewTLSServer(h)
	} else {
		g.srv = httptest.NewServer(h)
	}
	g.URL = g.srv.URL
	g.Client = g.srv.Client()
	g.Client.Timeout = 10 * time.Second
	t.Cleanup(func() {
		close(g.stop)
		g.srv.Close()
	})
	return g
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Config is a GatewayConfig that reaches this gateway with the right
// credentials.
func (g *Gateway) Config() sms.GatewayConfig {
	return sms.GatewayConfig{URL: g.URL, Account: g.Account, Token: g.Token, From: g.From, Client: g.Client}
}

// Answer sets how the following sends are answered.
func (g *Gateway) Answer(m Mode) {
	g.mu.Lock()
	g.mode = m
	g.mu.Unlock()
}

// Sent answers the texts accepted so far, in order.
func (g *Gateway) Sent() []Sent {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Sent(nil), g.sent...)
}

// Attempts answers how many sends reached the gateway, refused ones
// included.
func (g *Gateway) Attempts() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.attempts
}

// WaitSent waits up to ten seconds for at least n accepted texts and answers
// them all; it fails the test if they do not come.
func (g *Gateway) WaitSent(t testing.TB, n int) []Sent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := g.Sent()
		if len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("smstest: the gateway got %d texts, want %d", len(s), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	want := "/2010-04-01/Accounts/" + g.Account + "/Messages.json"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/2010-04-01/Accounts/") || !strings.HasSuffix(r.URL.Path, "/Messages.json") {
		answer(w, http.StatusNotFound, map[string]any{"code": 20404, "message": "The requested resource was not found", "status": 404})
		return
	}
	g.mu.Lock()
	g.attempts++
	mode := g.mode
	g.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if mode == Unauthorized || !ok || user != g.Account || pass != g.Token || r.URL.Path != want {
		answer(w, http.StatusUnauthorized, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
		return
	}
	switch mode {
	case ServerError:
		answer(w, http.StatusInternalServerError, map[string]any{"code": 20500, "message": "Internal Server Error", "status": 500})
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-g.stop:
		}
		return
	}
	if err := r.ParseForm(); err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"code": 21600, "message": "bad form", "status": 400})
		return
	}
	s := Sent{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body"), StatusCallback: r.PostForm.Get("StatusCallback")}
	switch {
	case mode == BadNumber || !strings.HasPrefix(s.To, "+"):
		answer(w, http.StatusBadRequest, map[string]any{"code": 21211, "message": "The 'To' number " + s.To + " is not a valid phone number.", "status": 400})
		return
	case s.From != g.From:
		answer(w, http.StatusBadRequest, map[string]any{"code": 21212, "message": "Invalid From Number", "status": 400})
		return
	case s.Body == "":
		answer(w, http.StatusBadRequest, map[string]any{"code": 21602, "message": "Message body is required.", "status": 400})
		return
	case len([]rune(s.Body)) > 1600:
		answer(w, http.StatusBadRequest, map[string]any{"code": 21617, "message": "The concatenated message body exceeds the 1600 character limit.", "status": 400})
		return
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id) // crypto/rand.Read never fails (Go 1.24)
	s.SID = "SM" + hex.EncodeToString(id)
	g.mu.Lock()
	g.sent = append(g.sent, s)
	g.mu.Unlock()
	answer(w, http.StatusCreated, map[string]any{
		"sid": s.SID, "account_sid": g.Account, "to": s.To, "from": s.From, "body": s.Body,
		"status": "queued", "num_segments": "1", "direction": "outbound-api",
	})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Report posts a signed delivery report for the accepted text sid to the
// StatusCallback it was sent with, as the gateway does: MessageSid,
// MessageStatus, From, To, AccountSid. It answers the hook's HTTP status.
func (g *Gateway) Report(sid, status string) (int, error) {
	for _, s := range g.Sent() {
		if s.SID != sid {
			continue
		}
		if s.StatusCallback == "" {
			return 0, fmt.Errorf("smstest: text %s had no StatusCallback", sid)
		}
		form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
			"From": {s.From}, "To": {s.To}, "AccountSid": {g.Account}, "ApiVersion": {"2010-04-01"}}
		return Hook{URL: s.StatusCallback, Token: g.Token, Client: g.HookClient}.Post(form)
	}
	return 0, fmt.Errorf("smstest: no text %s was sent", sid)
}

// Hook answers a Hook that posts to hookURL signed with this gateway's
// token over publicURL ("" for hookURL itself), with HookClient.
func (g *Gateway) Hook(hookURL, publicURL string) Hook {
	return Hook{URL: hookURL, PublicURL: publicURL, Token: g.Token, Client: g.HookClient}
}

// Hook posts what a gateway posts to the clinic's webhook.
type Hook struct {
	URL string // where to post
	// PublicURL is the URL the signature covers (the clinic's public URL
	// and the hook's path), when it is not URL: behind a proxy, or in a test
	// whose public_url names another host. "" means URL.
	PublicURL string
	Token     string
	Client    *http.Client // nil: http.DefaultClient
}

// Text posts a signed inbound text, as the gateway does for a text to the
// clinic's number, and answers the hook's HTTP status.
func (h Hook) Text(from, to, body, sid string) (int, error) {
	return h.Post(url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "From": {from}, "To": {to},
		"Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}})
}

// Report posts a signed delivery report.
func (h Hook) Report(sid, status string) (int, error) {
	return h.Post(url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status}, "ApiVersion": {"2010-04-01"}})
}

// Post posts form signed with the hook's token.
func (h Hook) Post(form url.Values) (int, error) {
	signed := h.PublicURL
	if signed == "" {
		signed = h.URL
	}
	return h.PostWithSignature(form, sms.Sign(h.Token, signed, form))
}

// PostWithSignature posts form with sig in the signature header ("" for
// none): for forged and unsigned webhooks.
func (h Hook) PostWithSignature(form url.Values, sig string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, h.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	if sig != "" {
		req.Header.Set(sms.SignatureHeader, sig)
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return resp.StatusCode, err
}

// PostSigned posts form to hookURL signed with token over hookURL itself.
func PostSigned(hookURL, token string, form url.Values) (int, error) {
	return Hook{URL: hookURL, Token: token}.Post(form)
}
