package clinic

import (
	"context"
	"slices"
	"strings"
	"time"

	"hearth/app/i18n"
)

// Template is an owner-managed canned reply, with a text per language the
// patient pages speak: Body is the English one, Texts the others by
// language code. A reply to a patient uses the text in the patient's
// language, or the English one when that has none. Placeholders:
// {patient_first_name}, {staff_name}, {clinic_phone}, {clinic_name},
// {next_business_day}.
type Template struct {
	ID    string            `json:"id"`
	Name  string            `json:"name"`
	Body  string            `json:"body"`
	Texts map[string]string `json:"texts,omitempty"`
}

// templateMaxLen is the longest text a template may have, in bytes.
const templateMaxLen = 4000

// TextFor is the template's text in lang, or the English one when it has
// none in that language.
func (t Template) TextFor(lang string) string {
	if s := strings.TrimSpace(t.Texts[lang]); s != "" && lang != i18n.Default {
		return t.Texts[lang]
	}
	return t.Body
}

// validTemplate: a template needs an id, a name and an English text; its
// other texts are optional, each under templateMaxLen, in a language code.
func validTemplate(t Template) bool {
	if strings.TrimSpace(t.ID) == "" || strings.TrimSpace(t.Name) == "" || strings.TrimSpace(t.Body) == "" || len(t.Body) > templateMaxLen {
		return false
	}
	for lang, s := range t.Texts {
		if !i18n.ValidTag(lang) || lang == i18n.Default || len(s) > templateMaxLen {
			return false
		}
	}
	return true
}

// DefaultTemplates are a new clinic's canned replies, in English and
// Spanish.
func DefaultTemplates() []Template {
	return []Template{
		{ID: "refill-sent", Name: "Refill sent to pharmacy", Body: "Hi {patient_first_name}, your refill was sent to your pharmacy. It is usually ready within a day. — {staff_name}",
			Texts: map[string]string{"es": "Hola {patient_first_name}, enviamos su receta a su farmacia. Suele estar lista en un día. — {staff_name}"}},
		{ID: "call-us", Name: "Please call us", Body: "Hi {patient_first_name}, please call us at {clinic_phone} so we can talk this through. — {staff_name}",
			Texts: map[string]string{"es": "Hola {patient_first_name}, llámenos al {clinic_phone} para que lo hablemos. — {staff_name}"}},
		{ID: "booked", Name: "Appointment booked", Body: "Hi {patient_first_name}, you are booked. If the time does not work, reply here or call {clinic_phone}. — {staff_name}",
			Texts: map[string]string{"es": "Hola {patient_first_name}, ya tiene su cita. Si la hora no le conviene, responda aquí o llame al {clinic_phone}. — {staff_name}"}},
		{ID: "next-day", Name: "We'll follow up", Body: "Hi {patient_first_name}, thank you for your message. We will follow up by {next_business_day}. — {staff_name}",
			Texts: map[string]string{"es": "Hola {patient_first_name}, gracias por su mensaje. Le responderemos a más tardar el {next_business_day}. — {staff_name}"}},
	}
}

// templates are the clinic's templates. A default template saved before
// templates had other languages, with its English text unchanged, gets the
// default's other texts: the owner never wrote different ones.
func (s Settings) templates() []Template {
	defs := DefaultTemplates()
	if s.Templates == nil {
		return defs
	}
	out := slices.Clone(s.Templates)
	for i, t := range out {
		if t.Texts != nil {
			continue
		}
		if j := slices.IndexFunc(defs, func(d Template) bool { return d.ID == t.ID && d.Body == t.Body }); j >= 0 {
			out[i].Texts = defs[j].Texts
		}
	}
	return out
}

// RenderTemplate fills a template for an item; staff can still edit it.
func (c *Clinic) RenderTemplate(ctx context.Context, a Actor, templateID, itemID string) (string, error) {
	settings, err := c.Settings(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(settings.templates(), func(t Template) bool { return t.ID == templateID })
	if i < 0 {
		return "", ErrNotFound
	}
	v, err := c.GetItem(ctx, a, itemID)
	if err != nil {
		return "", err
	}
	st, err := c.staffCached(ctx, a.ID)
	if err != nil {
		return "", err
	}
	first, lang := "", i18n.Default
	if v.Patient != nil {
		first, lang = v.Patient.FirstName(), v.Patient.Lang
	} else if v.Contact != nil {
		first, lang = Patient{Name: v.Contact.Name}.FirstName(), v.Contact.Lang
	}
	return c.fillTemplate(settings, settings.templates()[i], st, first, c.speaks(lang)), nil
}

// RenderPatientTemplate fills a template for a conversation staff start
// with a patient, in the patient's language.
func (c *Clinic) RenderPatientTemplate(ctx context.Context, a Actor, templateID, patientID string) (string, string, error) {
	settings, err := c.Settings(ctx)
	if err != nil {
		return "", "", err
	}
	i := slices.IndexFunc(settings.templates(), func(t Template) bool { return t.ID == templateID })
	if i < 0 {
		return "", "", ErrNotFound
	}
	if err := c.mayReadPatient(a, patientID); err != nil {
		return "", "", err
	}
	p, err := c.loadPatient(ctx, patientID)
	if err != nil {
		return "", "", err
	}
	st, err := c.staffCached(ctx, a.ID)
	if err != nil {
		return "", "", err
	}
	lang := c.speaks(p.Lang)
	return c.fillTemplate(settings, settings.templates()[i], st, p.FirstName(), lang), lang, nil
}

// fillTemplate is a template's text in lang with its placeholders filled.
func (c *Clinic) fillTemplate(settings Settings, tp Template, st Staff, first, lang string) string {
	loc := settings.Location()
	next := settings.hours().NextOpen(c.now().Add(24*time.Hour).In(loc), loc)
	day := next.In(loc).Format("Monday, January 2")
	if t, err := c.mailTr(settings, lang); err == nil {
		day = t.DayDate(next)
	}
	r := strings.NewReplacer("{patient_first_name}", first, "{staff_name}", st.SignedName(), "{clinic_phone}", settings.Phone,
		"{clinic_name}", settings.ClinicName, "{next_business_day}", day)
	return r.Replace(tp.TextFor(lang))
}
