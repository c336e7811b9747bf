package tests

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestFirstRunSignedInBrowser walks setup in a real browser: a 5-character
// password is called too short (not "the passwords differ"), then setup
// shows the emergency kit, and its button opens the console signed in as
// the owner, without the password typed again. Every page has its icon.
func TestFirstRunSignedInBrowser(t *testing.T) {
	in := &instance{t: t, data: filepath.Join(t.TempDir(), "data")}
	in.start()
	link := regexp.MustCompile(`http://\S+/setup/[a-z0-9]+`).FindString(in.log.String())
	if link == "" {
		t.Fatalf("no setup link printed:\n%s", in.log.String())
	}
	b := newBrowser(t, in)
	fill := func(pw, again, then string) {
		t.Helper()
		b.do("fill the setup form", chromedp.WaitVisible(chromedp.ID("clinic_name")),
			clearField("clinic_name"), chromedp.SendKeys(chromedp.ID("clinic_name"), "Cedar Row Clinic"),
			clearField("owner_name"), chromedp.SendKeys(chromedp.ID("owner_name"), "Cy Cedar"),
			clearField("owner_email"), chromedp.SendKeys(chromedp.ID("owner_email"), "cy@cedar.test"),
			clearField("password"), chromedp.SendKeys(chromedp.ID("password"), pw),
			clearField("password_again"), chromedp.SendKeys(chromedp.ID("password_again"), again),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID(then)))
	}
	b.do("open the setup link", chromedp.Navigate(link))
	b.check("icon linked", `!!document.querySelector('link[rel="icon"]')`)
	fill("abcde", "abcdf", "password-err")
	b.check("too short", `(document.getElementById('password-err')?.textContent || '').includes('at least')`)
	b.check("not called different", `!document.getElementById('password_again-err')`)
	fill("Cedar-Row-Owner-2026", "Cedar-Row-Owner-2026", "recovery-key")
	b.check("kit names the data folder", `document.body.textContent.includes('hearth restore --data `+in.data+` ')`)
	b.do("to the console", chromedp.Click(chromedp.CSS(`a.button.primary[href="/staff/"]`)), chromedp.WaitVisible(chromedp.ID("nav-patients")))
	b.check("signed in as the owner, no sign-in form", `!document.getElementById('signin-password')`)
	b.check("console icon", `!!document.querySelector('link[rel="icon"]')`)
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("script errors:\n%s", strings.Join(errs, "\n"))
	}
}
