package clinic

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// PDF uploads. A PDF is stored as sent, but only after pdfcpu has parsed it
// and every object of the parsed file (object streams decoded) has been
// walked for active content: anything that runs a script, starts a program,
// submits or fetches data, carries a file inside, or plays media. Such a
// file is refused, not rewritten: the patient is asked to re-save it or send
// a photo, and staff never receive something a viewer would act on by
// itself. Names are compared after #xx decoding, so /J#61vaScript is
// /JavaScript. Bytes after the last %%EOF are not part of the document and
// are cut off before anything is stored. A file pdfcpu cannot read is
// refused too.

var (
	errPDFActive     = inputErr("pdf_active", "This PDF contains scripts, actions or embedded files, which we do not accept. Save it again as a plain PDF (for example with Print, then Save as PDF), or send a photo of the pages.")
	errPDFUnreadable = inputErr("pdf_unreadable", "We could not read this PDF. Save it again as a PDF, or send a photo of the pages.")
)

const (
	// pdfDecodeBudget bounds the bytes decoded from the streams pdfcpu
	// unpacks while reading (object and cross-reference streams): an honest
	// file needs a few MB; a decompression bomb would need gigabytes.
	pdfDecodeBudget = 64 << 20
	// pdfMaxFirst bounds an object stream's /First (its table of
	// contents), which pdfcpu decodes before anything else.
	pdfMaxFirst = 1 << 20
	// pdfParseTime bounds the parse and the walk.
	pdfParseTime = 10 * time.Second
	// pdfMaxSpan bounds how many object headers a dictionary may seem
	// to contain (in strings) before the file is refused.
	pdfMaxSpan = 16
	// pdfMaxNesting bounds how deep arrays and dictionaries may nest in
	// what pdfcpu parses (about 500 bytes of stack a level).
	pdfMaxNesting = 10_000
	// pdfMaxDepth bounds how deep the walk goes into one object (honest
	// files nest a handful of levels; deeper is refused as unreadable).
	pdfMaxDepth = 64
)

// Keys whose presence alone is active content, wherever they appear.
var pdfActiveKeys = map[string]bool{
	"JS":                true, // a JavaScript action's script
	"JavaScript":        true, // the document-level script name tree
	"AA":                true, // additional actions: run on open, close, page view, field events
	"EmbeddedFiles":     true, // the name tree of files carried inside
	"EF":                true, // a file specification with the file inside it
	"XFA":               true, // XML forms, which carry their own scripts
	"RichMediaContent":  true, // Flash/video annotations
	"RichMediaSettings": true,
}

// Values of /S, /Type and /Subtype that are active content: action types
// that run code, open other files or programs, send or fetch form data,
// play media, and annotations that carry files or 3D/rich media.
var pdfActiveNames = map[string]bool{
	"JavaScript":       true,
	"Launch":           true,
	"SubmitForm":       true,
	"ImportData":       true,
	"GoToR":            true,
	"GoToE":            true,
	"Rendition":        true,
	"Movie":            true,
	"Sound":            true,
	"RichMedia":        true,
	"RichMediaExecute": true,
	"3D":               true,
	"EmbeddedFile":     true,
	"FileAttachment":   true,
}

var pdfConfigOnce sync.Once

// pdfConfig is pdfcpu's configuration for reading untrusted uploads: no
// configuration directory (pdfcpu would otherwise create one under the
// user's home and install fonts there), no network, relaxed parsing.
func pdfConfig() *model.Configuration {
	pdfConfigOnce.Do(func() { model.ConfigPath = "disable" })
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Offline = true
	conf.DecodeAllStreams = false
	return conf
}

// errPDFFound carries what was found, for tests; the person sees
// errPDFActive.
type errPDFFound struct{ what string }

func (e errPDFFound) Error() string { return "pdf: active content: " + e.what }

// checkPDF returns the bytes to store for an uploaded PDF: the file cut
// after its last %%EOF, once nothing active was found in it. Its error is
// errPDFActive or errPDFUnreadable.
func checkPDF(data []byte) ([]byte, error) {
	kept, err := scanPDF(data)
	var found errPDFFound
	switch {
	case err == nil:
		return kept, nil
	case errors.As(err, &found):
		return nil, errPDFActive
	default:
		return nil, errPDFUnreadable
	}
}

// scanPDF is checkPDF with the reason: errPDFFound names the key or action
// found; any other error means the file could not be read.
func scanPDF(data []byte) (kept []byte, err error) {
	defer func() {
		// pdfcpu is a large parser fed by strangers: a panic in it is an
		// unreadable file, not a crashed request.
		if r := recover(); r != nil {
			kept, err = nil, fmt.Errorf("pdf: parser panic: %v", r)
		}
	}()
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return nil, errors.New("pdf: no header")
	}
	kept, err = cutAfterEOF(data)
	if err != nil {
		return nil, err
	}
	if nestingOver(kept, pdfMaxNesting) {
		return nil, errPDFTooDeep
	}
	budget := int64(pdfDecodeBudget)
	if err := boundPackedStreams(kept, &budget); err != nil {
		return nil, err
	}
	c, cancel := context.WithTimeout(context.Background(), pdfParseTime)
	defer cancel()
	ctx, err := pdfcpu.ReadWithContext(c, bytes.NewReader(kept), pdfConfig())
	if err != nil {
		return nil, fmt.Errorf("pdf: parse: %w", err)
	}
	w := pdfWalker{c: c, xt: ctx.XRefTable, budget: pdfDecodeBudget}
	if err := w.decodeObjectStreams(); err != nil {
		return nil, err
	}
	if err := w.walkTable(); err != nil {
		return nil, err
	}
	return kept, nil
}

// cutAfterEOF returns data up to its last %%EOF marker and the end of that
// line. Whatever follows (an HTML page glued on, say) is no part of the
// document, and is never stored.
func cutAfterEOF(data []byte) ([]byte, error) {
	i := bytes.LastIndex(data, []byte("%%EOF"))
	if i < 0 {
		return nil, errors.New("pdf: no %%EOF")
	}
	end := i + len("%%EOF")
	if end < len(data) && data[end] == '\r' {
		end++
	}
	if end < len(data) && data[end] == '\n' {
		end++
	}
	return data[:end:end], nil
}

// objHeader finds "N G obj" anywhere in the raw file.
var objHeader = regexp.MustCompile(`\d+[\x00\t\n\f\r ]+\d+[\x00\t\n\f\r ]+obj`)

// boundPackedStreams keeps pdfcpu's reading within bounds. While it reads,
// pdfcpu decodes every cross-reference stream in full and the start of
// every object stream (up to its /First), with no limit of its own. So
// before it runs, each such stream is found in the raw file (with pdfcpu's
// own object parser, so hex-escaped names are read as pdfcpu reads them):
// it may have no filter or FlateDecode alone, an object stream's /First
// must be small, and each is measured here within the budget before
// pdfcpu sees it (object streams are also checked for deep nesting, as
// pdfcpu parses the catalog from one while it reads). An object stream
// that cannot be measured (an encrypted file's) is refused: pdfcpu would
// decode it without a limit.
func boundPackedStreams(data []byte, budget *int64) error {
	s := string(data)
	heads := objHeader.FindAllStringIndex(s, -1)
	for i, m := range heads {
		// An object is parsed from its header to the next one, so the
		// whole file is parsed about once. A dictionary that seems to run
		// past the next header (a fake one in a string, say) is given up
		// to pdfMaxSpan more; one that still does not parse is refused,
		// so no object stream escapes this check by hiding its end.
		var (
			o    types.Object
			rest string
			err  error
			end  int
		)
		isDict := strings.HasPrefix(strings.TrimLeft(s[m[1]:], "\x00\t\n\f\r "), "<<")
		for j := i + 1; ; j++ {
			end = len(s)
			if j < len(heads) {
				end = heads[j][0]
			}
			rest = s[m[1]:end]
			if o, err = model.ParseObject(&rest); err == nil || !isDict || end == len(s) {
				break
			}
			if j-i > pdfMaxSpan {
				return errors.New("pdf: a dictionary that does not end")
			}
		}
		if err != nil {
			if isDict {
				return fmt.Errorf("pdf: unreadable dictionary: %w", err)
			}
			continue
		}
		d, ok := o.(types.Dict)
		if !ok {
			continue
		}
		typ := pdfName(d["Type"])
		if typ != "ObjStm" && typ != "XRef" {
			continue
		}
		fs, err := pdfFilters(d)
		if err != nil {
			return err
		}
		if typ == "ObjStm" {
			first, ok := d["First"].(types.Integer)
			if !ok || first < 0 || first > pdfMaxFirst {
				return errors.New("pdf: object stream /First missing or too large")
			}
		}
		start := streamStart(rest)
		if start < 0 || len(fs) == 0 {
			continue // no data, or stored as is: no bigger than the file
		}
		// From the data's start to the end of the file: more than the
		// stream, never less (inflating stops at the end of its own data).
		from := end - len(rest) + start
		n, err := inflatedSize(data[from:], *budget)
		if err != nil {
			return err
		}
		if n > *budget {
			return errPDFTooBig
		}
		*budget -= n
		if typ == "ObjStm" {
			// pdfcpu parses objects packed here while it reads (the
			// catalog, for its version): they must not nest too deep
			// for its parser either.
			sd := types.StreamDict{Raw: data[from:], FilterPipeline: fs}
			if err := sd.Decode(); err != nil {
				return err
			}
			if nestingOver(sd.Content, pdfMaxNesting) {
				return errPDFTooDeep
			}
		}
	}
	return nil
}

var errPDFTooDeep = errors.New("pdf: arrays or dictionaries nested too deep")

// nestingOver says whether arrays and dictionaries in b could nest deeper
// than limit. pdfcpu's parser recurses once per level, and a stack that
// overflows ends the whole process (no recover), so this runs before any
// parser sees the bytes. It counts every bracket, in strings and binary
// data too: it can only overstate, and random data stays far below the
// limit.
func nestingOver(b []byte, limit int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case '<':
			if i+1 < len(b) && b[i+1] == '<' {
				depth++
				i++
			}
		case '>':
			if i+1 < len(b) && b[i+1] == '>' {
				if depth > 0 {
					depth--
				}
				i++
			}
		}
		if depth > limit {
			return true
		}
	}
	return false
}

// streamStart is where a stream's data begins in what follows its
// dictionary, or -1 if no "stream" keyword comes next.
func streamStart(rest string) int {
	i := 0
	for i < len(rest) && bytes.IndexByte([]byte("\x00\t\n\f\r "), rest[i]) >= 0 {
		i++
	}
	if len(rest)-i < len("stream") || rest[i:i+len("stream")] != "stream" {
		return -1
	}
	i += len("stream")
	if i < len(rest) && rest[i] == '\r' {
		i++
	}
	if i < len(rest) && rest[i] == '\n' {
		i++
	}
	return i
}

// pdfFilters reads a packed stream's filter pipeline: none, or FlateDecode
// alone, which decodeBounded can bound.
func pdfFilters(d types.Dict) ([]types.PDFFilter, error) {
	var fs []types.PDFFilter
	parms, _ := d["DecodeParms"].(types.Dict)
	switch f := d["Filter"].(type) {
	case nil:
	case types.Name:
		fs = append(fs, types.PDFFilter{Name: pdfName(f), DecodeParms: parms})
	case types.Array:
		if len(f) > 1 {
			return nil, errors.New("pdf: packed stream with a chain of filters")
		}
		if len(f) == 1 {
			if pa, ok := d["DecodeParms"].(types.Array); ok && len(pa) == 1 {
				parms, _ = pa[0].(types.Dict)
			}
			fs = append(fs, types.PDFFilter{Name: pdfName(f[0]), DecodeParms: parms})
		}
	default:
		return nil, errors.New("pdf: packed stream with an unreadable filter")
	}
	for _, f := range fs {
		// The specification allows others; writers use Flate, and only
		// Flate is measured before it is decoded.
		if f.Name != filter.Flate {
			return nil, errors.New("pdf: packed stream with a filter other than FlateDecode")
		}
	}
	return fs, nil
}

var errPDFTooBig = errors.New("pdf: decodes to more than we accept")

// inflatedSize is how many bytes raw inflates to, counting no further than
// limit+1. Like pdfcpu, it takes a stream cut short or with a bad checksum
// for what it holds so far.
func inflatedSize(raw []byte, limit int64) (int64, error) {
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, limit+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, zlib.ErrChecksum) {
		return 0, err
	}
	return n, nil
}

// decodeBounded decodes raw through fs (no filter, or FlateDecode), taking
// what it yields from budget; errPDFTooBig if the budget runs out. The size
// is measured before anything is kept, so a bomb costs only the time to
// inflate the budget.
func decodeBounded(raw []byte, fs []types.PDFFilter, budget *int64) ([]byte, error) {
	if len(fs) == 0 {
		return raw, nil
	}
	n, err := inflatedSize(raw, *budget)
	if err != nil {
		return nil, err
	}
	if n > *budget {
		return nil, errPDFTooBig
	}
	// Within bounds: pdfcpu's filter decodes it for real (with its
	// predictor, which only ever shrinks the data).
	sd := types.StreamDict{Raw: raw, FilterPipeline: fs}
	if err := sd.Decode(); err != nil {
		return nil, err
	}
	*budget -= int64(len(sd.Content))
	return sd.Content, nil
}

// pdfName is a name object's value, #xx sequences decoded ("" if o is no name).
func pdfName(o types.Object) string {
	n, ok := o.(types.Name)
	if !ok {
		return ""
	}
	return decodedName(string(n))
}

// decodedName applies PDF name decoding to a name pdfcpu kept as written.
func decodedName(s string) string {
	if d, err := types.DecodeName(s); err == nil {
		return d
	}
	return s
}

// pdfWalker walks every object of a parsed file.
type pdfWalker struct {
	c      context.Context
	xt     *model.XRefTable
	budget int64
	packed map[int]types.Object // objects unpacked from object streams, by number
}

// decodeObjectStreams decodes each object stream within the budget, after
// pdfcpu has decrypted it, parses the objects packed in it (as pdfcpu
// would: its own parser) and walks them. pdfcpu's own lazy decoding, which
// has no limit, is never asked for.
func (w *pdfWalker) decodeObjectStreams() error {
	w.packed = map[int]types.Object{}
	for nr, e := range w.xt.Table {
		if e == nil || e.Free {
			continue
		}
		osd, ok := e.Object.(types.ObjectStreamDict)
		if !ok {
			continue
		}
		if len(osd.FilterPipeline) > 1 {
			return errors.New("pdf: object stream with a chain of filters")
		}
		content, err := decodeBounded(osd.Raw, osd.FilterPipeline, &w.budget)
		if err != nil {
			return err
		}
		first := osd.FirstObjOffset
		if first < 0 || first > len(content) {
			return fmt.Errorf("pdf: object stream %d: bad /First", nr)
		}
		fields := bytes.Fields(bytes.ReplaceAll(content[:first], []byte{0}, []byte{' '}))
		if len(fields)%2 != 0 {
			return fmt.Errorf("pdf: object stream %d: bad table of contents", nr)
		}
		for i := 0; i < len(fields); i += 2 {
			if err := w.c.Err(); err != nil {
				return err
			}
			objNr, err1 := strconv.Atoi(string(fields[i]))
			from, err2 := strconv.Atoi(string(fields[i+1]))
			to := len(content) - first
			if i+3 < len(fields) {
				n, err := strconv.Atoi(string(fields[i+3]))
				if err != nil {
					return fmt.Errorf("pdf: object stream %d: bad offset", nr)
				}
				to = n
			}
			if err1 != nil || err2 != nil || from < 0 || to < from || first+to > len(content) {
				return fmt.Errorf("pdf: object stream %d: bad offset", nr)
			}
			text := string(content[first+from : first+to])
			o, err := model.ParseObjectContext(w.c, &text)
			if err != nil {
				return fmt.Errorf("pdf: object stream %d: %w", nr, err)
			}
			if err := w.walk(o, 0); err != nil {
				return err
			}
			w.packed[objNr] = o
		}
	}
	return nil
}

// walkTable looks at every object the cross-reference table holds (those
// packed in object streams included) and at every object packed in an
// object stream, listed or not.
func (w *pdfWalker) walkTable() error {
	for nr, e := range w.xt.Table {
		if err := w.c.Err(); err != nil {
			return err
		}
		if e == nil || e.Free {
			continue
		}
		if e.Object == nil {
			if nr == 0 {
				continue
			}
			// A listed object pdfcpu could not parse: a lenient viewer
			// might still read it, so neither can we vouch for the file.
			return fmt.Errorf("pdf: object %d could not be read", nr)
		}
		if err := w.walk(e.Object, 0); err != nil {
			return err
		}
	}
	return nil
}

func (w *pdfWalker) walk(o types.Object, depth int) error {
	if depth > pdfMaxDepth {
		return errors.New("pdf: nested too deep")
	}
	switch o := o.(type) {
	case types.Dict:
		return w.dict(o, depth)
	case types.StreamDict:
		return w.dict(o.Dict, depth)
	case types.XRefStreamDict:
		return w.dict(o.Dict, depth)
	case types.ObjectStreamDict:
		if err := w.dict(o.Dict, depth); err != nil {
			return err
		}
		for _, x := range o.ObjArray {
			if err := w.walk(x, depth+1); err != nil {
				return err
			}
		}
	case types.LazyObjectStreamObject:
		// A packed object: walked with its object stream.
		return nil
	case types.Array:
		for _, x := range o {
			if err := w.walk(x, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *pdfWalker) dict(d types.Dict, depth int) error {
	for k, v := range d {
		key := decodedName(k)
		if pdfActiveKeys[key] {
			return errPDFFound{"/" + key}
		}
		switch key {
		case "S", "Type", "Subtype":
			if n := pdfName(v); pdfActiveNames[n] {
				return errPDFFound{"/" + key + " /" + n}
			}
		case "OpenAction":
			if err := w.openAction(v); err != nil {
				return err
			}
		}
		if err := w.walk(v, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// openAction allows what a document opens on when it is only a place in
// it: a destination, or a GoTo action. Anything else is active content.
func (w *pdfWalker) openAction(v types.Object) error {
	o := v
	if ref, ok := v.(types.IndirectRef); ok {
		nr := ref.ObjectNumber.Value()
		if p, ok := w.packed[nr]; ok {
			o = p
		} else if e, ok := w.xt.Table[nr]; ok && e != nil && !e.Free {
			o = e.Object
		} else {
			o = nil
		}
	}
	switch o := o.(type) {
	case nil, types.Array, types.Name, types.StringLiteral, types.HexLiteral:
		return nil
	case types.Dict:
		if pdfName(o["S"]) == "GoTo" {
			return nil // its /Next, if any, is walked like any other dictionary
		}
	}
	return errPDFFound{"/OpenAction"}
}
