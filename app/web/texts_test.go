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

// TestTextConsentPages: the patient agrees to texts on the invite page (a
// box, JavaScript off) and turns them off and on again on /me, in English
// and Spanish; each answer is on the record with how it was given.
func TestTextConsentPages(t *testing.T) {
	e, o, _ := textEnv(t)
	ctx := context.Background()
	p, err := e.c.CreatePatient(ctx, clinic.Actor{Kind: clinic.ActorSystem}, clinic.PatientInput{Name: "Rosa Texto", DOB: "1955-05-05", Phone: "(202) 555-0143", Lang: "es"})
	if err != nil {
		t.Fatal(err)
	}
	code := e.invite(o, p.ID, "")
	u := e.anon()
	page := u.get("/i/" + code)
	if !strings.Contains(page.body, `name="texts"`) {
		t.Fatalf("the invite page has no box for texts:\n%.2000s", page.body)
	}
	location(t, u.form("/i/"+code, "/i/"+code, url.Values{"dob": {"1955-05-05"}, "texts": {"on"}}), "/me")
	got, err := e.c.Patient(ctx, clinic.Actor{Kind: clinic.ActorSystem}, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SMS == nil || !got.SMS.On || got.SMS.How != clinic.ConsentInvite {
		t.Fatalf("consent from the invite page: %+v", got.SMS)
	}
	me := u.get("/me")
	if !strings.Contains(me.body, `action="/me/texts"`) || !strings.Contains(me.body, "Dejar de recibir textos") {
		t.Fatalf("/me in Spanish has no way to stop texts:\n%.3000s", me.body)
	}
	location(t, u.form("/me", "/me/texts", url.Values{"on": {"0"}}), "/me")
	got, _ = e.c.Patient(ctx, clinic.Actor{Kind: clinic.ActorSystem}, p.ID)
	if got.SMS.On || got.SMS.How != clinic.ConsentMe {
		t.Fatalf("after turning texts off on /me: %+v", got.SMS)
	}
	if me := u.get("/me"); !strings.Contains(me.body, "Envíenme un texto") {
		t.Fatalf("/me does not offer texts again:\n%.3000s", me.body)
	}
	// Staff see it on the record.
	r := o.req("GET", "/api/v1/patients/"+p.ID, nil)
	if !strings.Contains(r.body, `"sms_consent":{"on":false`) || !strings.Contains(r.body, `"how":"me"`) {
		t.Fatalf("the record as staff see it: %s", r.body)
	}
}

// TestSignInLinkByText: the sign-in link page offers a link by text; the
// answer is the same whether or not the number is on file, and only a
// patient who agreed gets the text.
func TestSignInLinkByText(t *testing.T) {
	e, _, g := textEnv(t)
	ctx := context.Background()
	if _, err := e.c.CreatePatient(ctx, clinic.Actor{Kind: clinic.ActorSystem}, clinic.PatientInput{Name: "Tom Texto", DOB: "1960-06-06",
		Phone: "(202) 555-0143", SMS: true}); err != nil {
		t.Fatal(err)
	}
	u := e.anon()
	if page := u.get("/link"); !strings.Contains(page.body, `name="phone"`) {
		t.Fatalf("no phone field on the link page:\n%.1500s", page.body)
	}
	known := u.form("/link", "/link", url.Values{"phone": {"202-555-0143"}})
	unknown := e.anon().form("/link", "/link", url.Values{"phone": {"212-555-0199"}})
	if known.code != 200 || unknown.code != 200 || !strings.Contains(known.body, "Check your texts") || !strings.Contains(unknown.body, "Check your texts") {
		t.Fatalf("answers: %d / %d", known.code, unknown.code)
	}
	n, err := e.c.SendDue(ctx, clinic.Outlets{Text: sms.NewGateway(g.Config())})
	if err != nil || n != 1 {
		t.Fatalf("sent %d texts (%v), want the one link", n, err)
	}
	if s := g.Sent(); len(s) != 1 || s[0].To != "+12025550143" || !strings.Contains(s[0].Body, "/l/") {
		t.Fatalf("link text %+v", s)
	}
}
