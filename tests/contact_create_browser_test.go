package tests

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleCreatePatientFromContact: a newcomer with no record writes
// through the no-account form (in Spanish, with an email); in the console,
// their request offers "Create a patient from this", shows what they wrote
// and the new record side by side, then creates the patient from their
// name, birth date, phone, email and language and links the contact to it.
func TestConsoleCreatePatientFromContact(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	visitor := &inboxPatient{t: t, in: in, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}, name: "visitor"}
	_, page := visitor.get("/contact?type=message&lang=es")
	if status, _, body := visitor.post("/contact", page, url.Values{"name": {"Nora Quintero"}, "dob_day": {"9"}, "dob_month": {"4"}, "dob_year": {"1983"},
		"phone": {"555-640-2218"}, "email": {"nora@example.test"}, "type": {"message"}, "body": {"Soy nueva. ¿Aceptan pacientes nuevos?"}}); status != 200 {
		t.Fatalf("POST /contact: %d\n%s", status, body)
	}

	b := newBrowser(t, in)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("unverified filter", chromedp.Click(chromedp.ID("nav-inbox")), chromedp.WaitVisible(chromedp.ID("if-unverified")),
		chromedp.Click(chromedp.ID("if-unverified")))
	b.until("unverified row", `(() => { const r = document.querySelectorAll('#inbox-table tbody tr');
		return r.length === 1 && r[0].textContent.includes('Nora Quintero'); })()`)
	b.do("open it", chromedp.Click(chromedp.CSS(`#inbox-table a.row-link`)), chromedp.WaitVisible(chromedp.ID("link-card")),
		chromedp.Click(chromedp.ID("create-from-contact")), chromedp.WaitVisible(chromedp.ID("create-table")))
	b.check("side by side", `(() => {
		const rows = [...document.querySelectorAll('#create-table tbody tr')].map((r) => [...r.children].map((c) => c.textContent));
		const want = { 'Name': 'Nora Quintero', 'Phone': '555-640-2218', 'Email': 'nora@example.test', 'Language': 'Spanish' };
		return rows.length === 5 && Object.entries(want).every(([k, v]) => rows.some((r) => r[0] === k && r[1].includes(v) && r[2].includes(v)))
			&& rows.some((r) => r[0] === 'Birth date' && r[1] === r[2] && r[1].includes('1983'));
	})()`)
	b.do("create", chromedp.Click(chromedp.ID("create-submit")))
	b.until("created and linked", `(document.getElementById('item-flash')?.textContent || '').includes('Created Nora Quintero') &&
		document.getElementById('item-flash').textContent.includes('1 request moved') &&
		document.getElementById('item-banner').textContent.includes('Verified')`)
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the console reported errors:\n%s", strings.Join(errs, "\n"))
	}

	var found struct {
		Patients []struct {
			ID, Name, DOB, Phone, Email, Lang string
		}
	}
	inboxAPI(t, owner, "GET", "/api/v1/patients?q="+url.QueryEscape("Nora Quintero"), nil, &found)
	if len(found.Patients) != 1 {
		t.Fatalf("patients named Nora Quintero: %+v", found.Patients)
	}
	p := found.Patients[0]
	if p.DOB != "1983-04-09" || p.Phone != "555-640-2218" || p.Email != "nora@example.test" || p.Lang != "es" {
		t.Errorf("the new record: %+v", p)
	}
	var items struct {
		Items []map[string]any
	}
	inboxAPI(t, owner, "GET", "/api/v1/items?unverified=true", nil, &items)
	if len(items.Items) != 0 {
		t.Errorf("still unverified after the link: %d", len(items.Items))
	}
}
