package clinic

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func testJPEG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := 0; x < 40; x++ {
		img.Set(x, x%30, color.RGBA{200, 30, 30, 255})
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	// Splice an EXIF segment with a GPS-looking payload after SOI.
	exif := append([]byte{0xFF, 0xE1, 0x00, 0x20}, []byte("Exif\x00\x00GPS 40.7128N 74.0060W cam")...)
	exif = exif[:0x20+2]
	out := append([]byte{}, raw[:2]...)
	out = append(out, exif...)
	return append(out, raw[2:]...)
}

func TestAttachmentsAreCleanedAndScoped(t *testing.T) {
	ic := newInbox(t)
	ctx := context.Background()
	photo := testJPEG(t)
	if !bytes.Contains(photo, []byte("GPS 40.7128N")) {
		t.Fatal("the test photo lacks its EXIF segment")
	}
	polyglot := append(append([]byte{}, photo...), []byte("<html><script>alert(1)</script></html>")...)
	// A real (if small) PDF: one that pdfcpu cannot read is refused now
	// (pdf_test.go).
	pdf := buildPDF(pdfPage(""))
	ack, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "Rash on my arm, photos attached",
		Files: []Upload{{Name: `../../etc/"rash";.jpg`, Data: polyglot}, {Name: "letter.pdf", Data: pdf}}})
	if err != nil {
		t.Fatal(err)
	}
	_, msgs, _ := ic.c.PatientThread(ctx, ic.patA, ack.Item.ID)
	files := msgs[0].Files
	if len(files) != 2 || files[0].Type != "image/jpeg" || files[1].Type != "application/pdf" {
		t.Fatalf("files: %+v", files)
	}
	if strings.ContainsAny(files[0].Name, `/"; `+"\\") {
		t.Fatalf("unsafe name kept: %q", files[0].Name)
	}
	a, data, err := ic.c.File(ctx, ic.patA, files[0].ID)
	if err != nil || a.Type != "image/jpeg" {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("GPS")) || bytes.Contains(data, []byte("Exif")) || bytes.Contains(data, []byte("<script")) {
		t.Fatal("metadata or appended data survived")
	}
	if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("the cleaned photo does not decode: %v", err)
	}
	if _, _, err := ic.c.File(ctx, ic.patB, files[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("patient B fetched A's photo: %v", err)
	}
	if _, _, err := ic.c.File(ctx, ic.front, files[1].ID); err != nil {
		t.Fatalf("front desk fetching the PDF: %v", err)
	}
	// Refused: SVG, HTML, an oversized claim, too many files, too large.
	var bomb bytes.Buffer
	if err := png.Encode(&bomb, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := bomb.Bytes()
	// Rewrite the IHDR width/height to 50,000 x 50,000 (CRC is not checked by DecodeConfig).
	copy(b[16:24], []byte{0, 0, 0xC3, 0x50, 0, 0, 0xC3, 0x50})
	for name, up := range map[string][]Upload{
		"svg":       {{Name: "x.svg", Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)}},
		"html":      {{Name: "x.jpg", Data: []byte("<html><body>hi</body></html>")}},
		"bomb":      {{Name: "big.png", Data: b}},
		"too many":  {{"a.pdf", pdf}, {"b.pdf", pdf}, {"c.pdf", pdf}, {"d.pdf", pdf}},
		"too large": {{Name: "huge.pdf", Data: append([]byte("%PDF-"), make([]byte, MaxAttachmentSize)...)}},
		"empty":     {{Name: "e.pdf", Data: nil}},
	} {
		_, err := ic.c.CreateItem(ctx, ic.patA, NewItem{Type: TypeMessage, Body: "see attached", Files: up})
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "files" {
			t.Errorf("%s: %v, want a files input error", name, err)
		}
	}
	rep, _ := ic.c.Verify(ctx)
	if !rep.OK() {
		t.Fatalf("verify: %v", rep.Problems)
	}
}
