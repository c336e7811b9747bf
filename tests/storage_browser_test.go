package tests

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestStorageBannerBrowser: while the disk refuses writes, the owner's
// console in Chromium shows a banner above the view saying so and what to
// do, both when an answer carries the fault and, after a reload, from
// /healthz with the time it began; once the disk takes writes again a
// fresh console shows none.
func TestStorageBannerBrowser(t *testing.T) {
	fault := filepath.Join(t.TempDir(), "commit-fault")
	useFaultBinary(t, fault)
	in := newClinic(t)
	in.start()
	owner := in.owner()
	var pat struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14", "lang": "en"}, &pat)

	b := newBrowser(t, in)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.check("no banner while the disk takes writes", `!document.getElementById('storage-banner')`)

	setFault(t, fault, "eio")
	// Opening a patient writes an audit event first: it is refused.
	b.do("open the patient", chromedp.Navigate(b.base+"/staff/#/patients/"+pat.ID))
	b.until("the banner from the refused read", `(document.getElementById('storage-banner') || {}).textContent?.includes('The disk refused a write.')`)
	b.check("it says what to do", `document.getElementById('storage-banner').textContent.includes('restore the newest backup onto a healthy disk') &&
		document.getElementById('storage-banner').closest('#alerts') !== null && !document.getElementById('alerts').hidden`)

	b.do("reload", chromedp.Reload())
	b.until("the banner from /healthz, with its time", `(document.getElementById('storage-banner') || {}).textContent?.includes('Since ')`)

	setFault(t, fault, "")
	recoverHealth(t, in, owner, "/api/v1/patients/"+pat.ID, 40*time.Second)
	b.do("reload after recovery", chromedp.Reload())
	b.until("the console is back", `!!document.getElementById('nav-patients')`)
	time.Sleep(time.Second) // the shell's first /healthz answer
	b.check("no banner once writes go through", `!document.getElementById('storage-banner')`)
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Fatalf("script errors: %q", errs)
	}
}
