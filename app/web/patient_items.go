package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"hearth/app/clinic"
	"hearth/app/i18n"
)

// A signed-in patient's pages: their requests, composing one, a thread
// with replies, and their devices and access report. Every clinic call is
// made as the patient's own actor, so another patient's item is simply not
// found.

// roleWord names a staff role the way patients say it.
func (pc *pctx) roleWord(role string) string {
	if pc.tr.Has("role." + role) {
		return pc.T("role." + role)
	}
	return pc.T("role.staff")
}

// itemTitle is what a request is called in lists and on its page.
func (pc *pctx) itemTitle(it clinic.Item) string {
	switch it.Type {
	case clinic.TypeRefill:
		return pc.T("title.refill", "medication", it.Fields["medication"])
	case clinic.TypeAppointment:
		return pc.T("title.appointment", "reason", it.Fields["reason"])
	case clinic.TypeCallback, clinic.TypeInviteRequest:
		return pc.T("type." + it.Type)
	}
	if it.Subject != "" {
		return it.Subject
	}
	return pc.T("type." + it.Type)
}

func (pc *pctx) typeWord(t string) string {
	if pc.tr.Has("type." + t) {
		return pc.T("type." + t)
	}
	return pc.T("type.message")
}

// itemType is the tag a request shows: its type, or "Message from the
// clinic" for a conversation the clinic started.
func (pc *pctx) itemType(it clinic.Item) string {
	if it.Outreach != nil {
		return pc.T("thread.from_clinic")
	}
	return pc.typeWord(it.Type)
}

// statusOf says where a request stands, in words: sent, seen by whom and
// when, a call that reached nobody (what it came to), answered, waiting for
// the patient, closed. A call nobody picked up is never "answered".
func (pc *pctx) statusOf(it clinic.Item) (string, string) {
	if it.Status != clinic.StatusClosed && it.Status != clinic.StatusWaiting {
		if at, tried := it.CallTried(); tried {
			return pc.T("status.call." + at.Result()), "tried"
		}
	}
	if it.Outreach != nil && it.Status == clinic.StatusWaiting {
		return pc.T("status.from_clinic"), "answered" // the clinic wrote first: nothing was asked
	}
	switch {
	case it.Status == clinic.StatusClosed:
		return pc.T("status.closed"), "closed"
	case it.Status == clinic.StatusWaiting:
		return pc.T("status.waiting"), "answered"
	case it.Answered():
		return pc.T("status.answered"), "answered"
	case len(it.SeenBy) > 0:
		s := it.SeenBy[0]
		return pc.T("status.seen", "name", s.Name, "role", pc.roleWord(s.Role), "when", pc.tr.On(s.At)), "seen"
	}
	return pc.T("status.sent"), "sent"
}

type itemRow struct {
	URL, Title, Type, Sent, ISO, Status, Class string
	Urgent                                     bool
	Unread                                     bool     // a conversation the clinic started, not opened yet
	Calls                                      []string // each call-back try, in the patient's words
}

func (pc *pctx) itemRow(it clinic.Item) itemRow {
	st, cls := pc.statusOf(it)
	row := itemRow{URL: "/t/" + it.ID, Title: pc.itemTitle(it), Type: pc.itemType(it), Sent: pc.tr.On(it.Created),
		ISO: pc.tr.ISO(it.Created), Status: st, Class: cls, Urgent: it.Priority == clinic.PriorityUrgent,
		Unread: it.Outreach != nil && it.Outreach.ReadAt.IsZero()}
	for _, at := range it.Attempts {
		row.Calls = append(row.Calls, pc.callLine(at))
	}
	return row
}

type mePage struct {
	Heading   string
	Caregiver string
	Types     []typeLink
	Items     []itemRow
	Appts     []apptCard
	Access    bool
	CanEmail  bool // the patient has an email address on file
	EmailOn   bool
	CanText   bool // texts are set up and the patient has a mobile number on file
	TextOn    bool
	TextStop  bool // the patient texted STOP
}

func (s *Server) pageHome(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	items, err := s.c.PatientItems(pc.r.Context(), pc.actor())
	if err != nil {
		return err
	}
	mp := mePage{Types: pc.typeLinks("/new"), Access: pc.pat != nil}
	v := pc.view(nil)
	mp.Heading = pc.T("me.hello", "name", v.FirstName)
	if v.FirstName == "" {
		mp.Heading = pc.T("me.title")
	}
	if v.Caregiver != "" && pc.pat != nil {
		mp.Heading = pc.T("me.for", "name", pc.pat.Name)
		mp.Caregiver = pc.T("me.caregiver", "name", v.Caregiver, "patient", pc.pat.FirstName())
	}
	for _, it := range items {
		mp.Items = append(mp.Items, pc.itemRow(it))
	}
	mp.Appts = pc.apptCards()
	if pc.pat != nil && pc.sess.actor.Kind == clinic.ActorPatient && pc.pat.Email != "" {
		mp.CanEmail, mp.EmailOn = true, pc.pat.EmailReplies
	}
	if pc.pat != nil && pc.sess.actor.Kind == clinic.ActorPatient && pc.st.TextsReady() && pc.pat.MayGetTexts() {
		mp.CanText, mp.TextOn, mp.TextStop = true, pc.pat.TextsOn(), !pc.pat.SMSStopped.IsZero()
	}
	return pc.render(http.StatusOK, "p_me.html", pc.T("me.title"), mp)
}

type newPage struct {
	Type, Heading, Lead, Expect string
	Other                       string // the heading over the other kinds of request
	Form                        *formView
	Types                       []typeLink
}

func (pc *pctx) newPage(typ string) newPage {
	phone := ""
	if pc.pat != nil {
		phone = pc.pat.Phone
	} else if pc.sess.contact != nil {
		phone = pc.sess.contact.Phone
	}
	np := newPage{Type: typ, Heading: pc.T("new.title." + typ), Lead: pc.T("new.lead." + typ), Other: pc.T("new.other"),
		Form: &formView{Action: "/new", Submit: pc.T("form.send"), Hidden: []hiddenInput{{"type", typ}}, Multipart: true,
			Fields: append(pc.itemFields(typ, true, phone), pc.files())}}
	if due, _, err := pc.s.c.ExpectedReply(pc.r.Context(), typ, false); err == nil {
		np.Expect = pc.T("new.expect", "time", pc.tr.When(due))
	}
	for _, l := range pc.typeLinks("/new") {
		if l.Type != typ {
			np.Types = append(np.Types, l)
		}
	}
	return np
}

func (s *Server) pageCompose(pc *pctx) error {
	typ := patientType(pc.query().Get("type"))
	if !pc.signedIn() {
		// A visitor without an account is not at a dead end: the no-account
		// form asks the same questions.
		return pc.redirect("/contact?type=" + typ)
	}
	np := pc.newPage(typ)
	return pc.render(http.StatusOK, "p_new.html", np.Heading, np)
}

// keptText answers a form posted after the sign-in ended mid-typing: the
// no-account form, with what they wrote already in it, so nothing is lost.
func (s *Server) keptText(pc *pctx, typ string) error {
	cp := pc.contactPage(typ)
	cp.Kept = true
	return pc.render(http.StatusUnauthorized, "p_contact.html", cp.Heading, cp)
}

// writeAllowed applies the write budgets for this patient and address and
// counts one write.
func (pc *pctx) writeAllowed(kind string, max int) bool {
	l := pc.s.limits
	who, addr := kind+":"+pc.actor().String(), "pwrites-client:"+clientAddr(pc.r)
	return l.takeBoth(who, max, addr, writesPerClient)
}

func (s *Server) pageSend(pc *pctx) error {
	typ := patientType(pc.form("type"))
	if !pc.signedIn() {
		return s.keptText(pc, typ)
	}
	// The page is built only when it is shown again (an error or the limit):
	// a request that goes through costs just the item.
	if !pc.writeAllowed("pitems", itemsPerPatient) {
		np := pc.newPage(typ)
		np.Form.General = pc.T("err.toomany.writes")
		return pc.render(http.StatusTooManyRequests, "p_new.html", np.Heading, np)
	}
	in := pc.itemInput(typ, pc.itemFields(typ, true, ""))
	files, err := pc.uploads()
	if err == nil {
		in.Files = files
		var ack clinic.Ack
		if ack, err = s.c.CreateItem(pc.r.Context(), pc.actor(), in); err == nil {
			return pc.redirect("/t/" + ack.Item.ID + "?sent=1")
		}
	}
	np := pc.newPage(typ)
	if pc.inputError(np.Form, err) {
		return pc.render(http.StatusBadRequest, "p_new.html", np.Heading, np)
	}
	return err
}

type detail struct{ Label, Value string }

type msgView struct {
	Kind, Who, When, ISO, Body, ID string
	Mine                           bool
	System                         bool // a line about the request, not a message
	Files                          []fileLink
}

type fileLink struct{ Name, URL string }

type threadPage struct {
	ID, Title, Type, Sent, ISO, Status, Class string
	Urgent                                    bool
	Details                                   []detail
	Ack                                       *ackView
	Msgs                                      []msgView
	Closed                                    bool
	Outcome, Reason                           string
	AskFeedback                               bool
	Feedback                                  string
	Reply                                     *formView
	Callback                                  *formView
	CallbackOpen                              bool
	CanCallback                               bool
	W                                         threadWords
}

// threadWords are the thread page's own words, looked up once.
type threadWords struct {
	Back, Urgent, Sent, Messages, Files, ReplyTitle, Callback, CallbackLead string
	Closed, Reason, Feedback, Yes, No, Thanks                               string // a closed request's
}

var detailFields = []string{"subject", "medication", "dose", "pharmacy", "reason", "preferred", "provider", "phone", "best_time"}

// threadPage builds one of the caller's items with its thread. Anyone
// else's item is not found.
func (s *Server) threadPage(pc *pctx, id string) (*threadPage, error) {
	it, msgs, err := s.c.PatientThread(pc.r.Context(), pc.actor(), id)
	if err != nil {
		return nil, err
	}
	tp := &threadPage{ID: it.ID, Title: pc.itemTitle(it), Type: pc.itemType(it), Sent: pc.tr.On(it.Created),
		ISO: pc.tr.ISO(it.Created), Urgent: it.Priority == clinic.PriorityUrgent, Closed: it.Status == clinic.StatusClosed,
		CanCallback: it.Type != clinic.TypeCallback && it.Type != clinic.TypeInviteRequest}
	tp.Status, tp.Class = pc.statusOf(it)
	tp.W = threadWords{Back: pc.T("thread.back"), Urgent: pc.T("me.urgent"), Sent: pc.T("me.sent"), Messages: pc.T("thread.messages"),
		Files: pc.T("thread.files"), ReplyTitle: pc.T("thread.reply.title"), Callback: pc.T("thread.callback"), CallbackLead: pc.T("thread.callback.lead")}
	if tp.Closed {
		tp.W.Closed, tp.W.Reason, tp.W.Feedback = pc.T("thread.closed"), pc.T("thread.reason"), pc.T("thread.feedback")
		tp.W.Yes, tp.W.No, tp.W.Thanks = pc.T("thread.yes"), pc.T("thread.no"), pc.T("thread.feedback.thanks")
	}
	for _, f := range detailFields {
		if v := it.Fields[f]; v != "" && !(f == "subject" && it.Type == clinic.TypeMessage) {
			tp.Details = append(tp.Details, detail{Label: pc.T("detail." + f), Value: v})
		}
	}
	afterHours := false
	// Caregivers' names cost an open of each of the patient's devices:
	// looked up only when a message needs one (most threads have none).
	var caregivers map[string]string
	calls := 0 // call tries shown so far: the nth "call_attempt" line is the nth attempt
	for _, m := range msgs {
		mv := msgView{Kind: m.Kind, When: pc.tr.Stamp(m.At), ISO: pc.tr.ISO(m.At), Body: m.Body, ID: "m-" + m.ID[strings.LastIndexByte(m.ID, ':')+1:],
			System: m.Kind == clinic.KindSystem}
		for _, f := range m.Files {
			mv.Files = append(mv.Files, fileLink{Name: f.Name, URL: "/f/" + f.ID})
		}
		switch m.Kind {
		case clinic.KindPatient:
			switch {
			case m.AuthorID == pc.actor().ID:
				mv.Who, mv.Mine = pc.T("thread.you"), true
			case pc.pat != nil && m.AuthorID == pc.pat.ID:
				mv.Who = pc.pat.FirstName()
			default:
				if caregivers == nil {
					caregivers = s.caregiverNames(pc)
				}
				if name := caregivers[m.AuthorID]; name != "" {
					mv.Who = pc.T("thread.caregiver_named", "name", name)
				} else {
					mv.Who = pc.T("thread.caregiver")
				}
			}
		case clinic.KindStaff:
			mv.Who = pc.T("thread.staff", "name", m.AuthorName, "role", pc.roleWord(m.AuthorRole))
		case clinic.KindSystem:
			if m.Body == "call_attempt" {
				if calls >= len(it.Attempts) {
					continue
				}
				mv.Body, mv.When = pc.callLine(it.Attempts[calls]), ""
				calls++
				break
			}
			if m.Body == clinic.BookedLine {
				if it.Booking == nil {
					continue
				}
				when := pc.tr.On(it.Booking.StartsAt)
				mv.Body = pc.T("sys.booked", "when", when, "When", i18n.UpperFirst(when))
				break
			}
			line := systemLine(m.Body)
			if line == "" {
				continue
			}
			if m.Body == "after_hours" {
				afterHours = true
			}
			mv.Body = pc.T(line)
		default:
			continue // internal notes never reach a patient (the clinic drops them too)
		}
		tp.Msgs = append(tp.Msgs, mv)
	}
	if pc.query().Get("sent") == "1" {
		a := pc.ackFor(it, afterHours)
		tp.Ack = &a
	}
	if tp.Closed {
		if it.Outcome != "" && pc.tr.Has("outcome."+it.Outcome) {
			tp.Outcome = pc.T("outcome." + it.Outcome)
		}
		tp.Reason = it.ClosedReason
		tp.Feedback = it.Feedback
		tp.AskFeedback = it.Feedback == ""
	}
	tp.Reply = &formView{Action: "/t/" + it.ID + "/reply", Submit: pc.T("thread.reply.submit"),
		Fields: []*field{pc.area("body", "thread.reply", true)}}
	if tp.Closed {
		tp.Reply.Fields[0].Hint = pc.T("thread.reply.reopens")
	}
	phone := ""
	if pc.pat != nil {
		phone = pc.pat.Phone
	} else if pc.sess.contact != nil {
		phone = pc.sess.contact.Phone
	}
	tp.Callback = &formView{Action: "/t/" + it.ID + "/callback", Submit: pc.T("thread.callback.submit"),
		Fields: pc.itemFields(clinic.TypeCallback, true, phone)[:2]}
	return tp, nil
}

// systemLine is the translation key for a system event a patient should
// see; "" hides it (assignments are the clinic's business).
func systemLine(body string) string {
	switch body {
	case "after_hours":
		return "sys.after_hours"
	case "status:closed":
		return "sys.closed"
	case "status:open":
		return "sys.open"
	case "status:waiting":
		return "sys.waiting"
	}
	return ""
}

// callLine tells the patient one call-back try in their words: when, and
// what it came to ("We tried to call you today at 2:10 pm. No answer.").
func (pc *pctx) callLine(at clinic.Attempt) string {
	when := pc.tr.On(at.At)
	return pc.T("call."+at.Result(), "when", when, "When", i18n.UpperFirst(when))
}

// caregiverNames maps caregiver device ids to names, to sign caregivers'
// messages in a patient's thread.
func (s *Server) caregiverNames(pc *pctx) map[string]string {
	out := map[string]string{}
	if pc.pat == nil {
		return out
	}
	devs, err := s.c.Devices(pc.r.Context(), pc.actor(), pc.pat.ID)
	if err != nil {
		return out
	}
	for _, d := range devs {
		if d.Caregiver != "" {
			out[d.ID] = d.Caregiver
		}
	}
	return out
}

func (s *Server) pageThread(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	tp, err := s.threadPage(pc, pc.r.PathValue("id"))
	if err != nil {
		return err
	}
	switch {
	case pc.query().Get("replied") == "1":
		pc.note = "notice.replied"
	case pc.query().Get("thanks") == "1":
		pc.note = "notice.thanks"
	}
	return pc.render(http.StatusOK, "p_thread.html", tp.Title, tp)
}

func (s *Server) pageReply(pc *pctx) error {
	if !pc.signedIn() {
		return s.keptText(pc, clinic.TypeMessage)
	}
	id := pc.r.PathValue("id")
	tp, err := s.threadPage(pc, id)
	if err != nil {
		return err
	}
	tp.Reply.Fields[0].Value = pc.form("body")
	if !pc.writeAllowed("preplies", repliesPerPatient) {
		tp.Reply.General = pc.T("err.toomany.writes")
		return pc.render(http.StatusTooManyRequests, "p_thread.html", tp.Title, tp)
	}
	_, err = s.c.AddMessage(pc.r.Context(), pc.actor(), id, pc.form("body"), false)
	if pc.inputError(tp.Reply, err) {
		return pc.render(http.StatusBadRequest, "p_thread.html", tp.Title, tp)
	}
	if err != nil {
		return err
	}
	return pc.redirect("/t/" + id + "?replied=1")
}

// pageCallback is "call me instead": a call-back request linked
// to this one.
func (s *Server) pageCallback(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	id := pc.r.PathValue("id")
	tp, err := s.threadPage(pc, id)
	if err != nil {
		return err
	}
	for _, f := range tp.Callback.Fields {
		f.Value = pc.form(f.Name)
	}
	tp.CallbackOpen = true
	if !pc.writeAllowed("pitems", itemsPerPatient) {
		tp.Callback.General = pc.T("err.toomany.writes")
		return pc.render(http.StatusTooManyRequests, "p_thread.html", tp.Title, tp)
	}
	in := clinic.NewItem{Type: clinic.TypeCallback, Linked: tp.ID, Lang: pc.tr.Lang(),
		Fields: map[string]string{"phone": pc.form("phone"), "best_time": pc.form("best_time")}}
	ack, err := s.c.CreateItem(pc.r.Context(), pc.actor(), in)
	if pc.inputError(tp.Callback, err) {
		return pc.render(http.StatusBadRequest, "p_thread.html", tp.Title, tp)
	}
	if err != nil {
		return err
	}
	return pc.redirect("/t/" + ack.Item.ID + "?sent=1")
}

func (s *Server) pageFeedback(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	id := pc.r.PathValue("id")
	err := s.c.Feedback(pc.r.Context(), pc.actor(), id, pc.form("answer"))
	var ie *clinic.InputError
	if errors.As(err, &ie) {
		return pc.redirect("/t/" + id)
	}
	if err != nil {
		return err
	}
	return pc.redirect("/t/" + id + "?thanks=1")
}

type deviceRow struct {
	ID, Label, Who, Since, ISO string
	This, Shared, CanRevoke    bool
}

// accessRow is one line of "who looked at my record": Who ("Maria, front
// desk") and What (what they did, how many times, on which day).
type accessRow struct{ Who, What string }

type accessPage struct {
	Devices      []deviceRow
	Report       []accessRow
	ReportHidden bool
}

// accessWords say what a staff member did, for the patient's access report.
var accessWords = map[string]string{
	"patient.read": "access.patient_read", "patient.create": "access.patient_create",
	"patient.search_result": "access.search", "item.read": "access.item_read", "item.list": "access.item_list",
	"item.message": "access.item_message", "item.assign": "access.item_assign", "item.status": "access.item_status",
	"item.create": "access.item_create", "invite.create": "access.invite", "device.revoke": "access.device_revoke",
	"breakglass.open": "access.breakglass",
	"item.queue":      "access.item_status", // a move to another queue: "updated your request"
	// Reaching out (outreach_api.go).
	"conversation.start": "access.conversation", "conversation.schedule": "access.conversation", "oncall.ack": "access.oncall",
	"notice.preview": "access.search", "notice.report": "access.item_list",
	"patient.edit":  "access.patient_edit",
	"patient.merge": "access.patient_merge",

	// List views (one event per page shown) and the owner's audit screen.
	"appointment.list": "access.appt_list", "patient.items": "access.patient_items", "audit.read": "access.audit_read",
}

// accessLine words one grouped line of the access report: "Maria, front
// desk" / "saw your name in the inbox list 3 times on Sunday, December 6".
func (pc *pctx) accessLine(l clinic.AccessLine) accessRow {
	what := "access.other"
	if k, ok := accessWords[l.Action]; ok {
		what = k
	}
	who := l.Name
	if l.Role != "" {
		who = pc.T("access.who", "name", l.Name, "role", pc.roleWord(l.Role))
	}
	var day string
	now := pc.s.c.Now().In(l.Day.Location())
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, l.Day.Location())
	switch {
	case l.Day.Equal(today):
		day = pc.T("access.day.today")
	case l.Day.Equal(today.AddDate(0, 0, -1)):
		day = pc.T("access.day.yesterday")
	default:
		day = pc.T("access.day.other", "date", pc.tr.DayDate(l.Day))
	}
	line := pc.T("access.line.once", "what", pc.T(what), "day", day)
	if l.Count > 1 {
		line = pc.T("access.line.many", "what", pc.T(what), "count", l.Count, "day", day)
	}
	return accessRow{Who: who, What: line}
}

// maxAccessRows bounds the access report page (newest first).
const maxAccessRows = 200

func (s *Server) pageAccess(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	if pc.pat == nil { // a no-account contact has no record yet
		return pc.redirect("/me")
	}
	ctx := pc.r.Context()
	devs, err := s.c.Devices(ctx, pc.actor(), pc.pat.ID)
	if err != nil {
		return err
	}
	ap := accessPage{}
	caregiver := pc.actor().Kind == clinic.ActorCaregiver
	for _, d := range devs {
		row := deviceRow{ID: d.ID, Label: pc.tr.DeviceLabel(d.Label), Since: pc.tr.On(d.Created), ISO: pc.tr.ISO(d.Created), Shared: d.Shared,
			This: pc.sess.device != nil && pc.sess.device.ID == d.ID}
		if d.Caregiver != "" {
			row.Who = pc.T("access.caregiver", "name", d.Caregiver)
		} else {
			row.Who = pc.pat.Name
		}
		row.CanRevoke = !caregiver || row.This
		ap.Devices = append(ap.Devices, row)
	}
	slices.SortStableFunc(ap.Devices, func(a, b deviceRow) int {
		if a.This != b.This {
			if a.This {
				return -1
			}
			return 1
		}
		return 0
	})
	report, err := s.c.AccessSummary(ctx, pc.actor(), pc.pat.ID)
	switch {
	case caregiver && errors.Is(err, clinic.ErrNotFound):
		// Who looked at the record is the patient's own business.
		ap.ReportHidden = true
	case err != nil:
		return err
	}
	for _, l := range report {
		if len(ap.Report) >= maxAccessRows {
			break
		}
		ap.Report = append(ap.Report, pc.accessLine(l))
	}
	if pc.r.URL.Query().Get("revoked") == "1" {
		pc.note = "notice.revoked"
	}
	return pc.render(http.StatusOK, "p_access.html", pc.T("access.title"), ap)
}

// pageRevoke signs one device out of the patient's record (a lost
// phone, a caregiver who no longer helps).
func (s *Server) pageRevoke(pc *pctx) error {
	if err := pc.needSignIn(); err != nil {
		return err
	}
	id := pc.r.PathValue("id")
	if pc.pat == nil {
		return errNotFound
	}
	if err := s.c.RevokeDevice(pc.r.Context(), pc.actor(), id); err != nil {
		return err
	}
	if pc.sess.device != nil && pc.sess.device.ID == id {
		pc.setSessionCookie(deviceCookieName, "", -1)
		return pc.redirect("/?signedout=1")
	}
	return pc.redirect("/me/access?revoked=1")
}

// pageFile sends one of the caller's own attachments, as a download.
func (s *Server) pageFile(pc *pctx) error {
	a, data, err := s.c.File(pc.r.Context(), pc.actor(), pc.r.PathValue("id"))
	if err != nil {
		return err
	}
	s.serveFile(pc.w, pc.r, a, data, false)
	return nil
}

// pageUrgentWords serves the urgent-word lists (in their folded matching
// form) so the compose page can show emergency guidance while the patient
// types. Without JavaScript the guidance shows after sending instead.
func (s *Server) handleUrgentWords(w http.ResponseWriter, r *http.Request, _ *reqCtx) error {
	w.Header().Set("Cache-Control", "private, max-age=300")
	writeJSONCached(w, map[string]any{"phrases": s.c.UrgentPhrases(r.Context()), "self_harm": s.c.SelfHarmPhrases(r.Context())})
	return nil
}
