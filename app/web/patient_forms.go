package web

import (
	"errors"
	"io"
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
}

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
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.Name+"-hint")
	}
	if f.Err != "" {
		ids = append(ids, f.Name+"-err")
	}
	return strings.Join(ids, " ")
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

// inputError shows a clinic validation error on the form; false when err is
// not one.
func (pc *pctx) inputError(fv *formView, err error) bool {
	var ie *clinic.InputError
	if !errors.As(err, &ie) {
		return false
	}
	fv.setError(ie.Field, pc.fieldError(err))
	return true
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

// uploads reads the files attached to a multipart form (none for a plain one).
func (pc *pctx) uploads() ([]clinic.Upload, error) {
	if pc.r.MultipartForm == nil || pc.r.MultipartForm.File == nil {
		return nil, nil
	}
	var out []clinic.Upload
	for _, fh := range pc.r.MultipartForm.File["files"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // an empty file input
		}
		if len(out) == clinic.MaxAttachments || fh.Size > clinic.MaxAttachmentSize {
			return nil, &clinic.InputError{Field: "files", Msg: "too many or too large"}
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(f, clinic.MaxAttachmentSize+1))
		if cerr := f.Close(); err == nil {
			err = cerr // a spooled upload the server cannot close is a server fault
		}
		if err != nil {
			return nil, err
		}
		out = append(out, clinic.Upload{Name: fh.Filename, Data: b})
	}
	return out, nil
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
