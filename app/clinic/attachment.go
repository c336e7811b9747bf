package clinic

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"path"
	"strings"
	"time"
	"unicode"

	_ "image/gif" // decoded (then re-encoded as PNG) so uploads are normalised

	"hearth/app/store"
	"hearth/app/vault"
)

// Attachments: photos and PDFs a patient sends with a request (a rash, a
// pharmacy label, an insurance letter). Each file is its own sealed record,
// bound to the patient like everything else. Photos are decoded and
// re-encoded, which drops location and camera metadata (EXIF) and anything
// hidden after the image data; PDFs are parsed and refused if they hold
// active content (pdf.go), and kept as sent up to their last %%EOF.

const (
	MaxAttachments    = 3
	MaxAttachmentSize = 10 << 20
	maxPixels         = 40_000_000 // a decompression bomb declares far more
)

// Attachment describes a stored file; it rides on the message it came with.
type Attachment struct {
	ID   string `json:"id"`
	Name string `json:"name"` // sanitised file name
	Type string `json:"type"` // image/jpeg, image/png, application/pdf
	Size int    `json:"size"`
}

// Upload is a file as it arrived.
type Upload struct {
	Name string
	Data []byte
}

// ErrBadFile is any upload that is not a photo or PDF we accept.
var errBadFile = inputErr("files", "Attach photos (JPEG, PNG) or PDF files only, up to 10 MB each, at most 3.")

// cleanName keeps a file name that is safe in a header and on screen.
func cleanName(n string) string {
	n = path.Base(strings.ReplaceAll(n, "\\", "/"))
	var b strings.Builder
	for _, r := range n {
		switch {
		case r == '"' || r == ';' || r == '/' || unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069:
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if out == "" || out == "." || out == ".." {
		out = "file"
	}
	if len(out) > 100 {
		out = out[:100]
	}
	return out
}

// sniffImage names the image format from its signature bytes ("" if none).
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	}
	return ""
}

// normalize checks an upload and returns what to store.
func normalizeUpload(u Upload) (Attachment, []byte, error) {
	if len(u.Data) == 0 || len(u.Data) > MaxAttachmentSize {
		return Attachment{}, nil, errBadFile
	}
	name := cleanName(u.Name)
	sniff := sniffImage(u.Data)
	switch {
	case bytes.HasPrefix(u.Data, []byte("%PDF-")):
		data, err := checkPDF(u.Data)
		if err != nil {
			return Attachment{}, nil, err
		}
		if !strings.HasSuffix(strings.ToLower(name), ".pdf") {
			name += ".pdf"
		}
		return Attachment{Name: name, Type: "application/pdf", Size: len(data)}, data, nil
	case strings.HasPrefix(sniff, "image/jpeg"), strings.HasPrefix(sniff, "image/png"), strings.HasPrefix(sniff, "image/gif"):
		cfg, _, err := image.DecodeConfig(bytes.NewReader(u.Data))
		if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
			return Attachment{}, nil, errBadFile
		}
		img, _, err := image.Decode(bytes.NewReader(u.Data))
		if err != nil {
			return Attachment{}, nil, errBadFile
		}
		var out bytes.Buffer
		typ := "image/png"
		base := strings.TrimSuffix(name, path.Ext(name))
		if strings.HasPrefix(sniff, "image/jpeg") {
			typ = "image/jpeg"
			err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 88})
			name = base + ".jpg"
		} else {
			err = png.Encode(&out, img)
			name = base + ".png"
		}
		if err != nil {
			return Attachment{}, nil, errBadFile
		}
		return Attachment{Name: name, Type: typ, Size: out.Len()}, out.Bytes(), nil
	}
	return Attachment{}, nil, errBadFile
}

type fileRecord struct {
	Attachment
	ItemID string    `json:"item_id"`
	Data   []byte    `json:"data"`
	At     time.Time `json:"at"`
}

// prepareFiles checks and seals uploads for an item, outside any transaction.
func (c *Clinic) prepareFiles(itemID, owner string, ups []Upload) ([]Attachment, map[string][]byte, error) {
	if len(ups) > MaxAttachments {
		return nil, nil, errBadFile
	}
	var atts []Attachment
	sealed := map[string][]byte{}
	for _, u := range ups {
		a, data, err := normalizeUpload(u)
		if err != nil {
			return nil, nil, err
		}
		a.ID = newID()
		b, err := c.seal(vault.NewRef(bucketFiles, a.ID, owner), fileRecord{Attachment: a, ItemID: itemID, Data: data, At: c.now().UTC()})
		if err != nil {
			return nil, nil, err
		}
		atts = append(atts, a)
		sealed[a.ID] = b
	}
	return atts, sealed, nil
}

func putFiles(tx store.Tx, sealed map[string][]byte) error {
	for id, b := range sealed {
		if err := tx.Put(bucketFiles, id, b); err != nil {
			return err
		}
	}
	return nil
}

// File returns an attachment's bytes to someone who may see its item: the
// patient (or contact) it belongs to, or staff who may open the item.
func (c *Clinic) File(ctx context.Context, a Actor, id string) (Attachment, []byte, error) {
	if !validItemID(id) {
		return Attachment{}, nil, ErrNotFound
	}
	var f fileRecord
	// Only a missing record is ErrNotFound; a store or key failure is the
	// caller's 500, not a "no such file".
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefAnyPatient(bucketFiles, id), &f) })
	if err != nil {
		return Attachment{}, nil, err
	}
	var m ItemMeta
	if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, f.ItemID); return err }); err != nil {
		return Attachment{}, nil, err
	}
	switch a.Kind {
	case ActorStaff:
		if err := c.mayOpen(ctx, a, m); err != nil {
			if errors.Is(err, ErrBreakGlass) {
				return Attachment{}, nil, err
			}
			return Attachment{}, nil, ErrNotFound
		}
		if err := c.st.Update(ctx, func(tx store.Tx) error { return c.audit(tx, a, "file.read", "file:"+id, m.PatientID) }); err != nil {
			return Attachment{}, nil, err // no audit event, no read
		}
	case ActorPatient, ActorCaregiver:
		if m.PatientID == "" || m.PatientID != a.Patient {
			return Attachment{}, nil, ErrNotFound
		}
	case ActorContact:
		if m.ContactID == "" || m.ContactID != a.ID {
			return Attachment{}, nil, ErrNotFound
		}
	default:
		return Attachment{}, nil, ErrNotFound
	}
	return f.Attachment, f.Data, nil
}
