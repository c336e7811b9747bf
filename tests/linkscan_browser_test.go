package tests

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLinkScannersNeverUseTheSignInLink (checklist 36): what a mail
// scanner or a browser does with an emailed sign-in link before the
// patient acts (Outlook Safe Links' GET, a HEAD, a prefetch, a real
// Chromium opening the page with its scripts running) signs no one in and
// uses nothing up: afterwards that browser is not signed in, and the
// patient still signs in with the same link by giving the birth date (a
// POST from the page). The page is sent with Referrer-Policy: no-referrer.
func TestLinkScannersNeverUseTheSignInLink(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	srv := withMail(t, owner)
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14",
		"phone": "555-201-3344", "email": "rosa@example.com", "lang": "en"}, nil)
	newFormPatient(t, in).post("/link", "/link", url.Values{"email": {"rosa@example.com"}})
	mails := waitMails(t, srv, "rosa@example.com", 1, 20*time.Second)
	if len(mails) != 1 {
		t.Fatalf("%d sign-in emails", len(mails))
	}
	m := regexp.MustCompile(`https://portal\.maple\.example(/l/[A-Za-z0-9_-]+)`).FindStringSubmatch(strings.ReplaceAll(mails[0], "=\r\n", ""))
	if m == nil {
		t.Fatalf("no link in the email:\n%s", mails[0])
	}
	link := m[1]

	// Scanners: HEAD and GET, as Safe Links and prefetchers send them.
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ method, header, value string }{
		{"HEAD", "User-Agent", "Mozilla/5.0 (compatible; Microsoft Outlook SafeLinks)"},
		{"GET", "User-Agent", "Mozilla/5.0 (compatible; Microsoft Outlook SafeLinks)"},
		{"GET", "Sec-Purpose", "prefetch"},
		{"GET", "Purpose", "prefetch"},
		{"GET", "X-Moz", "prefetch"},
	} {
		req, err := http.NewRequest(c.method, in.base()+link, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(c.header, c.value)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Fatal(err)
		}
		if err := res.Body.Close(); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s=%s: %d, Referrer-Policy %q", c.method, c.header, c.value, res.StatusCode, res.Header.Get("Referrer-Policy"))
		}
		for _, ck := range res.Cookies() {
			if !strings.Contains(ck.Name, "csrf") && !strings.Contains(ck.Name, "lang") {
				t.Errorf("%s %s=%s set the cookie %s: a scanner got a session", c.method, c.header, c.value, ck.Name)
			}
		}
	}

	stillValid := func(step string) {
		t.Helper()
		res, err := hc.Get(in.base() + link)
		if err != nil {
			t.Fatal(err)
		}
		if body := readBody(t, res); res.StatusCode != 200 || !strings.Contains(body, `name="csrf"`) {
			t.Fatalf("after %s the link no longer opens: %d", step, res.StatusCode)
		}
	}
	stillValid("the scanners")
	// A real browser opens the page, scripts on, and lingers.
	p := newPatientTab(t, in)
	p.scripts(true)
	p.do("open the link", chromedp.Navigate(in.base()+link))
	p.sees("the link page", "birth")
	p.do("linger", chromedp.Sleep(time.Second))
	stillValid("the browser's visit")
	p.do("go home", chromedp.Navigate(in.base()+"/me"))
	if txt := p.text(); strings.Contains(txt, "Rosa") || strings.HasSuffix(p.location(), "/me") && !strings.Contains(strings.ToLower(txt), "sign") {
		t.Fatalf("opening the link signed the browser in (%s):\n%s", p.location(), txt)
	}

	stillValid("the browser's visit home")
	// The patient, after all that, still signs in with the same link.
	fp := newFormPatient(t, in)
	code, loc := fp.post(link, link, url.Values{"dob": {"03/14/1961"}})
	if code != http.StatusSeeOther && code != http.StatusFound || loc != "/me" {
		t.Fatalf("the birth date on the scanned link: %d %q", code, loc)
	}
	res, err := fp.hc.Get(in.base() + "/me")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, res); res.StatusCode != 200 || !strings.Contains(body, "Rosa") {
		t.Fatalf("/me after signing in with the scanned link: %d", res.StatusCode)
	}
	// And it is used up now.
	res, err = hc.Get(in.base() + link)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, res); res.StatusCode == 200 && strings.Contains(body, `name="dob`) {
		t.Error("the link still opens after it was used")
	}
}
