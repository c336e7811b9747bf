package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"hearth/app/clinic"
	"hearth/app/sms"
	"hearth/app/sms/smstest"
)

// textEnv is a server whose clinic texts through a simulated gateway, with
// its public address set to the test server's, so the gateway's
// signatures cover the address the hook really has.
func textEnv(t *testing.T) (*env, *user, *smstest.Gateway) {
	t.Helper()
	e := newEnv(t)
	g := smstest.NewGateway(t)
	o := e.owner()
	r := o.req("PUT", "/api/v1/settings", map[string]any{"public_url": e.srv.URL,
		"sms": map[string]string{"transport": "gateway", "gateway_url": g.URL, "account": g.Account, "token": g.Token, "from": g.From}})
	if r.code != 200 {
		t.Fatalf("saving the text settings: %d %s", r.code, r.body)
	}
	if strings.Contains(r.body, g.Token) || !strings.Contains(r.body, `"sms_token_set":true`) {
		t.Fatalf("the settings answer shows the token, or not that it is set: %s", r.body)
	}
	return e, o, g
}

func unverifiedItems(t *testing.T, e *env) []clinic.ItemRow {
	t.Helper()
	rows, err := e.c.ListItems(context.Background(), clinic.Actor{Kind: clinic.ActorStaff, Role: clinic.RoleOwner}, clinic.ItemFilter{Unverified: true})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestSMSHookSignature: the gateway's webhook works only with its
// signature. Forged or missing: 403 and nothing changes. A message id
// seen before is handled once; a body over 1,600 characters is cut, not
// refused; the route needs no session and no CSRF token.
func TestSMSHookSignature(t *testing.T) {
	e, o, g := textEnv(t)
	hook := g.Hook(e.srv.URL+"/hooks/sms/gateway", "")
	form := url.Values{"MessageSid": {"SMforged1"}, "From": {"+12125550199"}, "To": {g.From}, "Body": {"Let me in"}}
	for name, sig := range map[string]string{
		"forged":           "bm90IGEgc2lnbmF0dXJl",
		"missing":          "",
		"signed elsewhere": sms.Sign(g.Token, "https://evil.example/hooks/sms/gateway", form),
		"wrong token":      sms.Sign("not-the-token", e.srv.URL+"/hooks/sms/gateway", form),
	} {
		code, err := hook.PostWithSignature(form, sig)
		if err != nil {
			t.Fatal(err)
		}
		if code != 403 {
			t.Fatalf("%s signature: %d, want 403", name, code)
		}
	}
	// A signed form changed after signing.
	sig := sms.Sign(g.Token, e.srv.URL+"/hooks/sms/gateway", form)
	form.Set("Body", "Changed on the way")
	if code, err := hook.PostWithSignature(form, sig); err != nil || code != 403 {
		t.Fatalf("tampered body: %d %v", code, err)
	}
	if n := len(unverifiedItems(t, e)); n != 0 {
		t.Fatalf("refused webhooks made %d items", n)
	}

	// Signed: filed once, however often the gateway retries.
	long := strings.Repeat("é", 1700)
	for range 3 {
		code, err := hook.Text("+12125550199", g.From, long, "SMgood1")
		if err != nil || code != 200 {
			t.Fatalf("signed text: %d %v", code, err)
		}
	}
	rows := unverifiedItems(t, e)
	if len(rows) != 1 {
		t.Fatalf("one text posted three times made %d items", len(rows))
	}
	var view clinic.ItemView
	o.req("GET", "/api/v1/items/"+rows[0].ID, nil).json(t, &view)
	if n := len([]rune(view.Messages[0].Body)); n != sms.MaxInbound {
		t.Fatalf("a 1,700-character text kept %d characters", n)
	}
	// A delivery report for a text the clinic never sent changes nothing.
	if code, err := hook.Report("SMnotours", "delivered"); err != nil || code != 200 {
		t.Fatalf("report: %d %v", code, err)
	}
	// The hook is not a way into anything else.
	if r := e.anon().req("GET", "/hooks/sms/gateway", nil); r.code != 404 && r.code != 405 {
		t.Fatalf("GET on the hook: %d", r.code)
	}
}

// TestSMSHookOffWithoutGateway: with texts off, every webhook is refused.
func TestSMSHookOffWithoutGateway(t *testing.T) {
	e := newEnv(t)
	g := smstest.NewGateway(t)
	code, err := g.Hook(e.srv.URL+"/hooks/sms/gateway", "").Text("+12125550199", g.From, "hello", "SMoff1")
	if err != nil || code != 403 {
		t.Fatalf("webhook with texts off: %d %v", code, err)
	}
}

// TestSMSOwnerViews: the test text shows the gateway's answer in words;
// the outbox view and the transport's state are the owner's alone.
func TestSMSOwnerViews(t *testing.T) {
	e, o, g := textEnv(t)
	line := &testLine{gw: sms.NewGateway(g.Config())}
	e.web.texts = line
	r := o.req("POST", "/api/v1/settings/test-text", map[string]string{"to": "(202) 555-0143"})
	if r.code != 200 || !strings.Contains(r.body, "ready") {
		t.Fatalf("test text: %d %s", r.code, r.body)
	}
	if s := g.Sent(); len(s) != 1 || s[0].To != "+12025550143" {
		t.Fatalf("the gateway got %+v", s)
	}
	g.Answer(smstest.Unauthorized)
	r = o.req("POST", "/api/v1/settings/test-text", map[string]string{"to": "(202) 555-0143"})
	if r.code != 400 || !strings.Contains(r.body, "refused the account or token") {
		t.Fatalf("a refused test text: %d %s", r.code, r.body)
	}
	r = o.req("GET", "/api/v1/outbox", nil)
	if r.code != 200 || !strings.Contains(r.body, `"messages":[]`) || !strings.Contains(r.body, `"code":"auth_refused"`) {
		t.Fatalf("outbox view: %d %s", r.code, r.body)
	}
	front := e.addStaff(o, "Fran Front", "fran@maple.test", clinic.RoleFrontDesk)
	for _, p := range []string{"/api/v1/outbox", "/api/v1/sms/status"} {
		if r := front.req("GET", p, nil); r.code != 403 {
			t.Fatalf("front desk on %s: %d", p, r.code)
		}
	}
}

// testLine is the serve loop's text line for web tests: one gateway.
type testLine struct{ gw *sms.Gateway }

func (l *testLine) Send(ctx context.Context, m sms.Message) (string, error) { return l.gw.Send(ctx, m) }
func (l *testLine) State() sms.State                                        { return l.gw.State() }
func (l *testLine) Refresh(context.Context)                                 {}
