package clinic

import (
	"context"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"hearth/app/store"
	"hearth/app/vault"
)

// Patient is one patient record. Every field but the id is PHI.
type Patient struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	DOB     string    `json:"dob"` // YYYY-MM-DD
	Phone   string    `json:"phone,omitempty"`
	Email   string    `json:"email,omitempty"`
	Lang    string    `json:"lang"`
	Created time.Time `json:"created"`
	// EmailReplies: the patient asked to be told by email when the clinic replies.
	EmailReplies bool `json:"email_replies,omitempty"`
	// Merged lists the records merged into this one (MergePatients).
	Merged []MergeNote `json:"merged,omitempty"`

	// Texts (text_patient.go). Phone is kept in E.164 when it can be read
	// in the clinic's country; NotMobile flags a number that cannot take
	// texts (a landline, or unreadable). SMS records the consent to texts
	// (when and how); SMSStopped is when the patient texted STOP.
	NotMobile  bool         `json:"not_mobile,omitempty"`
	SMS        *TextConsent `json:"sms_consent,omitempty"`
	SMSStopped time.Time    `json:"sms_stopped,omitzero"`
}

// LogValue keeps a patient's details out of logs: only the id prints.
func (p Patient) LogValue() slog.Value { return slog.StringValue("patient:" + p.ID) }

// FirstName is how emails and replies greet a patient.
func (p Patient) FirstName() string {
	f, _, _ := strings.Cut(strings.TrimSpace(p.Name), " ")
	return f
}

// Age in whole years on day now.
func (p Patient) Age(now time.Time) int {
	d, err := time.Parse("2006-01-02", p.DOB)
	if err != nil {
		return 0
	}
	y := now.Year() - d.Year()
	if now.YearDay() < d.YearDay() {
		y--
	}
	return y
}

// PatientInput creates or edits a patient.
type PatientInput struct {
	Name, DOB, Phone, Email, Lang string
	// ConfirmDuplicate creates the patient even though another has the
	// same name and birth date (CreatePatient otherwise refuses with a
	// *DuplicateError).
	ConfirmDuplicate bool
	// SMS records the patient's consent to texts, given to staff (on the
	// phone or at the desk); SMSWords are the patient's words, as noted.
	SMS      bool
	SMSWords string
}

func (in *PatientInput) check(now time.Time) error {
	var es InputErrors
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	switch {
	case in.Name == "" || len(in.Name) > 120:
		es = append(es, &InputError{Field: "name", Msg: "Enter the patient's full name (at most 120 characters)."})
	case !validText(in.Name):
		es = append(es, &InputError{Field: "name", Msg: "The name has characters that cannot be stored. Type it again."})
	}
	dob, err := ParseDOB(in.DOB, now)
	if err := es.add(err); err != nil {
		return err
	}
	if err == nil {
		in.DOB = dob
	}
	in.Phone = strings.TrimSpace(in.Phone)
	if in.Phone != "" && len(phoneDigits(in.Phone)) < 7 {
		es = append(es, &InputError{Field: "phone", Msg: "Enter a phone number with its area code, like 555-201-3344."})
	}
	in.Email = normalizeEmail(in.Email)
	if in.Email != "" {
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
			es = append(es, &InputError{Field: "email", Msg: "Enter an email address like name@example.com, or leave it empty."})
		}
	}
	return es.err()
}

// validText refuses invalid UTF-8, control characters and direction
// overrides that could disguise a name on screen.
func validText(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
		if r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
			return false
		}
	}
	return true
}

// ParseDOB reads a birth date typed the way people type them:
// 1961-03-14, 03/14/1961, 3/14/1961, 03-14-1961 (month first, as on US
// forms). It returns YYYY-MM-DD.
func ParseDOB(s string, now time.Time) (string, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "01/02/2006", "1/2/2006", "01-02-2006", "1-2-2006", "01.02.2006", "2006/01/02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.After(now) || t.Year() < now.Year()-130 {
				return "", inputErr("dob", "That birth date is not possible. Check the year.")
			}
			return t.Format("2006-01-02"), nil
		}
	}
	return "", inputErr("dob", "Enter the birth date as month/day/year, like 03/14/1961.")
}

func phoneDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if len(d) > 10 {
		d = d[len(d)-10:] // drop a country code; match on the national number
	}
	return d
}

// nameKey folds a name for matching: lower case, accents and other
// combining marks removed, and invisible format characters (zero-width
// spaces and joiners, soft hyphens, direction marks, a byte-order mark)
// dropped rather than read as a space, so a name pasted with one still
// matches the same name typed without it.
func nameKey(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) {
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		} else {
			b.WriteRune(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// Search tokens: keyed HMACs of normalised values (blind index), so the
// index reveals nothing without the clinic's key. Names are indexed by each
// word's prefixes (2 to 12 letters), so "mar" finds "María Ortega".
const maxPrefix = 12

func (c *Clinic) patientTokens(p Patient) ([][]byte, error) {
	var toks [][]byte
	add := func(kind, v string) error {
		t, err := c.v.BlindToken(kind, v)
		if err != nil {
			return ErrLocked
		}
		toks = append(toks, t)
		return nil
	}
	seen := map[string]bool{}
	for _, w := range strings.Fields(nameKey(p.Name)) {
		rs := []rune(w)
		for n := 2; n <= len(rs) && n <= maxPrefix; n++ {
			if pre := string(rs[:n]); !seen[pre] {
				seen[pre] = true
				if err := add("name", pre); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := add("dob", p.DOB); err != nil {
		return nil, err
	}
	if d := phoneDigits(p.Phone); d != "" {
		if err := add("phone", d); err != nil {
			return nil, err
		}
	}
	if err := add("fullname", nameKey(p.Name)); err != nil {
		return nil, err
	}
	if p.Email != "" {
		if err := add("email", normalizeEmail(p.Email)); err != nil {
			return nil, err
		}
	}
	return toks, nil
}

func idBytes(id string) []byte {
	u, err := uuid.Parse(id)
	if err != nil {
		return []byte(id)
	}
	return u[:]
}

func searchKey(tok []byte, id string) []byte {
	return append(append([]byte{}, tok...), idBytes(id)...)
}

// CreatePatient adds a patient record. Staff only. A patient with the same
// name and birth date as an existing one is refused with a *DuplicateError
// naming the existing records, unless in.ConfirmDuplicate says staff saw
// them and mean a different person (twins share a birth date, and names
// repeat); the check runs in the transaction that creates the record.
func (c *Clinic) CreatePatient(ctx context.Context, a Actor, in PatientInput) (Patient, error) {
	if a.Kind != ActorStaff && a.Kind != ActorSystem {
		return Patient{}, ErrForbidden
	}
	if err := in.check(c.now()); err != nil {
		return Patient{}, err
	}
	in.Lang = c.speaks(in.Lang)
	p := Patient{ID: newTimeID(), Name: in.Name, DOB: in.DOB, Phone: in.Phone, Email: in.Email, Lang: in.Lang, Created: c.now().UTC()}
	var consent *bool
	if in.SMS {
		consent = &in.SMS
	}
	if err := c.PatientTexts(ctx, a, &p, true, consent, in.SMSWords); err != nil {
		return Patient{}, err
	}
	toks, err := c.patientTokens(p)
	if err != nil {
		return Patient{}, err
	}
	sealed, err := c.seal(vault.NewRef(bucketPatients, p.ID, p.ID), p)
	if err != nil {
		return Patient{}, err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if !in.ConfirmDuplicate {
			same, err := c.samePatients(tx, p.Name, p.DOB)
			if err != nil {
				return err
			}
			if len(same) > 0 {
				return &DuplicateError{Existing: same}
			}
		}
		if err := tx.Put(bucketPatients, p.ID, sealed); err != nil {
			return err
		}
		for _, t := range toks {
			if err := tx.SetIndex(ixPatientSearch, searchKey(t, p.ID), p.ID); err != nil {
				return err
			}
		}
		return c.audit(tx, a, "patient.create", "patient:"+p.ID, p.ID)
	})
	if err != nil {
		return Patient{}, err
	}
	return p, nil
}

// Patient reads one patient record and audits the read.
func (c *Clinic) Patient(ctx context.Context, a Actor, id string) (Patient, error) {
	if err := c.mayReadPatient(a, id); err != nil {
		return Patient{}, err
	}
	var p Patient
	if _, err := uuid.Parse(id); err != nil {
		return p, ErrNotFound
	}
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.NewRef(bucketPatients, id, id), &p) })
	if err != nil {
		return p, err
	}
	return p, c.st.Update(ctx, func(tx store.Tx) error { return c.audit(tx, a, "patient.read", "patient:"+id, id) })
}

func (c *Clinic) mayReadPatient(a Actor, id string) error {
	switch a.Kind {
	case ActorStaff, ActorSystem:
		return nil
	case ActorPatient, ActorCaregiver:
		// A caregiver acts for the patient (a parent, a carer) and may
		// see the same record, including who looked at it.
		if a.Patient == id {
			return nil
		}
	}
	return ErrNotFound
}

// SearchPatients finds patients by name prefix, birth date or phone. Every
// word of the query must match. Staff only.
func (c *Clinic) SearchPatients(ctx context.Context, a Actor, q string, limit int) ([]Patient, error) {
	if a.Kind != ActorStaff {
		return nil, ErrForbidden
	}
	if limit <= 0 || limit > 50 {
		limit = 20
	}
	var toks [][]byte
	q = strings.TrimSpace(q)
	add := func(kind, v string) error {
		t, err := c.v.BlindToken(kind, v)
		if err != nil {
			return ErrLocked
		}
		toks = append(toks, t)
		return nil
	}
	if dob, err := ParseDOB(q, c.now()); err == nil {
		if err := add("dob", dob); err != nil {
			return nil, err
		}
	} else if d := phoneDigits(q); len(d) >= 7 && len(d) >= len(strings.Join(strings.Fields(q), ""))-4 {
		if err := add("phone", d); err != nil {
			return nil, err
		}
	} else {
		for _, w := range strings.Fields(nameKey(q)) {
			rs := []rune(w)
			if len(rs) < 2 {
				continue
			}
			if len(rs) > maxPrefix {
				rs = rs[:maxPrefix]
			}
			if err := add("name", string(rs)); err != nil {
				return nil, err
			}
		}
	}
	if len(toks) == 0 {
		return nil, inputErr("q", "Type at least two letters of a name, a birth date, or a phone number.")
	}
	var out []Patient
	err := c.st.View(ctx, func(tx store.Tx) error {
		// Walk the first token's matches; keep those every other token matches too.
		return tx.Scan(ixPatientSearch, store.Range{Prefix: toks[0]}, func(k []byte, id string) error {
			for _, t := range toks[1:] {
				if _, err := tx.Lookup(ixPatientSearch, searchKey(t, id)); err != nil {
					return nil
				}
			}
			var p Patient
			if err := c.open(tx, vault.NewRef(bucketPatients, id, id), &p); err != nil {
				return err
			}
			out = append(out, p)
			if len(out) >= limit {
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out))
	for _, p := range out {
		ids = append(ids, p.ID)
	}
	return out, c.auditListed(ctx, a, "patient.search_result", "patients", ids)
}

// SameName returns how many other patients share p's full name, for the
// wrong-record warning.
func (c *Clinic) SameName(ctx context.Context, p Patient) (int, error) {
	t, err := c.v.BlindToken("fullname", nameKey(p.Name))
	if err != nil {
		return 0, ErrLocked
	}
	n := 0
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(ixPatientSearch, store.Range{Prefix: t}, func(k []byte, id string) error {
			if id != p.ID {
				n++
			}
			return nil
		})
	})
	return n, err
}
