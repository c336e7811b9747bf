package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hearth/app/testenv"
)

// TestBoardImportWarningsBrowser: the board's import panel takes the usual
// practice-system export, with "Last, First" names and no appointment-id
// column (the id is not asked for), and shows "the clinic is closed that
// day" beside the Sunday row in the preview and again after the import.
func TestBoardImportWarningsBrowser(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	var made struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Eleanor Brooks", "dob": "1948-09-02", "lang": "en"}, &made)

	loc, err := time.LoadLocation("America/New_York") // the clinic's default zone
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("no time zone data: %v", err), testenv.CI)
	}
	sunday := time.Now().In(loc).AddDate(0, 0, 2)
	for sunday.Weekday() != time.Sunday {
		sunday = sunday.AddDate(0, 0, 1)
	}
	monday := sunday.AddDate(0, 0, 1)
	csv := "Patient,DOB,Appt Date,Start Time,Doctor\n" +
		"\"Brooks, Eleanor\",09/02/1948," + sunday.Format("01/02/2006") + ",10:15 AM,Dr. Amara Lee\n" +
		"\"Brooks, Eleanor\",09/02/1948," + monday.Format("01/02/2006") + ",10:15 AM,Dr. Amara Lee\n"

	b := newBrowserFor(t, in, 60*time.Second)
	b.do("open console", chromedp.Navigate(b.base+"/staff/"))
	b.signIn("owner@maple.test", ownerPassword)
	b.do("board", chromedp.Click(chromedp.ID("nav-appointments")), chromedp.WaitVisible(chromedp.ID("import-csv")))
	b.do("paste the export", chromedp.SetValue(chromedp.ID("import-csv"), csv), chromedp.Click(chromedp.ID("import-read")),
		chromedp.WaitVisible(chromedp.ID("map-patient_name")))
	b.check("no id column, none asked for", `document.getElementById('map-external_id').value === '' &&
		!document.querySelector('label[for="map-external_id"]').textContent.includes('needed') &&
		document.getElementById('map-patient_name').value === 'Patient' && document.getElementById('map-date').value === 'Appt Date'`)
	b.do("preview", chromedp.Click(chromedp.ID("import-preview")), chromedp.WaitVisible(chromedp.ID("import-table")))
	b.check("the Sunday row is warned, the Monday row is not", `(() => {
		const sun = document.querySelector('#import-table tr[data-line="2"]'), mon = document.querySelector('#import-table tr[data-line="3"]');
		return sun && sun.classList.contains('ir-ok') && sun.textContent.includes('Ready') &&
			(sun.querySelector('.import-warn')?.textContent || '') === 'the clinic is closed that day' &&
			mon && mon.classList.contains('ir-ok') && !mon.querySelector('.import-warn') &&
			document.querySelector('#import-warnings li[data-line="2"]') !== null &&
			document.querySelector('#import-warnings li[data-line="3"]') === null &&
			document.getElementById('import-summary').textContent.includes('1 warning') &&
			document.getElementById('import-commit').textContent === 'Import 2 appointments';
	})()`)
	b.do("import", chromedp.Click(chromedp.ID("import-commit")), chromedp.WaitVisible(chromedp.ID("import-ok")))
	b.check("the result names the Sunday row", `document.getElementById('import-ok').textContent.includes('Imported 2 appointments') &&
		(document.querySelector('#import-warnings li[data-line="2"]')?.textContent || '').includes('the clinic is closed that day') &&
		document.querySelector('#import-warnings li[data-line="3"]') === null`)
	if errs := b.scriptErrors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
