package web

import (
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"hearth/app/clinic"
)

// field is one form control, described here and drawn by the "pfield"
// template, so every form gets the same labels, hints, errors next to the
// field (aria-describedby) and autocomplete tokens.
type field struct {
	Name     string // the form name and the element id
	Kind     string // text, tel, email, textarea, dob, checkbox
	Label    string
	Hint     string
	Value    string
	Err      string
	Auto     string // autocomplete token
	Required bool
	Optional string // "(optional)" in the page's language, for optional fields
	Max      int
	Mode     string // inputmode
	Checked  bool
	Big      bool   // a large textarea
	Before   string // a heading that starts a group of fields
	// A birth date is three boxes: month, day and year (day first in
	// Spanish, the way it is said).
	Month, Day, Year    string
	DayFirst            bool
	MonthL, DayL, YearL string
	// How the "pfield" template draws it, set by settle: flags instead of
	// comparisons of Kind, and Described written once.
	IsDOB, IsCheck, IsFile, IsArea bool
	Desc                           string
	// Keep: nothing a person typed is in the field, so its drawing depends
	// only on the language and the form, and is kept (see fragments).
	Keep bool
}

// settle sets the drawing flags, Desc and Keep.
func (f *field) settle() {
	f.IsDOB, f.IsCheck, f.IsFile, f.IsArea = f.Kind == "dob", f.Kind == "checkbox", f.Kind == "file", f.Kind == "textarea"
	f.Desc = f.Described()
	f.Keep = f.Value == "" && f.Month == "" && f.Day == "" && f.Year == ""
}

// Frozen is the field as a value, the key its kept drawing is found by.
func (f *field) Frozen() field { return *f }

// FirstID is the element the error summary links to.
func (f *field) FirstID() string {
	if f.Kind != "dob" {
		return f.Name
	}
	if f.DayFirst {
		return "dob_day"
	}
	return "dob_month"
}

// Described lists the ids that describe the control (hint, error).
func (f *field) Described() string {
	switch {
	case f.Hint != "" && f.Err != "":
		return f.Name + "-hint " + f.Name + "-err"
	case f.Hint != "":
		return f.Name + "-hint"
	case f.Err != "":
		return f.Name + "-err"
	}
	return ""
}

// formView is a form's data: where it posts, its hidden inputs, its fields
// and the errors summary.
type formView struct {
	Action    string
	Multipart bool // carries a file input
	Hidden    []hiddenInput
	Fields    []*field
	Submit    string
	Errors    []*field
	General   string // an error that belongs to no one field
}

type hiddenInput struct{ Name, Value string }

func (fv *formView) field(name string) *field {
	for _, f := range fv.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// setError puts msg next to its field (or at the top) and in the summary.
func (fv *formView) setError(name, msg string) {
	f := fv.field(name)
	if f == nil && (name == "dob_month" || name == "dob_day" || name == "dob_year") {
		f = fv.field("dob")
	}
	if f == nil {
		fv.General = msg
		return
	}
	f.Err = msg
	for _, e := range fv.Errors {
		if e == f {
			return
		}
	}
	fv.Errors = append(fv.Errors, f)
}

// inputError shows a clinic validation error on the form, every problem
// beside its field and in the summary (in the form's order); false when err
// is not one.
func (pc *pctx) inputError(fv *formView, err error) bool {
	all := clinic.AllInputErrors(err)
	if len(all) == 0 {
		return false
	}
	for _, ie := range all {
		fv.setError(ie.Field, pc.fieldError(ie))
	}
	fv.sortErrors()
	return true
}

// sortErrors puts the summary in the order the fields are on the page.
func (fv *formView) sortErrors() {
	at := func(f *field) int {
		for i, g := range fv.Fields {
			if g == f {
				return i
			}
		}
		return len(fv.Fields)
	}
	sort.SliceStable(fv.Errors, func(i, j int) bool { return at(fv.Errors[i]) < at(fv.Errors[j]) })
}

func (pc *pctx) text(name, label string, required bool) *field {
	f := &field{Name: name, Kind: "text", Label: pc.T(label), Required: required, Max: 500}
	if !required {
		f.Optional = pc.T("form.optional")
	}
	return f
}

// files is the optional photos-and-PDFs input.
func (pc *pctx) files() *field {
	return &field{Name: "files", Kind: "file", Label: pc.T("form.files"), Hint: pc.T("form.files.hint"), Optional: pc.T("form.optional")}
}

// maxFormText bounds the text fields of a patient form, all together.
const maxFormText = 1 << 20

// streamedForm is what readMultipart kept of a multipart form: the files,
// in memory, or why they were refused; and the in-flight reservation to give
// back when the request is done.
type streamedForm struct {
	files   []clinic.Upload
	fileErr error
	release func()
}

// done gives back the request's in-flight reservation.
func (f *streamedForm) done() {
	if f.release != nil {
		f.release()
	}
}

// uploads returns the files attached to a multipart form (none for a plain
// one), as readMultipart received them.
func (pc *pctx) uploads() ([]clinic.Upload, error) {
	return pc.mp.files, pc.mp.fileErr
}

// readMultipart reads a multipart patient form part by part into memory:
// nothing of it is ever written to a temporary file (net/http's
// ParseMultipartForm would spill every part over its memory limit, in
// plain text, into the temporary folder).
//
// Everything that can refuse the request is checked before the body is
// read: the csrf cookie must be there, the declared size must fit the
// route, and the request must fit the in-flight bounds (uploadGate). Then
// the csrf field must come, and match the cookie, before any file part
// (the form template puts it first), so a cross-site post is refused at its
// first part. For a visitor who is not signed in (their sign-in ended while
// they typed) only the words before the first file are read, so they can be
// shown again; the file is never read.
func (pc *pctx) readMultipart() (err error) {
	r := pc.r
	// From here on nothing may fall back to ParseMultipartForm, which
	// r.PostFormValue calls on a request whose PostForm is nil.
	r.PostForm, r.Form = url.Values{}, url.Values{}
	whole := false
	defer func() {
		if err != nil {
			// A body that breaks off after a file (no closing boundary,
			// a reset connection) is refused whole: no file of it is kept.
			pc.mp.files = nil
		}
		if !whole {
			// The rest of the body is not wanted: the connection closes
			// after the answer, rather than net/http reading (and
			// discarding) more of it first to reuse the connection.
			pc.w.Header().Set("Connection", "close")
		}
	}()
	ck, err := r.Cookie(pc.s.cookieName(csrfCookieName))
	if err != nil || ck.Value == "" {
		return errCSRF
	}
	max := maxBody(r)
	if r.ContentLength > max {
		return errTooLarge
	}
	signedIn := pc.signedIn()
	if !signedIn {
		max = min(max, maxFormText)
	}
	release, err := pc.s.uploads.admit(clientAddr(r), declaredSize(r, max))
	if err != nil {
		return err
	}
	pc.mp.release = release
	mr, err := r.MultipartReader()
	if err != nil {
		return errBadRequest
	}
	var text int64
	csrfOK := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			whole = true
			return nil
		}
		if err != nil {
			return bodyError(err)
		}
		if !isFilePart(p) {
			v, err := io.ReadAll(io.LimitReader(p, maxFormText-text+1))
			if err != nil {
				return bodyError(err)
			}
			if text += int64(len(v)); text > maxFormText {
				return errTooLarge
			}
			name := p.FormName()
			if name == "csrf" {
				if subtle.ConstantTimeCompare(v, []byte(ck.Value)) != 1 {
					return errCSRF
				}
				csrfOK = true
			}
			r.PostForm.Add(name, string(v))
			r.Form.Add(name, string(v))
			continue
		}
		if !csrfOK {
			return errCSRF
		}
		if !signedIn {
			return nil // the words are kept; the file is never read
		}
		if p.FormName() != "files" {
			continue // not a field of Hearth's forms: NextPart skips it, in memory
		}
		limit := int64(clinic.MaxAttachmentSize + 1)
		if len(pc.mp.files) == clinic.MaxAttachments {
			limit = 1 // enough to tell one more file from an empty input
		}
		b, err := io.ReadAll(io.LimitReader(p, limit))
		if err != nil {
			return bodyError(err)
		}
		switch {
		case len(b) == 0 && p.FileName() == "":
			// An empty file input.
		case len(pc.mp.files) == clinic.MaxAttachments || len(b) > clinic.MaxAttachmentSize:
			// The form is shown again with the files' error; the rest of
			// the body is not read.
			pc.mp.fileErr = &clinic.InputError{Field: "files", Msg: "too many or too large"}
			return nil
		default:
			pc.mp.files = append(pc.mp.files, clinic.Upload{Name: p.FileName(), Data: b})
		}
	}
}

// isFilePart tells a file input's part (its Content-Disposition has a
// filename parameter, even an empty one) from a text field's.
func isFilePart(p *multipart.Part) bool {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return false
	}
	_, ok := params["filename"]
	return ok
}

// bodyError words a body that could not be read: too large, or not a
// well-formed form.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	return errBadRequest
}

func (pc *pctx) area(name, label string, required bool) *field {
	f := pc.text(name, label, required)
	f.Kind, f.Max = "textarea", 10000
	return f
}

// dobField is the birth-date question, filled back from a posted form.
func (pc *pctx) dobField() *field {
	f := &field{Name: "dob", Kind: "dob", Label: pc.T("form.dob"), Hint: pc.T("form.dob.hint"), Required: true,
		DayFirst: pc.tr.DayFirst(), MonthL: pc.T("form.month"), DayL: pc.T("form.day"), YearL: pc.T("form.year")}
	if pc.r.PostForm != nil {
		f.Month, f.Day, f.Year = pc.form("dob_month"), pc.form("dob_day"), pc.form("dob_year")
	}
	return f
}

// postedDOB reads a birth date as typed: the dob field (1961-03-14 or
// 03/14/1961) or, when it is empty, the three boxes. It returns "" and a
// translation key when the boxes are incomplete.
func (pc *pctx) postedDOB() (string, string) {
	if d := strings.TrimSpace(pc.form("dob")); d != "" {
		return d, ""
	}
	m := strings.TrimSpace(pc.form("dob_month"))
	d := strings.TrimSpace(pc.form("dob_day"))
	y := strings.TrimSpace(pc.form("dob_year"))
	if m == "" && d == "" && y == "" {
		return "", "field.err.dob_missing"
	}
	mi, err1 := strconv.Atoi(m)
	di, err2 := strconv.Atoi(d)
	_, err3 := strconv.Atoi(y)
	switch {
	case err1 != nil || mi < 1 || mi > 12:
		return "", "field.err.dob_month"
	case err2 != nil || di < 1 || di > 31:
		return "", "field.err.dob_day"
	case err3 != nil || len(y) != 4:
		return "", "field.err.dob_year"
	}
	return m + "/" + d + "/" + y, ""
}

// itemFields are the questions one type of request asks, filled from a
// posted form or, for a call back, the patient's number on file.
func (pc *pctx) itemFields(typ string, withPhone bool, phone string) []*field {
	var fs []*field
	switch typ {
	case clinic.TypeRefill:
		med := pc.text("medication", "form.medication", true)
		med.Hint = pc.T("form.medication.hint")
		dose := pc.text("dose", "form.dose", false)
		dose.Hint = pc.T("form.dose.hint")
		ph := pc.text("pharmacy", "form.pharmacy", true)
		ph.Hint = pc.T("form.pharmacy.hint")
		fs = append(fs, med, dose, ph, pc.area("body", "form.body.more", false))
	case clinic.TypeAppointment:
		reason := pc.text("reason", "form.reason", true)
		reason.Hint = pc.T("form.reason.hint")
		pref := pc.text("preferred", "form.preferred", false)
		pref.Hint = pc.T("form.preferred.hint")
		fs = append(fs, reason, pref, pc.text("provider", "form.provider", false), pc.area("body", "form.body.more", false))
	case clinic.TypeCallback:
		if withPhone {
			p := pc.text("phone", "form.phone.call", true)
			p.Kind, p.Auto, p.Value, p.Hint = "tel", "tel", phone, pc.T("form.phone.hint")
			fs = append(fs, p)
		}
		best := pc.text("best_time", "form.best_time", false)
		best.Hint = pc.T("form.best_time.hint")
		fs = append(fs, best, pc.area("body", "form.body.callback", false))
	default:
		subj := pc.text("subject", "form.subject", false)
		subj.Max = 120
		body := pc.area("body", "form.body", true)
		body.Big = true
		body.Hint = pc.T("form.body.hint")
		fs = append(fs, subj, body)
	}
	if pc.r.PostForm != nil {
		for _, f := range fs {
			if v, ok := pc.r.PostForm[f.Name]; ok && len(v) > 0 {
				f.Value = v[0]
			}
		}
	}
	return fs
}

// itemInput collects a posted request of type typ.
func (pc *pctx) itemInput(typ string, fs []*field) clinic.NewItem {
	in := clinic.NewItem{Type: typ, Body: pc.form("body"), Fields: map[string]string{}, Lang: pc.tr.Lang()}
	for _, f := range fs {
		if f.Name != "body" {
			in.Fields[f.Name] = pc.form(f.Name)
		}
	}
	return in
}

// patientType is a compose type from a query or form, or message.
func patientType(s string) string {
	for _, t := range clinic.PatientTypes {
		if s == t {
			return t
		}
	}
	return clinic.TypeMessage
}

// deviceLabel describes a browser coarsely and without PHI, for the list of
// signed-in devices: "Android phone, Chrome", "iPhone, Safari", "Windows
// computer, Edge".
func deviceLabel(ua string) string {
	kind := "Computer"
	switch {
	case strings.Contains(ua, "iPhone"):
		kind = "iPhone"
	case strings.Contains(ua, "iPad"):
		kind = "iPad"
	case strings.Contains(ua, "Android") && strings.Contains(ua, "Mobile"):
		kind = "Android phone"
	case strings.Contains(ua, "Android"):
		kind = "Android tablet"
	case strings.Contains(ua, "CrOS"):
		kind = "Chromebook"
	case strings.Contains(ua, "Windows"):
		kind = "Windows computer"
	case strings.Contains(ua, "Macintosh"):
		kind = "Mac"
	case strings.Contains(ua, "Linux"):
		kind = "Linux computer"
	}
	browser := ""
	switch {
	case strings.Contains(ua, "Edg/") || strings.Contains(ua, "EdgA/") || strings.Contains(ua, "EdgiOS/"):
		browser = "Edge"
	case strings.Contains(ua, "SamsungBrowser/"):
		browser = "Samsung Internet"
	case strings.Contains(ua, "OPR/") || strings.Contains(ua, "Opera"):
		browser = "Opera"
	case strings.Contains(ua, "Firefox/") || strings.Contains(ua, "FxiOS/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "CriOS/") || strings.Contains(ua, "Chromium/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	}
	if browser == "" {
		return kind
	}
	return kind + ", " + browser
}

// deviceKinds translate the first part of a device label.
var deviceKinds = map[string]string{"Android phone": "device.android_phone", "Android tablet": "device.android_tablet",
	"Windows computer": "device.windows", "Linux computer": "device.linux", "Computer": "device.computer"}

// DeviceLabel shows a stored device label in the page's language.
func (t *tr) DeviceLabel(label string) string {
	kind, rest, _ := strings.Cut(label, ", ")
	if key, ok := deviceKinds[kind]; ok {
		kind = t.T(key)
	}
	if rest == "" {
		return kind
	}
	return kind + ", " + rest
}
