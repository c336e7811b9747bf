package clinic

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hearth/app/testpdf"
)

// The PDFs here are written by hand, object by object, with true
// cross-reference offsets, so each test says exactly what the file holds.

// pdfPage is the body of a one-page document: catalog 1, pages 2, page 3,
// content 4. catalogExtra goes into the catalog.
func pdfPage(catalogExtra string) []string {
	content := "BT /F1 12 Tf 72 720 Td (Insurance letter) Tj ET"
	return []string{
		"<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
	}
}

// buildPDF numbers objs from 1 and writes a classic cross-reference table.
func buildPDF(objs []string) []byte { return testpdf.Build(objs...) }

func deflate(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// buildPDFPacked writes objs as a PDF 1.5 file: the objects whose numbers
// (from 1) are in packed go into one Flate-compressed object stream, the
// others are written plainly, and a cross-reference stream lists them all.
// osContent, when set, replaces the object stream's decoded content.
func buildPDFPacked(t *testing.T, objs []string, packed map[int]bool, osContent []byte) []byte {
	t.Helper()
	n := len(objs)
	osNr, xrefNr := n+1, n+2
	var head, body bytes.Buffer
	index := map[int]int{}
	var order []int
	for i := range objs {
		if packed[i+1] {
			index[i+1] = len(order)
			fmt.Fprintf(&head, "%d %d ", i+1, body.Len())
			body.WriteString(objs[i] + "\n")
			order = append(order, i+1)
		}
	}
	content := append(head.Bytes(), body.Bytes()...)
	first := head.Len()
	if osContent != nil {
		content = osContent
	}
	z := deflate(t, content)

	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := map[int]int{}
	for i, o := range objs {
		if packed[i+1] {
			continue
		}
		offs[i+1] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	offs[osNr] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n", osNr, len(order), first, len(z))
	b.Write(z)
	b.WriteString("\nendstream\nendobj\n")
	offs[xrefNr] = b.Len()
	var rows bytes.Buffer
	row := func(typ byte, f2 uint32, f3 uint16) {
		rows.Write([]byte{typ, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)})
	}
	row(0, 0, 0xFFFF)
	for nr := 1; nr <= xrefNr; nr++ {
		if packed[nr] {
			row(2, uint32(osNr), uint16(index[nr]))
		} else {
			row(1, uint32(offs[nr]), 0)
		}
	}
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", xrefNr, xrefNr+1, rows.Len())
	b.Write(rows.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", offs[xrefNr])
	return b.Bytes()
}

// wantPDFAccepted checks that upload stores the file (cut after its last
// %%EOF, which is the whole of it unless said otherwise).
func wantPDFAccepted(t *testing.T, data, stored []byte) {
	t.Helper()
	a, out, err := normalizeUpload(Upload{Name: "letter.pdf", Data: data})
	if err != nil {
		r, _ := scanPDF(data)
		_, why := scanPDF(data)
		t.Fatalf("a plain PDF was refused: %v (%v, %d bytes kept)", err, why, len(r))
	}
	if a.Type != "application/pdf" || !bytes.Equal(out, stored) || a.Size != len(stored) {
		t.Fatalf("stored %d bytes as %q, want the %d bytes given", len(out), a.Type, len(stored))
	}
}

// wantPDFRefused checks the refusal the person sees, and (reason non-empty)
// that the walk found what the test hid.
func wantPDFRefused(t *testing.T, data []byte, want error, reason string) {
	t.Helper()
	_, out, err := normalizeUpload(Upload{Name: "letter.pdf", Data: data})
	if err != want || out != nil {
		t.Fatalf("got %v, want %v", err, want)
	}
	var ie *InputError
	if !errors.As(err, &ie) || strings.Contains(ie.Msg, "under ") || strings.Contains(ie.Msg, "shorter") {
		t.Fatalf("not a plain input error the pages can word: %v", err)
	}
	if reason != "" {
		_, why := scanPDF(data)
		var found errPDFFound
		if !errors.As(why, &found) || found.what != reason {
			t.Fatalf("found %v, want %s", why, reason)
		}
	}
}

func TestPDFPlainAccepted(t *testing.T) {
	plain := buildPDF(pdfPage(""))
	wantPDFAccepted(t, plain, plain)
	// Links to web pages and a start on page one (a destination) are
	// not active content.
	linked := buildPDF(append(pdfPage("/OpenAction [3 0 R /Fit]"),
		"<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /URI /URI (https://clinic.example/) >> >>"))
	wantPDFAccepted(t, linked, linked)
	// A file written with object streams (most PDFs since 2003) reads too.
	packed := buildPDFPacked(t, pdfPage(""), map[int]bool{1: true, 2: true, 3: true}, nil)
	wantPDFAccepted(t, packed, packed)
}

func TestPDFOpenActionJavaScriptRefused(t *testing.T) {
	objs := append(pdfPage("/OpenAction 5 0 R"), "<< /Type /Action /S /JavaScript /JS (app.alert('hi')) >>")
	wantPDFRefused(t, buildPDF(objs), errPDFActive, "")
	// Whatever is met first, the walk names JavaScript or the open action.
	_, why := scanPDF(buildPDF(objs))
	var found errPDFFound
	if !errors.As(why, &found) || !strings.Contains("/OpenAction /JS /S /JavaScript", found.what) {
		t.Fatalf("found %v", why)
	}
	// The same script run when a page opens (additional actions).
	aa := buildPDF(pdfPage("/AA << /WC << /S /Launch /F (calc.exe) >> >>"))
	wantPDFRefused(t, aa, errPDFActive, "")
}

func TestPDFScriptInCompressedObjectStreamRefused(t *testing.T) {
	objs := append(pdfPage("/Names << /JavaScript 5 0 R >>"), "<< /Names [(x) << /S /JavaScript /JS (this.exportDataObject({cName:'a'})) >>] >>")
	data := buildPDFPacked(t, objs, map[int]bool{1: true, 5: true}, nil)
	if bytes.Contains(data, []byte("JavaScript")) || bytes.Contains(data, []byte("/JS")) {
		t.Fatal("the script should be invisible in the raw bytes")
	}
	wantPDFRefused(t, data, errPDFActive, "")
	// The packed object need not even be listed in the cross-reference
	// stream: every object of the stream is walked.
	hidden := append(pdfPage(""), "<< /S /Launch /F (cmd.exe) >>")
	wantPDFRefused(t, buildPDFPacked(t, hidden, map[int]bool{1: true, 5: true}, nil), errPDFActive, "/S /Launch")
}

func TestPDFHexEscapedNamesRefused(t *testing.T) {
	objs := append(pdfPage("/Open#41ction 5 0 R"), "<< /S /J#61vaScript /J#53 (app.alert(1)) >>")
	data := buildPDF(objs)
	if bytes.Contains(data, []byte("JavaScript")) || bytes.Contains(data, []byte("OpenAction")) {
		t.Fatal("the names should be escaped in the raw bytes")
	}
	wantPDFRefused(t, data, errPDFActive, "")
	// An escaped name alone, with nothing else to give it away.
	wantPDFRefused(t, buildPDF(pdfPage("/Names << /#45mbeddedFiles << /Names [] >> >>")), errPDFActive, "/EmbeddedFiles")
}

func TestPDFTrailingHTMLCut(t *testing.T) {
	plain := buildPDF(pdfPage(""))
	withHTML := append(append([]byte{}, plain...), []byte("<html><body><script>alert(document.cookie)</script></body></html>\n")...)
	wantPDFAccepted(t, withHTML, plain)

	// What is stored and served holds none of it.
	ic := newInbox(t)
	ctx := context.Background()
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "My letter", Files: []Upload{{Name: "letter.pdf", Data: withHTML}}})
	if err != nil {
		t.Fatal(err)
	}
	_, msgs, err := ic.c.PatientThread(ctx, ic.patA, ack.Item.ID)
	if err != nil || len(msgs) == 0 || len(msgs[0].Files) != 1 {
		t.Fatalf("thread: %v", err)
	}
	_, data, err := ic.c.File(ctx, ic.patA, msgs[0].Files[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("<html")) || bytes.Contains(data, []byte("script")) || !bytes.Equal(data, plain) {
		t.Fatalf("the trailer was stored: %d bytes, %d expected", len(data), len(plain))
	}
}

func TestPDFEmbeddedFileRefused(t *testing.T) {
	payload := "MZ this would be a program"
	objs := append(pdfPage("/Names << /EmbeddedFiles << /Names [(invoice.exe) 5 0 R] >> >>"),
		"<< /Type /Filespec /F (invoice.exe) /EF << /F 6 0 R >> >>",
		fmt.Sprintf("<< /Type /EmbeddedFile /Length %d >>\nstream\n%s\nendstream", len(payload), payload))
	wantPDFRefused(t, buildPDF(objs), errPDFActive, "")
	// A file attachment on a page, without the document's name tree.
	annot := append(pdfPage(""), "<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS (a.txt) >>")
	wantPDFRefused(t, buildPDF(annot), errPDFActive, "/Subtype /FileAttachment")
	// XML forms (XFA) carry scripts of their own.
	wantPDFRefused(t, buildPDF(pdfPage("/AcroForm << /Fields [] /XFA (<xdp/>) >>")), errPDFActive, "/XFA")
}

func TestPDFGarbageRefused(t *testing.T) {
	for name, data := range map[string][]byte{
		"header only":  []byte("%PDF-1.7\n"),
		"no structure": []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"),
		"noise":        append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0x8a, 0x13, '(', '<', 0}, 2000)...),
		"cut short":    buildPDF(pdfPage(""))[:300],
		"html":         []byte("%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n"),
	} {
		t.Run(name, func(t *testing.T) { wantPDFRefused(t, data, errPDFUnreadable, "") })
	}
}

func TestPDFDecompressionBombRefused(t *testing.T) {
	// An object stream that inflates to 80 MB: refused quickly, without
	// pdfcpu ever holding it.
	zeros := make([]byte, 80<<20)
	copy(zeros, "1 0 ")
	data := buildPDFPacked(t, pdfPage(""), map[int]bool{1: true}, zeros)
	if len(data) > 1<<20 {
		t.Fatalf("the bomb is %d bytes", len(data))
	}
	start := time.Now()
	wantPDFRefused(t, data, errPDFUnreadable, "")
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	if _, why := scanPDF(data); !errors.Is(why, errPDFTooBig) {
		t.Fatalf("refused for %v, want the size bound", why)
	}
	// The same in a cross-reference stream, which pdfcpu would decode in
	// full while reading: measured before it reads, even with its
	// dictionary's end hidden behind a fake object header in a string.
	z := deflate(t, zeros)
	xrefBomb := buildPDF(append(pdfPage(""), fmt.Sprintf("<< /Type /XRef /Note (9 0 obj) /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream", len(z), z)))
	wantPDFRefused(t, xrefBomb, errPDFUnreadable, "")
	if _, why := scanPDF(xrefBomb); !errors.Is(why, errPDFTooBig) {
		t.Fatalf("refused for %v, want the size bound", why)
	}
}

func TestPDFDeepNestingRefused(t *testing.T) {
	// pdfcpu's parser recurses once per level: millions of levels would
	// overflow the stack, which ends the whole server, not one request.
	deep := strings.Repeat("[", 9<<20)
	raw := buildPDF(append(pdfPage(""), deep))
	wantPDFRefused(t, raw, errPDFUnreadable, "")
	if _, why := scanPDF(raw); !errors.Is(why, errPDFTooDeep) {
		t.Fatalf("refused for %v, want the nesting bound", why)
	}
	// The same packed (and compressed) with the catalog, which pdfcpu
	// parses while it reads.
	content := []byte("1 0 2 9 " + "<< /Type /Catalog /Pages 2 0 R >> " + strings.Repeat("<</A ", 1<<20))
	packed := buildPDFPacked(t, append(pdfPage(""), "null"), map[int]bool{1: true, 5: true}, content)
	wantPDFRefused(t, packed, errPDFUnreadable, "")
	if _, why := scanPDF(packed); !errors.Is(why, errPDFTooDeep) {
		t.Fatalf("refused for %v, want the nesting bound", why)
	}
}
