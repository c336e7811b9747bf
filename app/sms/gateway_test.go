package sms_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hearth/app/sms"
	"hearth/app/sms/smstest"
)

func TestGatewaySend(t *testing.T) {
	gw := smstest.NewGateway(t)
	g := sms.NewGateway(gw.Config())
	if s := g.State(); !s.OK || s.Code != sms.CodeNotUsed {
		t.Fatalf("state before any send = %+v", s)
	}
	body := "Clínica Sol: tiene un mensaje. https://clinic.example/m 😀"
	sid, err := g.Send(context.Background(), sms.Message{To: "+34612345678", Body: body, StatusCallback: "https://clinic.example/hooks/sms/gateway"})
	if err != nil {
		t.Fatal(err)
	}
	sent := gw.Sent()
	if len(sent) != 1 {
		t.Fatalf("the gateway got %d texts", len(sent))
	}
	want := smstest.Sent{SID: sid, To: "+34612345678", From: gw.From, Body: body, StatusCallback: "https://clinic.example/hooks/sms/gateway"}
	if sent[0] != want {
		t.Fatalf("the gateway got %+v, want %+v", sent[0], want)
	}
	if !strings.HasPrefix(sid, "SM") || len(sid) != 34 {
		t.Fatalf("sid %q", sid)
	}
	if s := g.State(); !s.OK || s.Code != sms.CodeReady || s.Words != "ready" {
		t.Fatalf("state after a send = %+v", s)
	}
}

// TestGatewayFailures: each way a gateway fails is classified so the outbox
// knows whether to retry, the gateway's State says it in words, and no
// error repeats the number or the text.
func TestGatewayFailures(t *testing.T) {
	const to, body = "+15551234567", "canary-body-Gertrudis"
	cases := []struct {
		name      string
		mode      smstest.Mode
		cfg       func(*sms.GatewayConfig)
		code      sms.Code
		permanent bool
		state     sms.Code
		words     string
	}{
		{name: "wrong token", cfg: func(c *sms.GatewayConfig) { c.Token = "wrong" }, code: sms.CodeAuthRefused, permanent: true, state: sms.CodeAuthRefused, words: "gateway refused the account or token"},
		{name: "401", mode: smstest.Unauthorized, code: sms.CodeAuthRefused, permanent: true, state: sms.CodeAuthRefused},
		{name: "500", mode: smstest.ServerError, code: sms.CodeGatewayDown, state: sms.CodeGatewayDown},
		{name: "hang", mode: smstest.Hang, cfg: func(c *sms.GatewayConfig) { c.Client.Timeout = 300 * time.Millisecond }, code: sms.CodeGatewayDown, state: sms.CodeGatewayDown},
		{name: "invalid number", mode: smstest.BadNumber, code: sms.CodeBadNumber, permanent: true, state: sms.CodeNotUsed},
		{name: "not set up", cfg: func(c *sms.GatewayConfig) { c.Token = "" }, code: sms.CodeNotSetUp, permanent: true, state: sms.CodeNotSetUp},
		{name: "wrong sending number", cfg: func(c *sms.GatewayConfig) { c.From = "+15005550001" }, code: sms.CodeGatewayRefuse, permanent: true, state: sms.CodeNotUsed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gw := smstest.NewGateway(t)
			gw.Answer(c.mode)
			cfg := gw.Config()
			if c.cfg != nil {
				cfg.Client = &http.Client{Transport: cfg.Client.Transport}
				c.cfg(&cfg)
			}
			g := sms.NewGateway(cfg)
			_, err := g.Send(context.Background(), sms.Message{To: to, Body: body})
			var se *sms.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SendError", err)
			}
			if se.Code != c.code || errors.Is(err, sms.ErrPermanent) != c.permanent || sms.CodeOf(err) != c.code {
				t.Fatalf("error %v: code %q permanent %v, want %q %v", err, se.Code, errors.Is(err, sms.ErrPermanent), c.code, c.permanent)
			}
			if strings.Contains(err.Error(), "5551234567") || strings.Contains(err.Error(), "Gertrudis") {
				t.Fatalf("the error %q holds the number or the text", err)
			}
			s := g.State()
			if s.Code != c.state || s.OK != (c.state == sms.CodeNotUsed) {
				t.Fatalf("state %+v, want %q", s, c.state)
			}
			if c.words != "" && s.Words != c.words {
				t.Fatalf("state words %q, want %q", s.Words, c.words)
			}
			attempts := 1
			if c.code == sms.CodeNotSetUp {
				attempts = 0
			}
			if len(gw.Sent()) != 0 || gw.Attempts() != attempts {
				t.Fatalf("the gateway kept %d texts after %d attempts", len(gw.Sent()), gw.Attempts())
			}
		})
	}
}

// TestGatewayRefusesBeforeSending: what no gateway could send is refused
// without a request.
func TestGatewayRefusesBeforeSending(t *testing.T) {
	gw := smstest.NewGateway(t)
	g := sms.NewGateway(gw.Config())
	for _, c := range []struct {
		m    sms.Message
		code sms.Code
	}{
		{sms.Message{To: "5551234567", Body: "hi"}, sms.CodeBadNumber},
		{sms.Message{To: "+15551234567", Body: ""}, sms.CodeEmpty},
		{sms.Message{To: "+15551234567", Body: strings.Repeat("a", 153*sms.MaxSegments+1)}, sms.CodeTooLong},
	} {
		if _, err := g.Send(context.Background(), c.m); sms.CodeOf(err) != c.code || !errors.Is(err, sms.ErrPermanent) {
			t.Errorf("send %.20q: %v, want %q", c.m.Body, err, c.code)
		}
	}
	if _, err := g.Send(context.Background(), sms.Message{To: "+15551234567", Body: strings.Repeat("a", 153*sms.MaxSegments)}); err != nil {
		t.Fatalf("ten full parts: %v", err)
	}
	if gw.Attempts() != 1 {
		t.Fatalf("the gateway saw %d attempts, want only the one that fits", gw.Attempts())
	}
}

// The example Twilio's own libraries test their validator with
// (twilio-python tests/unit/test_request_validator.py).
var (
	twilioToken  = "12345"
	twilioURL    = "https://mycompany.com/myapp.php?foo=1&bar=2"
	twilioParams = url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
		"Caller":  {"+14158675309"},
	}
)

func TestSignVectors(t *testing.T) {
	if got := sms.Sign(twilioToken, twilioURL, twilioParams); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Errorf("the documented example signs as %q", got)
	}
	// A name given twice: its values in order (the same library's test).
	dup := url.Values{"Sid": {"CA123"}, "SidAccount": {"AC123"}, "Digits": {"5678", "1234"}}
	if got := sms.Sign(twilioToken, twilioURL, dup); got != "IK+Dwps556ElfBT0I3Rgjkr1wJU=" {
		t.Errorf("the duplicate-name example signs as %q", got)
	}
	// And one computed here from the rule in DESIGN.md, with a Spanish body.
	form := url.Values{"To": {"+15005550006"}, "From": {"+5215512345678"}, "Body": {"Sí, confirmo ñ"}, "MessageSid": {"SM1"}}
	mac := hmac.New(sha1.New, []byte("tok"))
	mac.Write([]byte("https://clinic.example/hooks/sms/gateway" + "BodySí, confirmo ñ" + "From+5215512345678" + "MessageSidSM1" + "To+15005550006"))
	if want, got := base64.StdEncoding.EncodeToString(mac.Sum(nil)), sms.Sign("tok", "https://clinic.example/hooks/sms/gateway", form); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	sig := "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	if !sms.VerifySignature(twilioToken, twilioURL, twilioParams, sig) {
		t.Fatal("the documented example does not verify")
	}
	tampered := url.Values{}
	for k, v := range twilioParams {
		tampered[k] = v
	}
	tampered.Set("Digits", "9999")
	extra := url.Values{"Extra": {""}}
	for k, v := range twilioParams {
		extra[k] = v
	}
	for name, ok := range map[string]bool{
		"tampered value": sms.VerifySignature(twilioToken, twilioURL, tampered, sig),
		"added field":    sms.VerifySignature(twilioToken, twilioURL, extra, sig),
		"other token":    sms.VerifySignature("12346", twilioURL, twilioParams, sig),
		"other URL":      sms.VerifySignature(twilioToken, "https://mycompany.com/myapp.php?foo=1&bar=3", twilioParams, sig),
		"no signature":   sms.VerifySignature(twilioToken, twilioURL, twilioParams, ""),
		"no token":       sms.VerifySignature("", twilioURL, twilioParams, sms.Sign("", twilioURL, twilioParams)),
		"garbage":        sms.VerifySignature(twilioToken, twilioURL, twilioParams, "not base64 at all"),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
}

// TestHookPostsSigned: the double's webhook posts verify with the real
// check, over the public URL when one is given, and a forged one does not.
func TestHookPostsSigned(t *testing.T) {
	type got struct {
		ok bool
		in sms.Inbound
	}
	gotc := make(chan got, 4)
	const public = "https://clinic.example/hooks/sms/gateway"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		ok := sms.VerifySignature("tok", public, r.PostForm, r.Header.Get(sms.SignatureHeader))
		in, err := sms.ParseInbound(r.PostForm)
		if err != nil {
			t.Error(err)
		}
		gotc <- got{ok, in}
		if !ok {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	h := smstest.Hook{URL: srv.URL, PublicURL: public, Token: "tok"}
	long := strings.Repeat("é", sms.MaxInbound+50)
	if code, err := h.Text("+15551234567", "+15005550006", long, "SMa1"); err != nil || code != 200 {
		t.Fatalf("text: %d %v", code, err)
	}
	g := <-gotc
	if !g.ok || g.in.From != "+15551234567" || g.in.SID != "SMa1" || g.in.Status != "" || g.in.Body != strings.Repeat("é", sms.MaxInbound) {
		t.Fatalf("text arrived as ok=%v %+v", g.ok, g.in.SID)
	}
	if code, err := h.Report("SMa1", "delivered"); err != nil || code != 200 {
		t.Fatalf("report: %d %v", code, err)
	}
	if g = <-gotc; !g.ok || g.in.Status != "delivered" || g.in.SID != "SMa1" {
		t.Fatalf("report arrived as %+v", g)
	}
	forged := smstest.Hook{URL: srv.URL, PublicURL: public, Token: "not-the-token"}
	if code, err := forged.Text("+15551234567", "+15005550006", "hola", "SMa2"); err != nil || code != http.StatusForbidden {
		t.Fatalf("forged: %d %v", code, err)
	}
	if g = <-gotc; g.ok {
		t.Fatal("a forged text verified")
	}
	if _, err := sms.ParseInbound(url.Values{"From": {"+15551234567"}, "MessageSid": {"../etc"}}); !errors.Is(err, sms.ErrBadWebhook) {
		t.Fatalf("a sid with a slash parsed: %v", err)
	}
}

// TestGatewayReport: the simulated gateway posts a signed delivery report
// to the StatusCallback a text was sent with.
func TestGatewayReport(t *testing.T) {
	gw := smstest.NewGateway(t)
	reports := make(chan sms.Inbound, 1)
	var hook *httptest.Server
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if !sms.VerifySignature(gw.Token, hook.URL+"/hooks/sms/gateway", r.PostForm, r.Header.Get(sms.SignatureHeader)) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		in, err := sms.ParseInbound(r.PostForm)
		if err != nil {
			t.Error(err)
		}
		reports <- in
	}))
	defer hook.Close()
	g := sms.NewGateway(gw.Config())
	sid, err := g.Send(context.Background(), sms.Message{To: "+15551234567", Body: "hi", StatusCallback: hook.URL + "/hooks/sms/gateway"})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := gw.Report(sid, "delivered"); err != nil || code != 200 {
		t.Fatalf("report: %d %v", code, err)
	}
	if in := <-reports; in.SID != sid || in.Status != "delivered" || in.To != "+15551234567" {
		t.Fatalf("report %+v", in)
	}
}
