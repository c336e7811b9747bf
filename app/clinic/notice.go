package clinic

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"hearth/app/store"
	"hearth/app/vault"
)

// Notices to many: "the parking lot is closed tomorrow". Recipients are
// chosen by a day's appointments (optionally one provider's), everyone with
// a channel, a list of patient ids, or a pasted list ("name, birth date"
// per line). A preview counts them, renders what each language receives
// and lists who has no channel (for a phone call); sending makes one
// conversation per patient (conversation.go), so replies are private and
// land in the inbox as normal items.
//
// Sending is resumable and idempotent per patient: the notice record (with
// its recipients) is written first; each patient's conversation is written
// in one transaction with its entry in notices.sent, and that entry is
// checked inside the same transaction, so a crash and a restart
// (ResumeNotices) finish the notice without anybody getting it twice. The
// emails are paced (noticePerMinute) and wait out quiet hours; the outbox
// sends each at most once.

// Limits on notices.
const (
	noticeMaxRecipients = 5000
	// NoticeConfirmOver is the size above which the sender must type the
	// count back.
	NoticeConfirmOver = 50
	noticePerMinute   = 60
	quietFrom         = 21 // local hour from which notices wait…
	quietUntil        = 8  // …until this hour
)

// NoticeText is a notice's words in one language.
type NoticeText struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// NoticeInput is a notice as staff write it.
type NoticeInput struct {
	AppointmentsOn string                // YYYY-MM-DD, clinic-local: that day's appointments
	Provider       string                // with AppointmentsOn: only this provider's
	Everyone       bool                  // every patient with a channel
	PatientIDs     []string              // chosen patients
	List           string                // pasted: "name, birth date" (or a patient id) per line
	Type           string                // one of ConversationTypes; "" for message
	Subject, Body  string                // the default (English) words
	Translations   map[string]NoticeText // other languages' words, by language code
	ConfirmCount   int                   // over NoticeConfirmOver, the count typed back
}

// NoticeRecipient is one patient a notice goes to, as the front desk sees
// them (staff only: this is PHI).
type NoticeRecipient struct {
	PatientID string   `json:"patient_id"`
	Name      string   `json:"name"`
	DOB       string   `json:"dob"`
	Phone     string   `json:"phone,omitempty"`
	Lang      string   `json:"lang"`
	Channels  []string `json:"channels"`
}

// NoticeRendering is what the patients of one language receive.
type NoticeRendering struct {
	Lang         string `json:"lang"`
	Count        int    `json:"count"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
	EmailSubject string `json:"email_subject"`
	EmailBody    string `json:"email_body"`
}

// NoticePreview is the answer to a notice, sent or not.
type NoticePreview struct {
	ID         string            `json:"id,omitempty"` // set once sent
	Recipients int               `json:"recipients"`
	Renderings []NoticeRendering `json:"renderings"`
	NoChannel  []NoticeRecipient `json:"no_channel"` // to call instead
	Unmatched  []int             `json:"unmatched"`  // pasted lines (1-based) that found no single patient
	Confirm    bool              `json:"confirm"`    // sending needs the count typed back
}

// Notice is the stored notice.
type Notice struct {
	ID           string                `json:"id"`
	By           string                `json:"by"`
	Type         string                `json:"type"`
	Subject      string                `json:"subject"`
	Body         string                `json:"body"`
	Translations map[string]NoticeText `json:"translations,omitempty"`
	Recipients   []string              `json:"recipients"`
	Created      time.Time             `json:"created"`
	Done         bool                  `json:"done"`
}

func (n Notice) words(lang string) (string, string) {
	if t, ok := n.Translations[lang]; ok && strings.TrimSpace(t.Body) != "" {
		subj := t.Subject
		if strings.TrimSpace(subj) == "" {
			subj = n.Subject
		}
		return subj, t.Body
	}
	return n.Subject, n.Body
}

func (in *NoticeInput) check() error {
	if in.Type == "" {
		in.Type = ConvMessage
	}
	subject, body, es := checkConversation(in.Type, in.Subject, in.Body)
	in.Subject, in.Body = subject, body
	for lang, t := range in.Translations {
		if strings.TrimSpace(t.Body) == "" && strings.TrimSpace(t.Subject) == "" {
			delete(in.Translations, lang)
			continue
		}
		s, b, more := checkConversation(in.Type, t.Subject, t.Body)
		for _, e := range more {
			e.Field = "translations." + lang + "." + e.Field
		}
		es = append(es, more...)
		in.Translations[lang] = NoticeText{Subject: s, Body: b}
	}
	if len(es) > 0 {
		return es.err()
	}
	return nil
}

// noticeRecipients works out who a notice goes to, in a stable order.
func (c *Clinic) noticeRecipients(ctx context.Context, a Actor, s Settings, in NoticeInput) ([]Patient, []int, error) {
	var ids []string
	add := func(id string) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	var unmatched []int
	chose := false
	if in.AppointmentsOn != "" {
		chose = true
		day, err := time.ParseInLocation(dateLayout, in.AppointmentsOn, s.Location())
		if err != nil {
			return nil, nil, inputErr("appointments_on", "Write the day as a date such as 2026-12-07.")
		}
		y, m, d := day.Date()
		from, to := day, time.Date(y, m, d+1, 0, 0, 0, 0, s.Location())
		var apIDs []string
		if err := c.st.View(ctx, func(tx store.Tx) error {
			return tx.Scan(ixApptTime, store.Range{After: be64(from.Add(-time.Millisecond))}, func(k []byte, id string) error {
				if !time.UnixMilli(int64(beUint(k[:8]))).Before(to) {
					return store.ErrStop
				}
				apIDs = append(apIDs, id)
				return nil
			})
		}); err != nil {
			return nil, nil, err
		}
		for _, id := range apIDs {
			ap, err := c.appointment(ctx, id)
			if err != nil {
				return nil, nil, err
			}
			if ap.Status == ApptCancelled {
				continue
			}
			if in.Provider != "" && nameKey(ap.Provider) != nameKey(in.Provider) {
				continue
			}
			add(ap.PatientID)
		}
	}
	for _, id := range in.PatientIDs {
		chose = true
		if !validItemID(id) {
			return nil, nil, inputErr("patient_ids", "One of the chosen patients is not known. Choose them again.")
		}
		add(id)
	}
	if strings.TrimSpace(in.List) != "" {
		chose = true
		for i, line := range strings.Split(in.List, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			id, err := c.matchListLine(ctx, a, line)
			if err != nil {
				return nil, nil, err
			}
			if id == "" {
				unmatched = append(unmatched, i+1)
				continue
			}
			add(id)
		}
	}
	var out []Patient
	if in.Everyone {
		chose = true
		if err := c.st.View(ctx, func(tx store.Tx) error {
			return tx.Each(bucketPatients, "", func(id string, raw []byte) error {
				var p Patient
				if err := c.openRaw(vault.NewRef(bucketPatients, id, id), raw, &p); err != nil {
					return err
				}
				if len(s.PatientChannels(p)) > 0 && !slices.Contains(ids, p.ID) {
					ids = append(ids, p.ID)
				}
				return nil
			})
		}); err != nil {
			return nil, nil, err
		}
	}
	if !chose {
		return nil, nil, inputErr("recipients", "Choose who gets it: a day's appointments, everyone with email, or a list of patients.")
	}
	if len(ids) > noticeMaxRecipients {
		return nil, nil, inputErr("recipients", fmt.Sprintf("A notice goes to at most %d patients.", noticeMaxRecipients))
	}
	for _, id := range ids {
		p, err := c.loadPatient(ctx, id)
		if IsNotFound(err) {
			return nil, nil, inputErr("patient_ids", "One of the chosen patients is not known. Choose them again.")
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, p)
	}
	return out, unmatched, nil
}

// matchListLine finds the one patient a pasted line names: a patient id,
// or a name and a birth date separated by a comma, tab or semicolon. ""
// when no single patient matches.
func (c *Clinic) matchListLine(ctx context.Context, a Actor, line string) (string, error) {
	line = strings.TrimSpace(line)
	if validItemID(line) {
		return line, nil
	}
	parts := strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == '\t' || r == ';' })
	var name, dob string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if d, err := ParseDOB(p, c.now()); err == nil && dob == "" {
			dob = d
		} else if name == "" {
			name = p
		}
	}
	if name == "" || dob == "" {
		return "", nil
	}
	found, err := c.SearchPatients(ctx, a, dob, 50)
	if err != nil {
		return "", err
	}
	match := ""
	for _, p := range found {
		if nameKey(p.Name) == nameKey(name) && p.DOB == dob {
			if match != "" {
				return "", nil // two patients: the front desk chooses
			}
			match = p.ID
		}
	}
	return match, nil
}

// PreviewNotice counts and renders a notice without sending it.
func (c *Clinic) PreviewNotice(ctx context.Context, a Actor, in NoticeInput) (NoticePreview, error) {
	pv, _, err := c.previewNotice(ctx, a, in)
	return pv, err
}

func (c *Clinic) previewNotice(ctx context.Context, a Actor, in NoticeInput) (NoticePreview, []Patient, error) {
	if a.Kind != ActorStaff {
		return NoticePreview{}, nil, ErrForbidden
	}
	if err := in.check(); err != nil {
		return NoticePreview{}, nil, err
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return NoticePreview{}, nil, err
	}
	ps, unmatched, err := c.noticeRecipients(ctx, a, s, in)
	if err != nil {
		return NoticePreview{}, nil, err
	}
	if len(ps) == 0 {
		return NoticePreview{}, nil, inputErr("recipients", "Nobody matches: choose another day or other patients.")
	}
	n := Notice{Subject: in.Subject, Body: in.Body, Translations: in.Translations}
	pv := NoticePreview{Recipients: len(ps), Unmatched: unmatched, Confirm: len(ps) > NoticeConfirmOver, NoChannel: []NoticeRecipient{}}
	if pv.Unmatched == nil {
		pv.Unmatched = []int{}
	}
	byLang := map[string]int{}
	for _, p := range ps {
		lang := c.speaks(p.Lang)
		byLang[lang]++
		if ch := s.PatientChannels(p); len(ch) == 0 {
			pv.NoChannel = append(pv.NoChannel, NoticeRecipient{PatientID: p.ID, Name: p.Name, DOB: p.DOB, Phone: p.Phone, Lang: lang, Channels: []string{}})
		}
	}
	langs := make([]string, 0, len(byLang))
	for l := range byLang {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	base := strings.TrimRight(s.PublicURL, "/")
	for _, lang := range langs {
		tr, err := c.mailTr(s, lang)
		if err != nil {
			return NoticePreview{}, nil, err
		}
		subj, body := n.words(lang)
		pv.Renderings = append(pv.Renderings, NoticeRendering{Lang: lang, Count: byLang[lang], Subject: subj, Body: body,
			EmailSubject: tr.T("mail.conversation.subject", "clinic", s.ClinicName),
			EmailBody:    tr.T("mail.conversation.body", "clinic", s.ClinicName, "link", base+"/t/…", "unsubscribe", base+"/u/…")})
	}
	// Staff see every recipient's name in the preview's counts and the
	// phone list: each patient's record was read.
	if err := c.st.Update(ctx, func(tx store.Tx) error {
		for _, p := range ps {
			if err := c.audit(tx, a, "notice.preview", "notice", p.ID); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return NoticePreview{}, nil, err
	}
	return pv, ps, nil
}

// SendNotice stores the notice with its recipients and starts making the
// conversations (RunNotice, in the background: the caller need not wait).
func (c *Clinic) SendNotice(ctx context.Context, a Actor, in NoticeInput) (NoticePreview, error) {
	pv, ps, err := c.previewNotice(ctx, a, in)
	if err != nil {
		return NoticePreview{}, err
	}
	if pv.Confirm && in.ConfirmCount != pv.Recipients {
		return NoticePreview{}, inputErr("confirm_count", fmt.Sprintf("This goes to %d patients. Type that number to confirm.", pv.Recipients))
	}
	n := Notice{ID: newTimeID(), By: a.ID, Type: in.Type, Subject: in.Subject, Body: in.Body, Translations: in.Translations,
		Created: c.now().UTC()}
	for _, p := range ps {
		n.Recipients = append(n.Recipients, p.ID)
	}
	sealed, err := c.seal(vault.RefNoPatient(bucketNotices, n.ID), n)
	if err != nil {
		return NoticePreview{}, err
	}
	if err := c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketNotices, n.ID, sealed); err != nil {
			return err
		}
		if err := tx.SetIndex(ixNoticeOpen, idBytes(n.ID), n.ID); err != nil {
			return err
		}
		return c.audit(tx, a, "notice.send", "notice:"+n.ID, "")
	}); err != nil {
		return NoticePreview{}, err
	}
	pv.ID = n.ID
	return pv, nil
}

func noticeKey(noticeID, patientID, itemID string) []byte {
	k := cat(idBytes(noticeID), idBytes(patientID))
	if itemID != "" {
		k = cat(k, idBytes(itemID))
	}
	return k
}

func (c *Clinic) loadNotice(ctx context.Context, id string) (Notice, error) {
	var n Notice
	if !validItemID(id) {
		return n, ErrNotFound
	}
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefNoPatient(bucketNotices, id), &n) })
	return n, err
}

// noticeItems maps each patient a notice reached to their conversation.
func (c *Clinic) noticeItems(ctx context.Context, id string) (map[string]string, error) {
	out := map[string]string{}
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixNoticeSent, store.Range{Prefix: idBytes(id)}, func(k []byte, _ string) error {
			if len(k) != 48 {
				return fmt.Errorf("clinic: damaged notices.sent entry")
			}
			out[idString(k[16:32])] = idString(k[32:48])
			return nil
		})
	})
	return out, err
}

// quietEnd is when a notice made at t may go out: at once, or at the
// end of the night's quiet hours (clinic time).
func quietEnd(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	y, m, d := l.Date()
	switch {
	case l.Hour() >= quietFrom:
		return time.Date(y, m, d+1, quietUntil, 0, 0, 0, loc)
	case l.Hour() < quietUntil:
		return time.Date(y, m, d, quietUntil, 0, 0, 0, loc)
	}
	return t
}

// RunNotice makes the conversations of a notice that are not made yet. It
// is safe to run any number of times, concurrently, and after a crash.
func (c *Clinic) RunNotice(ctx context.Context, id string) error {
	c.noticeMu.Lock()
	defer c.noticeMu.Unlock()
	n, err := c.loadNotice(ctx, id)
	if err != nil {
		return err
	}
	if n.Done { // finished, though still listed as open: list it no more
		return c.st.Update(ctx, func(tx store.Tx) error { return tx.DeleteIndex(ixNoticeOpen, idBytes(n.ID)) })
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return err
	}
	by, err := c.staffCached(ctx, n.By)
	if err != nil {
		return err
	}
	writer := Actor{Kind: ActorStaff, ID: by.ID, Role: by.Role}
	made, err := c.noticeItems(ctx, id)
	if err != nil {
		return err
	}
	start := quietEnd(n.Created, s.Location())
	for i, pid := range n.Recipients {
		if made[pid] != "" {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p, err := c.loadPatient(ctx, pid)
		if IsNotFound(err) {
			continue // merged or removed since
		}
		if err != nil {
			return err
		}
		subj, body := n.words(c.speaks(p.Lang))
		itemID := newTimeID()
		_, _, err = c.writeConversation(ctx, writer, s, convDraft{ID: itemID, Patient: p, By: by, Kind: n.Type, Subject: subj, Body: body,
			NoticeID: n.ID, NotBefore: start.Add(time.Duration(i/noticePerMinute) * time.Minute)},
			func(tx store.Tx) (bool, error) {
				exists := false
				err := tx.Scan(ixNoticeSent, store.Range{Prefix: noticeKey(n.ID, pid, ""), Limit: 1}, func([]byte, string) error {
					exists = true
					return store.ErrStop
				})
				return exists, err
			},
			func(tx store.Tx, it Item) error { return tx.SetIndex(ixNoticeSent, noticeKey(n.ID, pid, it.ID), n.ID) })
		if err != nil {
			return err
		}
	}
	n.Done = true
	sealed, err := c.seal(vault.RefNoPatient(bucketNotices, n.ID), n)
	if err != nil {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketNotices, n.ID, sealed); err != nil {
			return err
		}
		return tx.DeleteIndex(ixNoticeOpen, idBytes(n.ID))
	})
}

// ResumeNotices finishes every notice a crash or a restart left half made.
// It runs at start and every minute.
func (c *Clinic) ResumeNotices(ctx context.Context) error {
	if c.v.Locked() {
		return nil
	}
	var open []string
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixNoticeOpen, store.Range{}, func(_ []byte, id string) error {
			open = append(open, id)
			return nil
		})
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range open {
		errs = append(errs, c.RunNotice(ctx, id))
	}
	return errors.Join(errs...)
}

// NoticeRow is one patient in a notice's report.
type NoticeRow struct {
	NoticeRecipient
	ItemID   string    `json:"item_id,omitempty"`
	State    string    `json:"state"` // pending (not made yet), no_channel, queued, sent, failed
	ReadAt   time.Time `json:"read_at,omitzero"`
	NeedCall bool      `json:"need_call"`
}

// NoticeReport is how a notice went.
type NoticeReport struct {
	ID         string      `json:"id"`
	Subject    string      `json:"subject"`
	Created    time.Time   `json:"created"`
	Done       bool        `json:"done"`
	Recipients int         `json:"recipients"`
	Made       int         `json:"made"`
	Delivered  int         `json:"delivered"`
	Read       int         `json:"read"`
	Failed     int         `json:"failed"`
	NeedCall   int         `json:"need_call"`
	Rows       []NoticeRow `json:"rows,omitempty"`
}

// NoticeSummaries lists the notices, newest first, with their counts of
// conversations made (the report has the rest).
func (c *Clinic) NoticeSummaries(ctx context.Context, a Actor) ([]NoticeReport, error) {
	if a.Kind != ActorStaff {
		return nil, ErrForbidden
	}
	var out []NoticeReport
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketNotices, "", func(id string, raw []byte) error {
			var n Notice
			if err := c.openRaw(vault.RefNoPatient(bucketNotices, id), raw, &n); err != nil {
				return err
			}
			out = append(out, NoticeReport{ID: n.ID, Subject: n.Subject, Created: n.Created, Done: n.Done, Recipients: len(n.Recipients)})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		made, err := c.noticeItems(ctx, out[i].ID)
		if err != nil {
			return nil, err
		}
		out[i].Made = len(made)
	}
	slices.Reverse(out)
	return out, nil
}

// NoticeReportFor is a notice's report: per patient, whether the notice was
// delivered, read or failed, and who still needs a call.
func (c *Clinic) NoticeReportFor(ctx context.Context, a Actor, id string) (NoticeReport, error) {
	if a.Kind != ActorStaff {
		return NoticeReport{}, ErrForbidden
	}
	n, err := c.loadNotice(ctx, id)
	if err != nil {
		return NoticeReport{}, err
	}
	made, err := c.noticeItems(ctx, id)
	if err != nil {
		return NoticeReport{}, err
	}
	s, err := c.Settings(ctx)
	if err != nil {
		return NoticeReport{}, err
	}
	rep := NoticeReport{ID: n.ID, Subject: n.Subject, Created: n.Created, Done: n.Done, Recipients: len(n.Recipients), Made: len(made)}
	for _, pid := range n.Recipients {
		p, err := c.loadPatient(ctx, pid)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return NoticeReport{}, err
		}
		row := NoticeRow{NoticeRecipient: NoticeRecipient{PatientID: p.ID, Name: p.Name, DOB: p.DOB, Phone: p.Phone, Lang: c.speaks(p.Lang),
			Channels: s.PatientChannels(p)}, State: "pending"}
		if row.Channels == nil {
			row.Channels = []string{}
		}
		if itemID := made[pid]; itemID != "" {
			row.ItemID = itemID
			var m ItemMeta
			if err := c.st.View(ctx, func(tx store.Tx) error { var err error; m, err = getMetaRec(tx, itemID); return err }); err != nil {
				return NoticeReport{}, err
			}
			it, err := c.loadItem(ctx, m)
			if err != nil {
				return NoticeReport{}, err
			}
			row.State = "no_channel"
			if it.Outreach != nil {
				row.ReadAt = it.Outreach.ReadAt
				states := map[string]int{}
				for _, mid := range it.Outreach.Mail {
					var om OutMail
					if err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefAnyPatient(bucketOutbox, mid), &om) }); err != nil {
						return NoticeReport{}, err
					}
					states[om.State]++
				}
				switch {
				case states[MailSent]+states[MailDelivered] > 0:
					row.State = "sent"
				case states[MailQueued]+states[MailSending] > 0:
					row.State = "queued"
				case states[MailFailed] > 0:
					row.State = "failed"
				}
			}
		}
		row.NeedCall = row.ReadAt.IsZero() && (row.State == "no_channel" || row.State == "failed")
		switch row.State {
		case "sent":
			rep.Delivered++
		case "failed":
			rep.Failed++
		}
		if !row.ReadAt.IsZero() {
			rep.Read++
		}
		if row.NeedCall {
			rep.NeedCall++
		}
		rep.Rows = append(rep.Rows, row)
	}
	if err := c.st.Update(ctx, func(tx store.Tx) error {
		for _, row := range rep.Rows {
			if err := c.audit(tx, a, "notice.report", "notice:"+n.ID, row.PatientID); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return NoticeReport{}, err
	}
	return rep, nil
}

// idString is idBytes undone: the UUID in 16 bytes as text.
func idString(b []byte) string {
	u, err := uuid.FromBytes(b)
	if err != nil {
		return ""
	}
	return u.String()
}
