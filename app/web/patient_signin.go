package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hearth/app/clinic"
)

// The public patient pages: the landing page, invite letters, the
// no-account contact form and its private link, and asking for a new
// letter. Every birth-date check is throttled per address and per code.

type typeLink struct{ Type, URL, Label, Desc string }

func (pc *pctx) typeLinks(base string) []typeLink {
	out := make([]typeLink, 0, len(clinic.PatientTypes))
	for _, t := range clinic.PatientTypes {
		out = append(out, typeLink{Type: t, URL: base + "?type=" + t, Label: pc.T("action." + t), Desc: pc.T("action." + t + ".desc")})
	}
	return out
}

type hoursRow struct{ Days, Times string }

func (pc *pctx) hours() clinic.Hours { return pc.st.WeeklyHours() }

func clockParts(s string) (int, int) {
	if len(s) != 5 {
		return 0, 0
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	return h, m
}

// hoursRows writes the weekly hours, Monday first, with days that share
// their hours grouped: "Monday – Friday: 9 am – 5 pm".
func (pc *pctx) hoursRows() []hoursRow {
	h := pc.hours()
	spanText := func(d time.Weekday) string {
		var parts []string
		for _, sp := range h.Weekly[d] {
			oh, om := clockParts(sp.Open)
			ch, cm := clockParts(sp.Close)
			parts = append(parts, pc.tr.Clock(oh, om)+" – "+pc.tr.Clock(ch, cm))
		}
		if len(parts) == 0 {
			return pc.T("hours.closed")
		}
		return strings.Join(parts, ", ")
	}
	order := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	var rows []hoursRow
	for i := 0; i < len(order); {
		j := i
		for j+1 < len(order) && spanText(order[j+1]) == spanText(order[i]) {
			j++
		}
		days := pc.tr.Weekday(order[i])
		switch {
		case j == i+1:
			days = pc.T("hours.pair", "a", days, "b", pc.tr.Weekday(order[j]))
		case j > i+1:
			days = pc.T("hours.range", "from", days, "to", pc.tr.Weekday(order[j]))
		}
		rows = append(rows, hoursRow{Days: upperFirst(days), Times: spanText(order[i])})
		i = j + 1
	}
	return rows
}

// openStatus says whether the clinic is open now and until when, or when it
// next opens.
func (pc *pctx) openStatus() (bool, string) {
	h, loc, now := pc.hours(), pc.st.Location(), pc.s.c.Now()
	if h.IsOpen(now, loc) {
		local := now.In(loc)
		mins := local.Hour()*60 + local.Minute()
		for _, sp := range h.Weekly[local.Weekday()] {
			oh, om := clockParts(sp.Open)
			ch, cm := clockParts(sp.Close)
			if oh*60+om <= mins && mins < ch*60+cm {
				return true, pc.T("hours.open_until", "until", pc.tr.Until(ch, cm))
			}
		}
		return true, pc.T("hours.open")
	}
	next := h.NextOpen(now, loc)
	if next.Equal(now) {
		return false, pc.T("hours.closed_now")
	}
	return false, pc.T("hours.closed_until", "time", pc.tr.When(next))
}

type landingPage struct {
	Types   []typeLink
	Hours   []hoursRow
	OpenNow bool
	Status  string
	Expect  string
}

func (s *Server) pageLanding(pc *pctx) error {
	switch {
	case pc.r.URL.Query().Get("signin") == "1" && !pc.signedIn():
		pc.note = "notice.signin"
	case pc.r.URL.Query().Get("signedout") == "1":
		pc.note = "notice.signedout"
	}
	lp := landingPage{Types: pc.typeLinks("/new"), Hours: pc.hoursRows()}
	lp.OpenNow, lp.Status = pc.openStatus()
	if due, _, err := s.c.ExpectedReply(pc.r.Context(), clinic.TypeMessage, false); err == nil {
		lp.Expect = pc.T("landing.expect", "time", pc.tr.When(due))
	}
	return pc.render(http.StatusOK, "p_landing.html", pc.T("landing.title"), lp)
}

// pageCode takes the code typed on the landing page to its invite.
func (s *Server) pageCode(pc *pctx) error {
	code := strings.Join(strings.Fields(pc.r.URL.Query().Get("code")), "")
	if code == "" || len(code) > 40 {
		return pc.redirect("/?signin=1")
	}
	return pc.redirect("/i/" + url.PathEscape(code))
}

// verifyPage is the birth-date check, for an invite letter or a private
// link.
type verifyPage struct {
	Heading, Lead string
	Form          *formView
	Invite        bool
}

func (pc *pctx) verifyForm(action string, shared bool) *formView {
	fv := &formView{Action: action, Submit: pc.T("verify.submit"), Fields: []*field{pc.dobField()}}
	if shared {
		fv.Fields = append(fv.Fields, &field{Name: "shared", Kind: "checkbox", Label: pc.T("verify.shared"),
			Hint: pc.T("verify.shared.hint"), Checked: pc.form("shared") != ""})
	}
	return fv
}

// throttleKey keeps secrets out of the limiter's memory.
func throttleKey(kind, secret string) string {
	h := sha256.Sum256([]byte(secret))
	return kind + ":" + hex.EncodeToString(h[:12])
}

// badLink answers a code or link that does not work: a 404 page that
// says what to do, the same for a wrong, used or expired code.
func (pc *pctx) badLink(invite bool) error {
	key := "badlink"
	if invite {
		key = "badcode"
	}
	ep := errorPage{Heading: pc.T(key + ".title"), Msg: pc.T(key+".msg", "phone", pc.st.Phone), Home: true, Letter: invite}
	return pc.render(http.StatusNotFound, "p_error.html", ep.Heading, ep)
}

func (pc *pctx) codeThrottled(targetKey string) bool {
	l := pc.s.limits
	return l.blocked("pcode-client:"+clientAddr(pc.r), l.PerClient) || targetKey != "" && l.blocked(targetKey, l.CodePerTarget)
}

func (pc *pctx) codeFailed(targetKey string) {
	pc.s.limits.fail("pcode-client:" + clientAddr(pc.r))
	if targetKey != "" {
		pc.s.limits.fail(targetKey)
	}
}

func (s *Server) pageInviteForm(pc *pctx) error {
	code := pc.r.PathValue("code")
	if pc.codeThrottled("") {
		return errTooMany
	}
	if _, err := s.c.LookupInvite(pc.r.Context(), code); err != nil {
		pc.codeFailed("")
		return pc.badLink(true)
	}
	vp := verifyPage{Heading: pc.T("invite.title"), Lead: pc.T("invite.lead", "clinic", pc.st.ClinicName), Invite: true,
		Form: pc.inviteForm("/i/" + url.PathEscape(code))}
	return pc.render(http.StatusOK, "p_verify.html", vp.Heading, vp)
}

// pageInviteRedeem checks the birth date for an invite letter and
// remembers this device. Every failure (wrong date, used or expired code)
// gets one answer.
func (s *Server) pageInviteRedeem(pc *pctx) error {
	code := pc.r.PathValue("code")
	target := throttleKey("pcode", clinic.NormalizeCode(code))
	vp := verifyPage{Heading: pc.T("invite.title"), Lead: pc.T("invite.lead", "clinic", pc.st.ClinicName), Invite: true,
		Form: pc.inviteForm("/i/" + url.PathEscape(code))}
	return pc.signInByBirthDate(target, vp, func(dob string, shared bool) (string, error) {
		dev, token, err := s.c.RedeemInvite(pc.r.Context(), code, dob, deviceLabel(pc.r.UserAgent()), shared, clientAddr(pc.r))
		if err == nil && pc.form("texts") != "" && dev.Caregiver == "" {
			s.inviteTexts(pc, dev)
		}
		return token, err
	})
}

// signInByBirthDate is the birth-date step of an invite letter or an
// emailed link: redeem checks the birth date and makes the device; on
// success the device is remembered and the patient goes to /me, otherwise
// the page shows again with its error (throttled per target and address).
func (pc *pctx) signInByBirthDate(target string, vp verifyPage, redeem func(dob string, shared bool) (string, error)) error {
	status, err := pc.checkDOB(target, func(dob string) error {
		shared := pc.form("shared") != ""
		token, err := redeem(dob, shared)
		if err != nil {
			return err
		}
		pc.rememberDevice(token, shared)
		return nil
	}, vp.Form)
	if err != nil {
		return err
	}
	if status == 0 {
		return pc.redirect("/me")
	}
	return pc.render(status, "p_verify.html", vp.Heading, vp)
}

// rememberDevice sets the device cookie: 180 days, or the browser session
// on a shared computer.
func (pc *pctx) rememberDevice(token string, shared bool) {
	maxAge := int(clinic.DeviceLifetime / time.Second)
	if shared {
		maxAge = 0
	}
	pc.setSessionCookie(deviceCookieName, token, maxAge)
	pc.setSessionCookie(contactCookieName, "", -1)
}

// checkDOB runs a birth-date check through the throttle. It returns 0 on
// success, or the status to show the form again with (its error set).
func (pc *pctx) checkDOB(target string, check func(dob string) error, fv *formView) (int, error) {
	if pc.codeThrottled(target) {
		fv.setError("dob", pc.T("verify.toomany", "phone", pc.st.Phone))
		return http.StatusTooManyRequests, nil
	}
	dob, problem := pc.postedDOB()
	if problem != "" {
		fv.setError("dob", pc.T(problem))
		return http.StatusBadRequest, nil
	}
	if _, err := clinic.ParseDOB(dob, pc.s.c.Now()); err != nil {
		fv.setError("dob", pc.fieldError(err))
		return http.StatusBadRequest, nil
	}
	err := check(dob)
	var ie *clinic.InputError
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, clinic.ErrCodeInvalid), errors.Is(err, clinic.ErrNotFound):
		pc.codeFailed(target)
		fv.setError("dob", pc.T("verify.nomatch", "phone", pc.st.Phone))
		return http.StatusBadRequest, nil
	case errors.As(err, &ie):
		fv.setError("dob", pc.fieldError(err))
		return http.StatusBadRequest, nil
	}
	return 0, err
}

func (s *Server) pageLinkForm(pc *pctx) error {
	token := pc.r.PathValue("token")
	if pc.codeThrottled("") {
		return errTooMany
	}
	if _, err := s.c.ContactFor(pc.r.Context(), token); err != nil {
		pc.codeFailed("")
		return pc.badLink(false)
	}
	vp := verifyPage{Heading: pc.T("link.title"), Lead: pc.T("link.lead"), Form: pc.verifyForm("/c/"+url.PathEscape(token), false)}
	return pc.render(http.StatusOK, "p_verify.html", vp.Heading, vp)
}

// pageLinkCheck opens a no-account contact's requests for this
// browser session after the birth-date check.
func (s *Server) pageLinkCheck(pc *pctx) error {
	token := pc.r.PathValue("token")
	vp := verifyPage{Heading: pc.T("link.title"), Lead: pc.T("link.lead"), Form: pc.verifyForm("/c/"+url.PathEscape(token), false)}
	var actor clinic.Actor
	status, err := pc.checkDOB(throttleKey("plink", token), func(dob string) error {
		ct, a, err := s.c.CheckContactDOB(pc.r.Context(), token, dob, clientAddr(pc.r))
		if err != nil {
			return err
		}
		sess, err := s.c.StartContactSession(pc.r.Context(), ct)
		if err != nil {
			return err
		}
		pc.setSessionCookie(contactCookieName, sess, 0)
		actor = a
		return nil
	}, vp.Form)
	if err != nil {
		return err
	}
	if status != 0 {
		return pc.render(status, "p_verify.html", vp.Heading, vp)
	}
	items, err := s.c.PatientItems(pc.r.Context(), actor)
	if err != nil || len(items) == 0 {
		return pc.redirect("/me")
	}
	return pc.redirect("/t/" + items[0].ID)
}

// contactPage is the no-account form, also shown with the words a signed-out
// patient typed, so they are not lost.
type contactPage struct {
	Type    string
	Heading string
	Lead    string
	Form    *formView
	Types   []typeLink
	Kept    bool // shown again after the sign-in ended mid-typing
}

func (pc *pctx) contactForm(typ string) *formView {
	name := pc.text("name", "form.name", true)
	name.Auto, name.Max = "name", 120
	phone := pc.text("phone", "form.phone", true)
	phone.Kind, phone.Auto, phone.Hint = "tel", "tel", pc.T("form.phone.hint")
	email := pc.text("email", "form.email", false)
	email.Kind, email.Auto, email.Hint = "email", "email", pc.T("form.email.hint")
	fv := &formView{Action: "/contact", Submit: pc.T("form.send"), Hidden: []hiddenInput{{"type", typ}}}
	name.Before = pc.T("contact.about_you")
	items := pc.itemFields(typ, false, "")
	items[0].Before = pc.T("contact.your_request")
	fv.Fields = append([]*field{name, pc.dobField(), phone, email}, items...)
	if pc.r.PostForm != nil {
		for _, f := range fv.Fields[:4] {
			if f.Kind != "dob" {
				f.Value = pc.form(f.Name)
			}
		}
	}
	return fv
}

func (pc *pctx) contactPage(typ string) contactPage {
	var others []typeLink
	for _, l := range pc.typeLinks("/contact") {
		if l.Type != typ {
			others = append(others, l)
		}
	}
	return contactPage{Type: typ, Heading: pc.T("contact.title." + typ), Lead: pc.T("contact.lead"), Form: pc.contactForm(typ), Types: others}
}

func (s *Server) pageContactForm(pc *pctx) error {
	typ := patientType(pc.r.URL.Query().Get("type"))
	cp := pc.contactPage(typ)
	return pc.render(http.StatusOK, "p_contact.html", cp.Heading, cp)
}

// ackView is the acknowledgement: when a person will answer, what to do if
// it gets worse, emergency guidance for urgent wording (with the crisis
// line for self-harm wording), and when the clinic is closed, that it is,
// when it opens and a person will read it, and its after-hours line; a
// closed clinic never promises an answer before it opens.
type ackView struct {
	Due        string // open: when a person will answer
	Urgent     bool
	Crisis     string // the crisis line, for self-harm wording
	CrisisHref string
	AfterHours string // closed: "We're closed now. We open …"
	Read       string // closed: a person reads it when the clinic opens
	Line       string // closed: the clinic's after-hours line, if it has one
	LineHref   string
	Note       string // closed: the owner's after-hours message
	OnCall     string // closed, urgent: the on-call clinician was paged
}

func (pc *pctx) ackFor(it clinic.Item, afterHours bool) ackView {
	urgent := it.Priority == clinic.PriorityUrgent
	a := ackView{Urgent: urgent}
	if urgent && it.SelfHarm() {
		a.Crisis = pc.st.Crisis()
		a.CrisisHref = telHref(a.Crisis)
	}
	loc, h := pc.st.Location(), pc.hours()
	if afterHours || !h.IsOpen(it.Created, loc) {
		a.AfterHours = pc.T("ack.closed", "time", pc.tr.When(h.NextOpen(it.Created, loc)))
		a.Read = pc.T("ack.read", "clinic", pc.st.ClinicName)
		a.Line, a.LineHref = pc.st.AfterHoursPhone, telHref(pc.st.AfterHoursPhone)
		a.Note = pc.st.AfterHoursText
		if it.PageID != "" {
			a.OnCall = pc.T("ack.oncall")
		}
		return a
	}
	a.Due = pc.T("ack.due", "clinic", pc.st.ClinicName, "time", pc.tr.When(pc.st.ReplyBy(it.Created, it.Type, urgent)))
	return a
}

type sentPage struct {
	Ack        *ackView
	PrivateURL string
	ItemURL    string
	Letter     bool
}

// pageContactSend files a first contact from someone without an account
// and shows the acknowledgement with their private link, once.
func (s *Server) pageContactSend(pc *pctx) error {
	typ := patientType(pc.form("type"))
	cp := pc.contactPage(typ)
	clientKey := "pcontact-client:" + clientAddr(pc.r)
	if s.limits.blocked(clientKey, contactsPerClient) {
		cp.Form.General = pc.T("err.toomany")
		return pc.render(http.StatusTooManyRequests, "p_contact.html", cp.Heading, cp)
	}
	dob, problem := pc.postedDOB()
	in := clinic.PatientInput{Name: pc.form("name"), DOB: dob, Phone: pc.form("phone"), Email: pc.form("email"), Lang: pc.tr.Lang()}
	item := pc.itemInput(typ, cp.Form.Fields[4:])
	if typ == clinic.TypeCallback {
		item.Fields["phone"] = in.Phone
	}
	if problem != "" {
		// The other answers are checked too, so every problem shows at once.
		pc.formProblems(cp.Form, problem, s.c.CheckContact(&in, &item))
		return pc.render(http.StatusBadRequest, "p_contact.html", cp.Heading, cp)
	}
	ack, token, err := s.c.CreateContact(pc.r.Context(), in, item, clientAddr(pc.r))
	if pc.inputError(cp.Form, err) {
		return pc.render(http.StatusBadRequest, "p_contact.html", cp.Heading, cp)
	}
	if err != nil {
		return err
	}
	s.limits.fail(clientKey)
	// The person who wrote can follow their request in this browser at once.
	if ct, err := s.c.ContactFor(pc.r.Context(), token); err == nil {
		if sess, err := s.c.StartContactSession(pc.r.Context(), ct); err == nil {
			pc.setSessionCookie(contactCookieName, sess, 0)
		}
	}
	a := pc.ackFor(ack.Item, ack.AfterHours)
	sp := sentPage{Ack: &a, PrivateURL: s.publicBase(pc.r) + "/c/" + token, ItemURL: "/t/" + ack.Item.ID}
	return pc.render(http.StatusOK, "p_sent.html", pc.T("sent.title"), sp)
}

// formProblems shows a birth date the boxes could not make (problem, a
// translation key) together with every other problem check found.
func (pc *pctx) formProblems(fv *formView, problem string, check error) {
	for _, ie := range clinic.AllInputErrors(check) {
		if ie.Field != "dob" {
			fv.setError(ie.Field, pc.fieldError(ie))
		}
	}
	fv.setError("dob", pc.T(problem))
	fv.sortErrors()
}

func (pc *pctx) letterForm() *formView {
	name := pc.text("name", "form.name", true)
	name.Auto, name.Max = "name", 120
	phone := pc.text("phone", "form.phone", true)
	phone.Kind, phone.Auto, phone.Hint = "tel", "tel", pc.T("form.phone.hint")
	note := pc.area("body", "letter.note", false)
	fv := &formView{Action: "/letter", Submit: pc.T("letter.submit"), Fields: []*field{name, pc.dobField(), phone, note}}
	if pc.r.PostForm != nil {
		for _, f := range fv.Fields {
			if f.Kind != "dob" {
				f.Value = pc.form(f.Name)
			}
		}
	}
	return fv
}

type letterPage struct{ Form *formView }

func (s *Server) pageLetterForm(pc *pctx) error {
	return pc.render(http.StatusOK, "p_letter.html", pc.T("letter.title"), letterPage{Form: pc.letterForm()})
}

// pageLetterSend asks the front desk for a new invite letter: for a new
// phone or a lost letter, so losing a device is never a dead end.
func (s *Server) pageLetterSend(pc *pctx) error {
	lp := letterPage{Form: pc.letterForm()}
	clientKey := "pcontact-client:" + clientAddr(pc.r)
	if s.limits.blocked(clientKey, contactsPerClient) {
		lp.Form.General = pc.T("err.toomany")
		return pc.render(http.StatusTooManyRequests, "p_letter.html", pc.T("letter.title"), lp)
	}
	dob, problem := pc.postedDOB()
	in := clinic.PatientInput{Name: pc.form("name"), DOB: dob, Phone: pc.form("phone"), Lang: pc.tr.Lang()}
	if problem != "" {
		item := clinic.InviteRequestItem(in, pc.form("body"))
		pc.formProblems(lp.Form, problem, s.c.CheckContact(&in, &item))
		return pc.render(http.StatusBadRequest, "p_letter.html", pc.T("letter.title"), lp)
	}
	ack, _, err := s.c.RequestInvite(pc.r.Context(), in, pc.form("body"), clientAddr(pc.r))
	if pc.inputError(lp.Form, err) {
		return pc.render(http.StatusBadRequest, "p_letter.html", pc.T("letter.title"), lp)
	}
	if err != nil {
		return err
	}
	s.limits.fail(clientKey)
	a := pc.ackFor(ack.Item, ack.AfterHours)
	sp := sentPage{Ack: &a, Letter: true}
	return pc.render(http.StatusOK, "p_sent.html", pc.T("letter.sent.title"), sp)
}

// pageSignOut forgets this browser: the device is revoked (its
// token never works again) and the cookies are cleared.
func (s *Server) pageSignOut(pc *pctx) error {
	if d := pc.sess.device; d != nil {
		if err := s.c.RevokeDevice(pc.r.Context(), pc.actor(), d.ID); err != nil && !errors.Is(err, clinic.ErrNotFound) {
			return err
		}
	}
	if ck, err := pc.r.Cookie(s.cookieName(contactCookieName)); err == nil && ck.Value != "" {
		// The cookie is cleared below either way; a session left behind
		// ends at its own expiry.
		if err := s.c.EndContactSession(pc.r.Context(), ck.Value); err != nil {
			s.log.Warn("contact session not ended at sign-out", "err", err)
		}
	}
	pc.setSessionCookie(deviceCookieName, "", -1)
	pc.setSessionCookie(contactCookieName, "", -1)
	return pc.redirect("/?signedout=1")
}
