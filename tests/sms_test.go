package tests

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hearth/app/sms/smstest"
)

// Texts, whole program: the hearth binary with a simulated SMS gateway on a
// local HTTP server (and a simulated modem on a pseudo-terminal), through
// its public interfaces only. The binary's periodic work runs every
// testTick (linked in by the harness), not every minute.

const (
	canaryName = "Zebulon Canaryfield"
	canaryText = "canary-knee-swelling-since-sunday"
	textMobile = "+12025550143"
)

// zoneAt names a fixed time zone in which it is now about hour o'clock, so
// a test can be in or out of the quiet hours whatever the machine's clock.
func zoneAt(hour int) string {
	off := (hour - time.Now().UTC().Hour() + 24) % 24
	if off > 14 {
		off -= 24
	}
	switch {
	case off == 0:
		return "Etc/UTC"
	case off > 0:
		return fmt.Sprintf("Etc/GMT-%d", off) // the zone database's signs are reversed
	}
	return fmt.Sprintf("Etc/GMT+%d", -off)
}

// textsClinic starts a clinic that texts through g, with its public address
// its own, and a patient who agreed to texts on the phone.
func textsClinic(t *testing.T, g *smstest.Gateway, zone string) (*instance, *client, string) {
	t.Helper()
	in := newClinic(t)
	in.start()
	o := in.owner()
	if code := o.json("PUT", "/api/v1/settings", map[string]any{"public_url": in.base(), "time_zone": zone, "region": "US", "phone": "555-201-0000",
		"sms": map[string]string{"transport": "gateway", "gateway_url": g.URL, "account": g.Account, "token": g.Token, "from": g.From}}, nil); code != 200 {
		t.Fatalf("text settings: %d", code)
	}
	var p struct {
		ID string `json:"id"`
	}
	if code := o.json("POST", "/api/v1/patients", map[string]any{"name": canaryName, "dob": "1948-02-03", "phone": "(202) 555-0143",
		"sms": true, "sms_words": "yes, texts are fine"}, &p); code != 201 {
		t.Fatalf("patient: %d", code)
	}
	return in, o, p.ID
}

// noCanary fails if any text sent holds the patient's name or their words.
func noCanary(t *testing.T, sent []smstest.Sent) {
	t.Helper()
	for _, s := range sent {
		for _, secret := range []string{canaryName, "Zebulon", "Canaryfield", canaryText, "Canary reason"} {
			if strings.Contains(s.Body, secret) {
				t.Fatalf("a text carries %q: %q", secret, s.Body)
			}
		}
	}
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTextsWholeProgram: an invite by text, a reminder answered "C" (the
// board shows it confirmed; the time it took is logged), a free text
// becomes an item, STOP ends every text, and no text carries a name or a
// message.
func TestTextsWholeProgram(t *testing.T) {
	g := smstest.NewGatewayPlain(t)
	in, o, patient := textsClinic(t, g, zoneAt(12))
	hook := g.Hook(in.base()+"/hooks/sms/gateway", "")

	// The invite: the link and the easy code, by text.
	var inv struct {
		Code string `json:"code"`
	}
	if code := o.json("POST", "/api/v1/patients/"+patient+"/invites", map[string]any{"text": true}, &inv); code != 201 {
		t.Fatalf("invite by text: %d", code)
	}
	sent := g.WaitSent(t, 1)
	if sent[0].To != textMobile || !strings.Contains(sent[0].Body, "/i/"+inv.Code) || !strings.Contains(sent[0].Body, inv.Code[:4]+"-"+inv.Code[4:]) {
		t.Fatalf("invite text %+v (code %s)", sent[0], inv.Code)
	}

	// A visit tomorrow: the reminder goes at the next tick.
	starts := time.Now().Add(20 * time.Hour).UTC().Truncate(time.Minute)
	var ap struct {
		ID string `json:"id"`
	}
	if code := o.json("POST", "/api/v1/appointments", map[string]any{"patient_id": patient, "starts_at": starts.Format(time.RFC3339),
		"minutes": 20, "provider": "Dr. Secret", "reason": "Canary reason"}, &ap); code != 201 {
		t.Fatalf("appointment: %d", code)
	}
	sent = g.WaitSent(t, 2)
	if !strings.Contains(sent[1].Body, "Reply C") {
		t.Fatalf("reminder %q", sent[1].Body)
	}

	// "C" confirms; the board (the appointments list) shows it.
	status := func() string {
		var rows struct {
			Appointments []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"appointments"`
		}
		o.json("GET", "/api/v1/appointments?from="+url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))+
			"&to="+url.QueryEscape(time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339)), nil, &rows)
		for _, r := range rows.Appointments {
			if r.ID == ap.ID {
				return r.Status
			}
		}
		return ""
	}
	began := time.Now()
	if code, err := hook.Text(textMobile, g.From, "C", "SMwholeC1"); err != nil || code != 200 {
		t.Fatalf("reply C: %d %v", code, err)
	}
	waitFor(t, "the board to show the visit confirmed", 10*time.Second, func() bool { return status() == "confirmed" })
	t.Logf("a reminder reply C arriving to the board showing confirmed: %v", time.Since(began).Round(time.Millisecond))
	sent = g.WaitSent(t, 3)
	if !strings.Contains(sent[2].Body, "confirmed") {
		t.Fatalf("answer to C: %q", sent[2].Body)
	}

	// Free text: an item in the inbox, acknowledged without its words.
	if code, err := hook.Text(textMobile, g.From, "My "+canaryText, "SMwhole2"); err != nil || code != 200 {
		t.Fatalf("free text: %d %v", code, err)
	}
	var list struct {
		Items []struct {
			ID        string `json:"id"`
			PatientID string `json:"patient_id"`
		} `json:"items"`
	}
	var item string
	waitFor(t, "the text's item", 10*time.Second, func() bool {
		o.json("GET", "/api/v1/items", nil, &list)
		for _, it := range list.Items {
			if it.PatientID == patient {
				item = it.ID
			}
		}
		return item != ""
	})
	sent = g.WaitSent(t, 4)
	if !strings.Contains(sent[3].Body, "We got your message") {
		t.Fatalf("acknowledgement %q", sent[3].Body)
	}

	// STOP: one confirmation, then nothing more, even a staff reply.
	if code, err := hook.Text(textMobile, g.From, "STOP", "SMwhole3"); err != nil || code != 200 {
		t.Fatalf("STOP: %d %v", code, err)
	}
	sent = g.WaitSent(t, 5)
	if !strings.Contains(sent[4].Body, "no more texts") {
		t.Fatalf("STOP confirmation %q", sent[4].Body)
	}
	if code := o.json("POST", "/api/v1/items/"+item+"/messages", map[string]any{"body": "We can see you today"}, nil); code >= 300 {
		t.Fatalf("staff reply: %d", code)
	}
	var p struct {
		SMSStopped string `json:"sms_stopped"`
	}
	o.json("GET", "/api/v1/patients/"+patient, nil, &p)
	if p.SMSStopped == "" {
		t.Fatal("the patient's record does not show the opt-out")
	}
	time.Sleep(3 * time.Second) // a few outbox ticks
	if n := len(g.Sent()); n != 5 {
		t.Fatalf("after STOP, %d texts in all; want 5", n)
	}
	noCanary(t, g.Sent())
}

// TestTextsCrashAndQuietHours: a text whose send was under way when the
// server was killed is never sent again (it was "sending" on disk), and
// staff see it failed; at night texts wait for 8 am.
func TestTextsCrashAndQuietHours(t *testing.T) {
	g := smstest.NewGatewayPlain(t)
	in, o, patient := textsClinic(t, g, zoneAt(12))
	hook := g.Hook(in.base()+"/hooks/sms/gateway", "")

	// The gateway takes the acknowledgement's request and never answers.
	g.Answer(smstest.Hang)
	if code, err := hook.Text(textMobile, g.From, "Question about "+canaryText, "SMcrash1"); err != nil || code != 200 {
		t.Fatalf("text in: %d %v", code, err)
	}
	waitFor(t, "the acknowledgement to reach the gateway", 10*time.Second, func() bool { return g.Attempts() == 1 })
	in.kill()
	g.Answer(smstest.Accept)
	in.start()
	o = in.owner()
	type row struct {
		State     string `json:"state"`
		Channel   string `json:"channel"`
		Held      bool   `json:"held"`
		LastError string `json:"last_error"`
	}
	var box struct {
		Messages []row `json:"messages"`
	}
	waitFor(t, "the outbox to show the interrupted text failed", 10*time.Second, func() bool {
		o.json("GET", "/api/v1/outbox", nil, &box)
		return len(box.Messages) == 1 && box.Messages[0].State == "failed"
	})
	if !strings.Contains(box.Messages[0].LastError, "stopped while sending") {
		t.Fatalf("the interrupted text: %+v", box.Messages[0])
	}
	time.Sleep(3 * time.Second)
	if n := g.Attempts(); n != 1 {
		t.Fatalf("the gateway was asked %d times for one text", n)
	}

	// Night falls: a staff reply's notice waits for 8 am.
	if code := o.json("PUT", "/api/v1/settings", map[string]any{"time_zone": zoneAt(23)}, nil); code != 200 {
		t.Fatalf("time zone: %d", code)
	}
	var list struct {
		Items []struct {
			ID        string `json:"id"`
			PatientID string `json:"patient_id"`
		} `json:"items"`
	}
	o.json("GET", "/api/v1/items", nil, &list)
	item := ""
	for _, it := range list.Items {
		if it.PatientID == patient {
			item = it.ID
		}
	}
	if code := o.json("POST", "/api/v1/items/"+item+"/messages", map[string]any{"body": "Answer at night"}, nil); code >= 300 {
		t.Fatalf("staff reply: %d", code)
	}
	waitFor(t, "the held text in the outbox view", 10*time.Second, func() bool {
		o.json("GET", "/api/v1/outbox", nil, &box)
		return len(box.Messages) >= 2 && box.Messages[0].Held
	})
	time.Sleep(3 * time.Second)
	if n := g.Attempts(); n != 1 {
		t.Fatalf("a text went in the quiet hours (%d sends)", n)
	}
	noCanary(t, g.Sent())
}

// TestTextsThroughModem: the same clinic on a USB modem (simulated on a
// pseudo-terminal): a text in becomes an item, and its acknowledgement
// goes out through the modem.
func TestTextsThroughModem(t *testing.T) {
	m := smstest.NewModem(t)
	in := newClinic(t)
	in.start()
	o := in.owner()
	if code := o.json("PUT", "/api/v1/settings", map[string]any{"public_url": in.base(), "time_zone": zoneAt(12),
		"sms": map[string]string{"transport": "modem", "device": m.Device(), "from": "+12025550100"}}, nil); code != 200 {
		t.Fatalf("modem settings: %d", code)
	}
	var st struct {
		OK    bool   `json:"ok"`
		Words string `json:"words"`
	}
	waitFor(t, "the modem to be ready", 15*time.Second, func() bool {
		o.json("GET", "/api/v1/sms/status", nil, &st)
		return st.OK
	})
	m.Deliver("+12125550199", "Hola, necesito una cita "+canaryText)
	sent := m.WaitSent(t, 1)
	if sent[0].To != "+12125550199" || strings.Contains(sent[0].Body, canaryText) {
		t.Fatalf("modem acknowledgement %+v", sent[0])
	}
	var list struct {
		Items []struct {
			Unverified bool `json:"unverified"`
		} `json:"items"`
	}
	o.json("GET", "/api/v1/items", nil, &list)
	if len(list.Items) != 1 || !list.Items[0].Unverified {
		t.Fatalf("items after a text from an unknown number: %+v", list.Items)
	}
}

// TestTextsSettingsBrowser: the owner sets up texts in Settings → Text
// messages in a real browser, sends a test text (its outcome in words,
// first refused by the gateway, then taken), and reads the outbox view.
func TestTextsSettingsBrowser(t *testing.T) {
	g := smstest.NewGatewayPlain(t)
	in := newClinic(t)
	in.start()
	if code := in.owner().json("PUT", "/api/v1/settings", map[string]any{"public_url": in.base(), "time_zone": zoneAt(12)}, nil); code != 200 {
		t.Fatalf("public address: %d", code)
	}
	b := newBrowser(t, in)
	b.do("console", chromedp.Navigate(in.base()+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("settings", chromedp.Navigate(in.base()+"/staff/#/settings/texts"), chromedp.WaitVisible(chromedp.ID("texts-transport")))
	b.do("choose the gateway",
		chromedp.SetValue(chromedp.ID("texts-transport"), "gateway"),
		chromedp.SendKeys(chromedp.ID("texts-from"), g.From),
		chromedp.SendKeys(chromedp.ID("texts-gateway_url"), g.URL),
		chromedp.SendKeys(chromedp.ID("texts-account"), g.Account),
		chromedp.SendKeys(chromedp.ID("texts-token"), "a-wrong-token"),
		chromedp.Click(chromedp.ID("texts-submit")))
	b.until("saved", `(document.getElementById('texts-msg')||{}).textContent.includes('Text settings saved')`)
	b.do("test text, wrong token", chromedp.SendKeys(chromedp.ID("texttest-to"), "(202) 555-0143"), chromedp.Click(chromedp.ID("texttest-submit")))
	b.until("the refusal in words", `document.getElementById('texttest-answer').textContent.includes('refused the account or token')`)
	b.do("the right token", chromedp.SendKeys(chromedp.ID("texts-token"), g.Token), chromedp.Click(chromedp.ID("texts-submit")))
	b.until("saved again", `document.getElementById('texts-token').placeholder.includes('saved') && document.getElementById('texts-token').value === ''`)
	b.do("test text", chromedp.Click(chromedp.ID("texttest-submit")))
	b.until("the gateway took it", `document.getElementById('texttest-answer').textContent.includes('ready')`)
	if s := g.WaitSent(t, 1); s[0].To != textMobile {
		t.Fatalf("test text to %s", s[0].To)
	}
	b.check("state in words", `document.getElementById('sms-state').textContent.includes('Texts can go')`)
	b.check("the token is not in the page", `!document.body.innerHTML.includes(`+jsString(g.Token)+`)`)
	// A text comes in from a number nobody has; its acknowledgement goes.
	if code, err := g.Hook(in.base()+"/hooks/sms/gateway", "").Text("+12125550199", g.From, "hello "+canaryText, "SMbrowser1"); err != nil || code != 200 {
		t.Fatalf("inbound text: %d %v", code, err)
	}
	g.WaitSent(t, 2)
	b.do("outbox", chromedp.Navigate(in.base()+"/staff/#/settings/outbox"), chromedp.WaitVisible(chromedp.ID("outbox-list")))
	b.until("outbox view", `!!document.querySelector('#outbox-list tr.outbox-sent') && document.getElementById('outbox-list').textContent.includes('acknowledgement')`)
	b.check("no words in the outbox view", `!document.getElementById('outbox-list').textContent.includes(`+jsString(canaryText)+`) && !document.getElementById('outbox-list').textContent.includes('2125550199')`)
	screenshot(t, b.ctx, "texts-settings.png")

	// The patient's record: consent in their words; the invite by text.
	var p struct {
		ID string `json:"id"`
	}
	if code := in.owner().json("POST", "/api/v1/patients", map[string]any{"name": canaryName, "dob": "1948-02-03", "phone": "(202) 555-0143",
		"sms": true, "sms_words": "text me please"}, &p); code != 201 {
		t.Fatalf("patient: %d", code)
	}
	b.do("patient record", chromedp.Navigate(in.base()+"/staff/#/patients/"+p.ID), chromedp.WaitVisible(chromedp.ID("invite-text")))
	b.check("consent on the record", `document.getElementById('patient-banner').textContent.includes('Yes (told staff') && document.getElementById('patient-banner').textContent.includes('text me please')`)
	b.do("text the invite", chromedp.Click(chromedp.ID("invite-text")))
	b.until("invite texted", `document.body.textContent.includes('on its way to the patient')`)
	if s := g.WaitSent(t, 3); !strings.Contains(s[2].Body, "/i/") {
		t.Fatalf("invite text %q", s[2].Body)
	}
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Fatalf("script errors: %v", errs)
	}
}
