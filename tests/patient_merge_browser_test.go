package tests

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleEditAndMergeBrowser: a patient registered with a mistyped
// birth date cannot sign in with the right one; in the console the front
// desk's owner corrects it (every bad field shown beside its field first),
// and the patient's letter then works. Adding the same name and birth date
// again warns and offers "Create anyway"; "Merge into this record…" finds
// the second record, shows the two side by side, asks for a reason and
// merges it. The merged record answers 404, and `hearth verify` finds the
// data folder clean.
func TestConsoleEditAndMergeBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()

	var pat struct{ ID string }
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Luz Marina Vega", "dob": "1961-04-13", "phone": "555-201-7788", "lang": "es"}, &pat)
	var inv struct{ Code string }
	inboxAPI(t, owner, "POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv)
	luz := newFormPatient(t, in)
	form := url.Values{"csrf": {luz.token("/i/" + inv.Code)}, "dob_month": {"3"}, "dob_day": {"14"}, "dob_year": {"1961"}}
	resp, err := luz.hc.PostForm(luz.base+"/i/"+inv.Code, form)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != 400 {
		t.Fatalf("the right birth date against the mistyped record: %d\n%s", resp.StatusCode, body)
	}

	b := newBrowser(t, in)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("open the record", chromedp.Navigate(b.base+"/staff/#/patients/"+pat.ID), chromedp.WaitVisible(chromedp.ID("patient-edit")),
		chromedp.Click(chromedp.ID("patient-edit")), chromedp.WaitVisible(chromedp.ID("patientedit-dob")))
	b.check("the form holds the record", `document.getElementById('patientedit-name').value === 'Luz Marina Vega' &&
		document.getElementById('patientedit-dob').value === '04/13/1961' && document.getElementById('patientedit-lang').value === 'es'`)
	b.do("a bad correction", clearField("patientedit-name"), clearField("patientedit-dob"), clearField("patientedit-email"),
		chromedp.SendKeys(chromedp.ID("patientedit-dob"), "14/03/1961"),
		chromedp.SendKeys(chromedp.ID("patientedit-email"), "luz at example"),
		chromedp.Click(chromedp.ID("patientedit-submit")))
	b.until("every problem beside its field", `['name', 'dob', 'email'].every((f) => {
		const e = document.getElementById('patientedit-' + f + '-err');
		return e && e.textContent.length > 5 && document.getElementById('patientedit-' + f).getAttribute('aria-describedby').includes('patientedit-' + f + '-err');
	}) && document.activeElement.id === 'patientedit-name'`)
	b.do("the right correction", chromedp.SendKeys(chromedp.ID("patientedit-name"), "Luz Marina Vega"),
		clearField("patientedit-dob"), chromedp.SendKeys(chromedp.ID("patientedit-dob"), "03/14/1961"), clearField("patientedit-email"),
		chromedp.Click(chromedp.ID("patientedit-submit")))
	b.until("corrected", `(document.getElementById('patient-flash')?.textContent || '').includes('Record corrected: birth date') &&
		document.getElementById('patient-banner').textContent.includes('Mar 14, 1961')`)
	luz.signIn(inv.Code, "3", "14", "1961")

	// The same name and birth date again: a warning, then "Create anyway".
	b.do("new patient", chromedp.Navigate(b.base+"/staff/#/patients/new"), chromedp.WaitVisible(chromedp.ID("patientnew-name")),
		chromedp.SendKeys(chromedp.ID("patientnew-name"), "luz marina vega"),
		chromedp.SendKeys(chromedp.ID("patientnew-dob"), "3/14/1961"),
		chromedp.SendKeys(chromedp.ID("patientnew-email"), "luz@example.test"),
		chromedp.Click(chromedp.ID("patientnew-submit")))
	b.until("duplicate warning", `(() => { const w = document.getElementById('duplicate-warning');
		return w && document.activeElement === w && w.querySelector('a.dup-link').getAttribute('href') === '#/patients/`+pat.ID+`'; })()`)
	b.do("create anyway", chromedp.Click(chromedp.ID("duplicate-create")))
	b.until("the second record", `location.hash.startsWith('#/patients/') && !location.hash.endsWith('/new') && !location.hash.endsWith('`+pat.ID+`') &&
		(document.getElementById('patient-name')?.textContent || '') === 'luz marina vega'`)
	dupID, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.hash.slice('#/patients/'.length)`))
	if err != nil || len(dupID) != 36 {
		t.Fatalf("the second record's id: %q %v", dupID, err)
	}

	// Merge it into the first record, after seeing the two side by side.
	b.do("back to the first", chromedp.Navigate(b.base+"/staff/#/patients/"+pat.ID), chromedp.WaitVisible(chromedp.ID("patient-merge-open")),
		chromedp.Click(chromedp.ID("patient-merge-open")), chromedp.WaitVisible(chromedp.ID("mergesearch-q")))
	// The panel moves the focus to its heading a moment after it opens;
	// typing before that would lose the keys to the heading (seen under load).
	b.until("the merge panel has the focus", `document.activeElement && document.activeElement.id === 'merge-title'`)
	b.do("search the other record", chromedp.SendKeys(chromedp.ID("mergesearch-q"), "Luz Vega"), chromedp.Click(chromedp.ID("mergesearch-submit")))
	b.until("the other record is offered", `(() => { const l = document.querySelectorAll('#merge-candidates button');
		return l.length === 1 && l[0].textContent.includes('luz marina vega'); })()`)
	b.do("compare", chromedp.Click(chromedp.CSS("#merge-candidates button")), chromedp.WaitVisible(chromedp.ID("merge-table")))
	b.check("side by side", `(() => {
		const rows = Object.fromEntries([...document.querySelectorAll('#merge-table tbody tr')].map((r) => [r.children[0].textContent, [r.children[1].textContent, r.children[2].textContent]]));
		return rows['Name'][0] === 'Luz Marina Vega' && rows['Name'][1] === 'luz marina vega' && rows['Birth date'][0] === rows['Birth date'][1]
			&& rows['Phone'][0] === '555-201-7788' && rows['Phone'][1] === '—' && rows['Email'][1] === 'luz@example.test'
			&& rows['Language'][0].startsWith('Spanish') && rows['Language'][1] === 'English' && rows['Requests'][0] === '0' && rows['Appointments'][1] === '0';
	})()`)
	b.do("merge without a reason", chromedp.Click(chromedp.ID("merge-submit")))
	b.until("a reason is asked for", `(document.getElementById('merge-reason-err')?.textContent || '').length > 5`)
	b.do("merge", chromedp.SendKeys(chromedp.ID("merge-reason"), "Registered twice; confirmed by phone."), chromedp.Click(chromedp.ID("merge-submit")))
	b.until("merged", `(document.getElementById('patient-flash')?.textContent || '').includes('Merged: 0 requests') &&
		!document.getElementById('merge-panel') && document.getElementById('patient-name').textContent === 'Luz Marina Vega'`)
	b.until("the access report says so", `(document.getElementById('access-table')?.textContent || '').includes('Merged another record of the same person into it') &&
		document.getElementById('access-table').textContent.includes('Corrected the record')`)
	b.do("the merged record", chromedp.Navigate(b.base+"/staff/#/patients/"+dupID))
	b.until("is gone", `(document.getElementById('patient-name')?.textContent || '') === 'Patient not found'`)
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the console reported errors:\n%s", strings.Join(errs, "\n"))
	}
	if code, _, err := owner.do("GET", "/api/v1/patients/"+dupID, nil); err != nil || code != 404 {
		t.Fatalf("GET the merged record: %d %v", code, err)
	}
	var found struct{ Patients []struct{ ID string } }
	inboxAPI(t, owner, "GET", "/api/v1/patients?q="+url.QueryEscape("03/14/1961"), nil, &found)
	if len(found.Patients) != 1 || found.Patients[0].ID != pat.ID {
		t.Fatalf("search by the birth date after the merge: %+v", found.Patients)
	}
	in.stop()
	if out, err := hearth(t, "", "verify", "--data", in.data); err != nil {
		t.Fatalf("verify after the merge: %v\n%s", err, out)
	}
}
