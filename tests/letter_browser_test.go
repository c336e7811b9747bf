package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// TestLetterPrintBrowser prints the invite letter from the console in a
// real browser: blocked, with where to set it, while patients have no
// address to go to; then a Spanish-speaking patient's letter in Spanish
// with the clinic's emergency number, the address and the code never
// broken inside, and printed to PDF: one page, with the letter on it and
// nothing else of the patient's record. The template editor shows each
// template's English and Spanish texts.
//
// What is printed is checked twice: in the page laid out for print (the
// text a person would see on paper: the letter, and no other part of the
// record), and in the PDF itself, read with pdfcpu (one page whose content
// draws text and the QR code). The PDF's own text is not extracted: Chromium
// writes it with subset fonts, so pdfcpu sees glyph numbers, not words.
func TestLetterPrintBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	var pat struct {
		ID string `json:"id"`
	}
	if code := owner.json("POST", "/api/v1/patients", map[string]string{"name": "Lucía Ramos", "dob": "1962-04-09", "phone": "555-201-7780", "lang": "es"}, &pat); code != 201 {
		t.Fatalf("create patient: %d", code)
	}

	b := newBrowser(t, in)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	openPatient := func() {
		b.do("patient page", chromedp.Navigate(b.base+"/staff/#/patients/"+pat.ID), chromedp.Reload(),
			chromedp.WaitVisible(chromedp.ID("invite-print")))
	}

	// No address patients use: the letter is refused, and the owner is told
	// where to set it.
	openPatient()
	b.do("print without an address", chromedp.Click(chromedp.ID("invite-print")), chromedp.WaitVisible(chromedp.ID("letter-blocked")))
	b.check("blocked, with where to set it", `(() => {
		const m = document.getElementById('letter-blocked');
		return m.textContent.includes('Settings → Clinic → “Address patients use”') && !document.getElementById('letter') &&
			!document.body.textContent.includes('127.0.0.1') && m.querySelector('a[href="#/settings"]') !== null;
	})()`)

	// The owner sets the address and the emergency number.
	if code := owner.json("PUT", "/api/v1/settings", map[string]any{"public_url": "https://portal.maple-street-family-clinic.example",
		"emergency_number": "112"}, nil); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	openPatient()
	b.do("print the letter", chromedp.Click(chromedp.ID("invite-print")), chromedp.WaitVisible(chromedp.ID("letter-code")))
	b.check("the letter is in Spanish, with the clinic's number and address", `(() => {
		const l = document.getElementById('letter'), t = l.innerText;
		return l.lang === 'es' && t.includes('Para Lucía Ramos') && t.includes('Escriba a Maple Street Family Clinic desde su teléfono') &&
			t.includes('Si le piden un código, escriba:') && t.includes('llame al 112.') && !t.includes('emergency') &&
			document.getElementById('letter-url').textContent.startsWith('https://portal.maple-street-family-clinic.example/i/') &&
			/^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(document.getElementById('letter-code').textContent);
	})()`)

	// Laid out for print, as wide as a letter-size page inside its margins:
	// the letter alone, the address and the code each unbroken (one line
	// box per piece) and inside the page.
	b.do("print layout", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}), chromedp.EmulateViewport(740, 1000))
	lines := `(el) => { const r = document.createRange(); r.selectNodeContents(el);
		return new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top))).size; }`
	b.check("code and address unbroken", `(() => {
		const lines = `+lines+`;
		const parts = [...document.querySelectorAll('#letter-url .nowrap')];
		const right = document.getElementById('letter').getBoundingClientRect().right;
		return lines(document.getElementById('letter-code')) === 1 && parts.length === 2 &&
			parts.every((p) => lines(p) === 1 && p.getBoundingClientRect().right <= right);
	})()`)
	b.check("only the letter is printed", `(() => {
		const t = document.body.innerText;
		return t.includes('Escriba a Maple Street Family Clinic') && t.includes('llame al 112.') &&
			!t.includes('Who looked at this record') && !t.includes('Patient portal') && !t.includes('Invite letter ready') &&
			!t.includes('Signed-in devices') && document.getElementById('letter').getBoundingClientRect().height > 300;
	})()`)
	text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	b.do("screen again", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	}), chromedp.EmulateViewport(1280, 800))

	// Printed to PDF, US letter with the default margins.
	var pdf []byte
	b.do("print to PDF", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, page.PrintToPDF, page.PrintToPDFParams{})
		if err == nil {
			pdf = res.Data
		}
		return err
	}))
	model.ConfigPath = "disable" // no configuration folder in the home directory
	conf := model.NewDefaultConfiguration()
	conf.Offline = true
	pctx, err := pdfcpu.ReadWithContext(context.Background(), bytes.NewReader(pdf), conf)
	if err == nil {
		err = pctx.EnsurePageCount()
	}
	if err != nil {
		t.Fatalf("read the printed PDF: %v", err)
	}
	if pctx.PageCount != 1 {
		t.Fatalf("the letter printed on %d pages, want 1; printed text:\n%s", pctx.PageCount, text)
	}
	r, err := pdfcpu.ExtractPageContent(pctx, 1)
	if err != nil || r == nil {
		t.Fatalf("the printed page has no content: %v", err)
	}
	var content bytes.Buffer
	if _, err := content.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	c := content.String()
	if !regexp.MustCompile(`\bT[jJ]\b`).MatchString(c) || !strings.Contains(c, " Do") {
		t.Fatalf("the printed page draws no text or no QR code (%d bytes of content)", len(c))
	}
	if n := strings.Count(c, "Tj") + strings.Count(c, "TJ"); n < 20 {
		t.Fatalf("the printed page draws only %d pieces of text: a blank page with a header?", n)
	}

	// Settings: each template has its English and Spanish text.
	b.do("settings", chromedp.Navigate(b.base+"/staff/#/settings/templates"), chromedp.WaitVisible(chromedp.ID("templates-form")))
	b.check("template editor in both languages", `(() => {
		const es = document.getElementById('tpl-0-text-es'), en = document.getElementById('tpl-0-body');
		return en && es && en.value.startsWith('Hi {patient_first_name}') && es.value.startsWith('Hola {patient_first_name}') &&
			document.querySelector('label[for="tpl-0-text-es"]').textContent === 'Text in Español';
	})()`)
	b.do("write a Spanish text", chromedp.Click(chromedp.ID("template-add")),
		chromedp.WaitVisible(chromedp.ID("tpl-4-name")),
		chromedp.SendKeys(chromedp.ID("tpl-4-name"), "Flu shots"),
		chromedp.SendKeys(chromedp.ID("tpl-4-body"), "Hi {patient_first_name}, flu shots are in."),
		chromedp.SendKeys(chromedp.ID("tpl-4-text-es"), "Hola {patient_first_name}, ya llegaron las vacunas."),
		chromedp.Click(chromedp.ID("templates-submit")))
	b.until("saved", `(document.getElementById('templates-msg')?.textContent || '').includes('Templates saved')`)
	var got struct {
		Templates []struct {
			ID    string            `json:"id"`
			Texts map[string]string `json:"texts"`
		} `json:"templates"`
	}
	_, raw, err := owner.do("GET", "/api/v1/templates", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Templates) != 5 || got.Templates[4].Texts["es"] != "Hola {patient_first_name}, ya llegaron las vacunas." || got.Templates[0].Texts["es"] == "" {
		t.Fatalf("saved templates: %s", raw)
	}
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Fatalf("script errors: %v", errs)
	}
}
