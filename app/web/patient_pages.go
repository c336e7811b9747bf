package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"hearth/app/clinic"
	"hearth/app/i18n"
)

// The patient side: server-rendered pages and plain forms that work with
// JavaScript off, in the patient's language, for people on old phones, with
// large text, or in a hurry at 11 pm.
//
// Who the caller is comes from one of two cookies: a remembered device
// (hearth_device, after an invite letter and a birth-date check) or a
// browser-session contact (hearth_contact, after the birth-date check on a
// private link from the no-account contact form). Every patient form carries
// a hidden csrf input that must equal the hearth_csrf cookie, on top of the
// Origin check wrap() runs for every POST.
//
// A patient can only ever reach their own items: the clinic package answers
// "not found" for anyone else's, and these pages turn that into a plain 404
// that says nothing about whether the item exists.

// Budgets for what patients write, counted per limiter window
// (Limits.Window, 15 minutes by default). They sit far above what a person
// types and low enough that a runaway script cannot flood the inbox.
const (
	itemsPerPatient   = 10  // new requests per patient or contact per window (≈40 an hour)
	repliesPerPatient = 30  // replies per patient or contact per window
	writesPerClient   = 120 // all patient writes from one address per window (a waiting room shares one)
	contactsPerClient = 10  // no-account contacts and new-letter requests per address per window (≈40 an hour)
)

// Cookie names; under TLS they take the __Host- prefix (Secure, Path=/, no
// Domain), which a sibling subdomain cannot overwrite.
const (
	deviceCookieName  = "hearth_device"
	contactCookieName = "hearth_contact"
	csrfCookieName    = "hearth_csrf"
)

func (s *Server) cookieName(base string) string {
	if s.tls {
		return "__Host-" + base
	}
	return base
}

// patientSession is who a patient-side request speaks for.
type patientSession struct {
	actor   clinic.Actor // kind patient, caregiver or contact; "anonymous" when signed out
	device  *clinic.Device
	contact *clinic.Contact
}

func (ps patientSession) signedIn() bool {
	switch ps.actor.Kind {
	case clinic.ActorPatient, clinic.ActorCaregiver, clinic.ActorContact:
		return true
	}
	return false
}

// resolvePatient reads the device cookie, then the contact cookie.
func (s *Server) resolvePatient(r *http.Request) patientSession {
	client := clientAddr(r)
	if ck, err := r.Cookie(s.cookieName(deviceCookieName)); err == nil && ck.Value != "" {
		if d, a, err := s.c.DeviceFor(r.Context(), ck.Value, client); err == nil {
			return patientSession{actor: a, device: &d}
		}
	}
	if ck, err := r.Cookie(s.cookieName(contactCookieName)); err == nil && ck.Value != "" {
		if ct, a, err := s.c.ContactSession(r.Context(), ck.Value, client); err == nil {
			return patientSession{actor: a, contact: &ct}
		}
	}
	return patientSession{actor: clinic.Actor{Kind: clinic.ActorAnonymous, Client: client}}
}

// authPatient is the access rule for "patient" routes. It resolves the
// cookies into rc.actor. A caller with neither cookie is not refused here:
// the actor is "anonymous", which every clinic call refuses, and the page
// (see pp) sends them to sign in, or, for a form posted after the device
// expired mid-typing, shows what they typed so it is not lost.
func (s *Server) authPatient(r *http.Request, rt route, rc *reqCtx) error {
	ps := s.resolvePatient(r)
	rc.actor, rc.patient = ps.actor, &ps
	return nil
}

// pctx is one patient-page request.
type pctx struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	cat   *i18n.Catalog
	tr    *tr
	st    clinic.Settings
	sess  patientSession
	known *patientSession
	pat   *clinic.Patient // the patient whose record this is (patient or caregiver)
	csrf  string
	note  string       // a status line shown at the top of the page (a translation key)
	mp    streamedForm // a multipart form's files, read by readMultipart
	q     url.Values   // the URL's query, parsed once (see query)
}

// query is the request URL's query, parsed on first use.
func (pc *pctx) query() url.Values {
	if pc.q == nil {
		pc.q = pc.r.URL.Query()
	}
	return pc.q
}

type patientHandler func(pc *pctx) error

// pp adapts a patient page to a route handler: it resolves who is calling,
// picks the language, checks POSTed forms (form encoding and the csrf
// token), and writes every error as a page in the patient's language.
func (s *Server) pp(h patientHandler) handler {
	cat := s.c.Words()
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if cat == nil {
			return errNoCatalog
		}
		if r.Method == http.MethodHead {
			// A HEAD (a mail scanner checking a link) is a GET whose body
			// net/http drops: pages that serve GET and POST from one
			// handler must show, never act (use a sign-in link, unsubscribe).
			get := *r
			get.Method = http.MethodGet
			r = &get
		}
		pc := &pctx{s: s, w: w, r: r, cat: cat, known: rc.patient}
		defer pc.mp.done()
		if err := pc.start(); err != nil {
			return pc.fail(err)
		}
		if err := h(pc); err != nil {
			return pc.fail(err)
		}
		return nil
	}
}

// errNoCatalog: the clinic was opened without the embed/ folder
// (clinic.Deps.Files), so it has no words for the patient pages.
var errNoCatalog = errors.New("web: the clinic has no message catalogue")

func (pc *pctx) start() error {
	ctx := pc.r.Context()
	st, err := pc.s.c.Settings(ctx)
	if err != nil {
		return err
	}
	pc.st = st
	if pc.known != nil {
		pc.sess = *pc.known // already resolved by the route's access check
	} else {
		pc.sess = pc.s.resolvePatient(pc.r)
	}
	saved := ""
	if pc.sess.actor.Kind == clinic.ActorPatient || pc.sess.actor.Kind == clinic.ActorCaregiver {
		if p, err := pc.s.c.PatientOf(ctx, pc.sess.actor); err == nil {
			pc.pat = &p
			if pc.sess.actor.Kind == clinic.ActorPatient { // a caregiver may not read the patient's language
				saved = p.Lang
			}
		}
	} else if pc.sess.contact != nil {
		saved = pc.sess.contact.Lang
	}
	lang := pc.s.pickLang(pc.w, pc.r, pc.cat, saved)
	if pc.query().Get("lang") != "" && lang != saved && pc.sess.actor.Kind == clinic.ActorPatient && !crossSite(pc.r) {
		// Best effort: the cookie remembers the choice anyway.
		if err := pc.s.c.SetPatientLang(ctx, pc.sess.actor, lang); err != nil {
			pc.s.log.Warn("patient language not saved", "route", routeOf(pc.r), "err", err)
		}
	}
	pc.tr = speak(pc.cat, lang, st.Location(), pc.s.c.Now())
	if isSafeMethod(pc.r.Method) {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(pc.r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		err = pc.r.ParseForm()
	case "multipart/form-data":
		// Streamed into memory, and refused before the body is read where
		// it can be: see readMultipart.
		if err := pc.readMultipart(); err != nil {
			return err
		}
	default:
		return errNotForm
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return errBadRequest
	}
	ck, err := pc.r.Cookie(pc.s.cookieName(csrfCookieName))
	got := pc.r.PostFormValue("csrf")
	if err != nil || ck.Value == "" || got == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(got)) != 1 {
		return errCSRF
	}
	pc.csrf = ck.Value
	return nil
}

// crossSite reports a request a browser says another site or origin
// started (a link or form elsewhere): a GET that saves a choice, like
// ?lang=, must not save it then (the page still shows in that language).
// A typed address or bookmark says "none"; clients that send no
// Sec-Fetch-Site are not browsers acting for someone else.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return false
	}
	return true
}

// T translates in the page's language.
func (pc *pctx) T(key string, args ...any) string { return pc.tr.T(key, args...) }

func (pc *pctx) signedIn() bool { return pc.sess.signedIn() }

// actor is who clinic calls are made as.
func (pc *pctx) actor() clinic.Actor { return pc.sess.actor }

func (pc *pctx) form(name string) string { return pc.r.PostFormValue(name) }

// csrfToken returns the form token, setting the cookie the first time.
func (pc *pctx) csrfToken() string {
	if pc.csrf != "" {
		return pc.csrf
	}
	if ck, err := pc.r.Cookie(pc.s.cookieName(csrfCookieName)); err == nil && len(ck.Value) == 43 && isBase64URL(ck.Value) {
		pc.csrf = ck.Value
		return pc.csrf
	}
	b := make([]byte, 32)
	rand.Read(b)
	pc.csrf = base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(pc.w, &http.Cookie{Name: pc.s.cookieName(csrfCookieName), Value: pc.csrf, Path: "/",
		HttpOnly: true, Secure: pc.s.tls, SameSite: http.SameSiteLaxMode})
	return pc.csrf
}

func isBase64URL(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// setSessionCookie sets (maxAge > 0), keeps for the browser session
// (maxAge == 0) or clears (maxAge < 0) a patient cookie.
func (pc *pctx) setSessionCookie(base, value string, maxAge int) {
	http.SetCookie(pc.w, &http.Cookie{Name: pc.s.cookieName(base), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: pc.s.tls, SameSite: http.SameSiteLaxMode})
}

func (pc *pctx) redirect(to string) error {
	http.Redirect(pc.w, pc.r, to, http.StatusSeeOther)
	return nil
}

// errSignIn sends a signed-out visitor to the start page, which asks them
// to sign in with their letter.
var errSignIn = errors.New("web: patient sign-in needed")

// needSignIn is what a page that needs a signed-in patient returns first.
func (pc *pctx) needSignIn() error {
	if pc.signedIn() {
		return nil
	}
	return errSignIn
}

// pview is what every patient template gets as .Data.
type pview struct {
	*tr
	Clinic    string
	Phone     string
	PhoneHref string
	Emergency string
	Crisis    string // the crisis line shown with self-harm wording; "" for none
	CrisisRef string // Crisis as dialable digits
	CSRF      string
	SignedIn  bool
	IsContact bool
	Caregiver string // the caregiver's name when a caregiver is signed in
	FirstName string
	Note      string
	Langs     []langLink
	Script    bool
	MailReady bool // the clinic can send email (sign-in links)
	W         pageWords
	// The inputs of the frame's parts drawn once per language and clinic
	// (see fragments).
	Top   frameTop
	Foot  frameFoot
	SOS   sosLine
	Alarm urgentLive
	Page  any
}

// The inputs of the frame's kept parts: comparable, and never a patient's.
type (
	frameTop  struct{ Clinic, Skip, NavLabel string }
	sosLine   struct{ Lead, Number, Call string }
	frameFoot struct {
		SOS                      sosLine
		Clinic, Phone, PhoneHref string
	}
	// urgentLive is the emergency guidance patient.js shows while
	// someone types urgent words.
	urgentLive struct {
		Title, Msg, Number, Call                  string
		Crisis, CrisisRef, CrisisText, CrisisCall string
		Still                                     string
	}
)

// pageWords are the words of the blocks every patient page shares (the
// frame, the emergency lines, forms, the acknowledgement), looked up once
// per page: each translation a template asks for (its T method) is a
// reflective method call.
type pageWords struct {
	Skip, NavLabel, NavMe, Signout, Private string
	SOSLead, SOSCall                        string // "If this is an emergency,", "call 911."
	UrgentTitle, UrgentMsg, UrgentCall      string
	UrgentCrisis, UrgentCrisisCall          string // with the crisis line, when the clinic has one
	UrgentLiveStill, UrgentStill            string
	FormProblem                             string
	AckTitle, AckLine, AckEmergency         string
	AckWorse                                string
}

func (pc *pctx) pageWords(emergency, crisis string) pageWords {
	w := pageWords{Skip: pc.T("skip"), NavLabel: pc.T("nav.label"), NavMe: pc.T("nav.me"), Signout: pc.T("nav.signout"),
		Private: pc.T("foot.private"), SOSLead: pc.T("sos.lead"), SOSCall: pc.T("sos.call", "number", emergency),
		UrgentTitle: pc.T("urgent.title"), UrgentMsg: pc.T("urgent.msg", "number", emergency),
		UrgentCall: pc.T("urgent.call", "number", emergency), UrgentLiveStill: pc.T("urgent.live_still"),
		UrgentStill: pc.T("urgent.still"), FormProblem: pc.T("form.problem"), AckTitle: pc.T("ack.title"),
		AckLine: pc.T("ack.line"), AckEmergency: pc.T("ack.emergency"), AckWorse: pc.T("ack.worse")}
	if crisis != "" {
		w.UrgentCrisis = pc.T("urgent.crisis", "number", crisis)
		w.UrgentCrisisCall = pc.T("urgent.crisis_call", "number", crisis)
	}
	return w
}

type langLink struct{ Lang, Label, URL string }

// formCtx hands a form and the page's view to the "pform" template.
type formCtx struct {
	V *pview
	F *formView
}

// Form pairs a form with the view, for {{template "pform" ($v.Form .Form)}},
// and settles how each field is drawn (see field.settle), now that its
// hint and error are known.
func (v *pview) Form(f *formView) formCtx {
	for _, fd := range f.Fields {
		fd.settle()
	}
	return formCtx{V: v, F: f}
}

// ackBox is everything the "pack" template draws: an acknowledgement,
// the words and the clinic's numbers. It is comparable and holds nothing
// of a patient's (when a person will answer, the clinic's hours and lines),
// so the drawing is kept for the next acknowledgement that says the same
// (see fragments).
type ackBox struct {
	A                           ackView
	W                           pageWords
	Emergency, Phone, PhoneHref string
}

// AckBox pairs an acknowledgement with the view's words and numbers.
func (v *pview) AckBox(a *ackView) ackBox {
	return ackBox{A: *a, W: v.W, Emergency: v.Emergency, Phone: v.Phone, PhoneHref: v.PhoneHref}
}

// telHref is a phone number as dialable digits, for tel: links.
func telHref(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (pc *pctx) view(data any) *pview {
	v := &pview{tr: pc.tr, Clinic: pc.st.ClinicName, Phone: pc.st.Phone, PhoneHref: telHref(pc.st.Phone),
		Emergency: pc.st.EmergencyNumber, CSRF: pc.csrfToken(), SignedIn: pc.signedIn(),
		IsContact: pc.sess.actor.Kind == clinic.ActorContact, MailReady: pc.st.MailReady(), Page: data}
	if v.Emergency == "" {
		v.Emergency = "911"
	}
	v.Crisis = pc.st.Crisis()
	v.CrisisRef = telHref(v.Crisis)
	v.W = pc.pageWords(v.Emergency, v.Crisis)
	v.Top = frameTop{Clinic: v.Clinic, Skip: v.W.Skip, NavLabel: v.W.NavLabel}
	v.SOS = sosLine{Lead: v.W.SOSLead, Number: v.Emergency, Call: v.W.SOSCall}
	v.Foot = frameFoot{SOS: v.SOS, Clinic: v.Clinic, Phone: v.Phone, PhoneHref: v.PhoneHref}
	v.Alarm = urgentLive{Title: v.W.UrgentTitle, Msg: v.W.UrgentMsg, Number: v.Emergency, Call: v.W.UrgentCall,
		Crisis: v.Crisis, CrisisRef: v.CrisisRef, CrisisText: v.W.UrgentCrisis, CrisisCall: v.W.UrgentCrisisCall, Still: v.W.UrgentLiveStill}
	if pc.note != "" {
		v.Note = pc.T(pc.note)
	}
	switch {
	case pc.sess.device != nil && pc.sess.device.Caregiver != "":
		v.Caregiver = pc.sess.device.Caregiver
		if pc.pat != nil {
			v.FirstName = pc.pat.FirstName()
		}
	case pc.pat != nil:
		v.FirstName = pc.pat.FirstName()
	case pc.sess.contact != nil:
		v.FirstName, _, _ = strings.Cut(pc.sess.contact.Name, " ")
	}
	for _, l := range pc.cat.Langs() {
		if l == pc.tr.Lang() {
			continue
		}
		u := *pc.r.URL
		q := u.Query()
		q.Set("lang", l)
		if !isSafeMethod(pc.r.Method) {
			q = url.Values{"lang": {l}}
		}
		u.RawQuery = q.Encode()
		name, _ := pc.cat.Text(l, "lang.name")
		v.Langs = append(v.Langs, langLink{Lang: l, Label: name, URL: u.RequestURI()})
	}
	return v
}

// render writes a patient page.
func (pc *pctx) render(status int, name, title string, data any) error {
	v := pc.view(data)
	return pc.s.render(pc.w, pc.r, status, name, page{Title: title, Clinic: v.Clinic, Lang: pc.tr.Lang(), Data: v})
}

// errorPage is p_error.html's data.
type errorPage struct {
	Heading, Msg, Ref string
	Home              bool
	Letter            bool   // offer to ask for a new letter
	Text              string // what the person typed, when a form could not be sent
}

// fail writes err as a page in the patient's language. Nothing internal
// reaches the page; anything unexpected is logged with a reference.
func (pc *pctx) fail(err error) error {
	if errors.Is(err, errSignIn) {
		return pc.redirect("/?signin=1")
	}
	if pc.tr == nil { // settings failed: no language yet
		pc.tr = speak(pc.cat, defaultLang, nil, pc.s.c.Now())
	}
	status, head, msg, ref := http.StatusInternalServerError, "err.server.title", "err.server", ""
	var ie *clinic.InputError
	switch {
	case errors.Is(err, errCSRF):
		status, head, msg = http.StatusForbidden, "err.csrf.title", "err.csrf"
	case errors.Is(err, errNotFound), errors.Is(err, clinic.ErrNotFound), errors.Is(err, clinic.ErrForbidden):
		status, head, msg = http.StatusNotFound, "err.notfound.title", "err.notfound"
	case errors.Is(err, errTooMany):
		status, head, msg = http.StatusTooManyRequests, "err.toomany.title", "err.toomany"
	case errors.Is(err, errUploadsBusy):
		status, head, msg = http.StatusTooManyRequests, "err.busy.title", "err.busy"
	case errors.Is(err, errTooLarge):
		status, head, msg = http.StatusRequestEntityTooLarge, "err.badrequest.title", "err.toolarge"
		if strings.HasPrefix(pc.r.Header.Get("Content-Type"), "multipart/") { // a form that carries files
			msg = "err.toolarge.files"
		}
	case errors.Is(err, errNotForm), errors.Is(err, errBadRequest):
		status, head, msg = http.StatusBadRequest, "err.badrequest.title", "err.badrequest"
		if errors.Is(err, errNotForm) {
			status = http.StatusUnsupportedMediaType
		}
	case errors.Is(err, clinic.ErrLocked):
		status, head, msg = http.StatusServiceUnavailable, "err.locked.title", "err.locked"
	case errors.Is(err, clinic.ErrStorageFull), errors.Is(err, clinic.ErrStorageFailed):
		// The disk refused the write: say plainly that nothing was sent.
		status, head, msg = errStorageFailed.Status, "err.storage.page.title", "err.storage"
		if errors.Is(err, clinic.ErrStorageFull) {
			status = errStorageFull.Status
		}
		if !isSafeMethod(pc.r.Method) {
			head, msg = "err.storage.title", "err.storage.notsent"
		}
	case errors.As(err, &ie):
		status, head, msg = http.StatusBadRequest, "err.badrequest.title", ""
	default:
		ref = requestID()
		pc.s.log.Error("request failed", "route", routeOf(pc.r), "request_id", ref, "err", err)
	}
	ep := errorPage{Heading: pc.T(head), Ref: ref, Home: true}
	if msg != "" {
		ep.Msg = pc.T(msg, "ref", ref)
	} else {
		ep.Msg = pc.fieldError(err)
	}
	if !isSafeMethod(pc.r.Method) && pc.r.PostForm != nil {
		ep.Text = strings.TrimSpace(pc.r.PostFormValue("body"))
	}
	if rerr := pc.render(status, "p_error.html", ep.Heading, ep); rerr != nil {
		return err
	}
	return nil
}

// fieldError words a clinic validation error for the person, in their
// language. The clinic's messages are English; the field and the kind of
// problem pick the translation.
func (pc *pctx) fieldError(err error) string {
	var ie *clinic.InputError
	if !errors.As(err, &ie) {
		return pc.T("err.badrequest")
	}
	switch {
	case strings.Contains(ie.Msg, "cannot be stored"):
		return pc.T("field.err.chars")
	case strings.Contains(ie.Msg, "shorter") || strings.Contains(ie.Msg, "under "):
		return pc.T("field.err.long")
	case ie.Field == "dob" && strings.Contains(ie.Msg, "not possible"):
		return pc.T("field.err.dob_impossible")
	}
	key := "field.err." + ie.Field
	if pc.tr.Has(key) {
		return pc.T(key)
	}
	return pc.T("field.err.generic")
}
