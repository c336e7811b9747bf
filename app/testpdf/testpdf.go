// Package testpdf writes small PDF files for tests: the objects a test
// names, numbered from 1, with a classic cross-reference table and trailer,
// so each test says exactly what the file holds (a plain page, an
// OpenAction script, an embedded file…). It imports nothing of Hearth's, so
// any package's tests may use it, package clinic's own included.
package testpdf

import (
	"bytes"
	"fmt"
)

// Build numbers objs from 1 (object 1 must be the catalog) and writes them
// as a PDF 1.7 file with a cross-reference table and a trailer.
func Build(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// Plain is a one-page PDF with nothing active in it.
func Plain() []byte {
	return Build(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
	)
}
