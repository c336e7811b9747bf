package clinic

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Template is an owner-managed canned reply. Placeholders:
// {patient_first_name}, {staff_name}, {clinic_phone}, {clinic_name},
// {next_business_day}.
type Template struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Body string `json:"body"`
}

// DefaultTemplates are a new clinic's canned replies.
func DefaultTemplates() []Template {
	return []Template{
		{ID: "refill-sent", Name: "Refill sent to pharmacy", Body: "Hi {patient_first_name}, your refill was sent to your pharmacy. It is usually ready within a day. — {staff_name}"},
		{ID: "call-us", Name: "Please call us", Body: "Hi {patient_first_name}, please call us at {clinic_phone} so we can talk this through. — {staff_name}"},
		{ID: "booked", Name: "Appointment booked", Body: "Hi {patient_first_name}, you are booked. If the time does not work, reply here or call {clinic_phone}. — {staff_name}"},
		{ID: "next-day", Name: "We'll follow up", Body: "Hi {patient_first_name}, thank you for your message. We will follow up by {next_business_day}. — {staff_name}"},
	}
}

func (s Settings) templates() []Template {
	if s.Templates == nil {
		return DefaultTemplates()
	}
	return s.Templates
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
	first := ""
	if v.Patient != nil {
		first = v.Patient.FirstName()
	} else if v.Contact != nil {
		first = Patient{Name: v.Contact.Name}.FirstName()
	}
	loc := settings.Location()
	next := settings.hours().NextOpen(c.now().Add(24*time.Hour).In(loc), loc)
	r := strings.NewReplacer("{patient_first_name}", first, "{staff_name}", st.FirstName(), "{clinic_phone}", settings.Phone,
		"{clinic_name}", settings.ClinicName, "{next_business_day}", next.In(loc).Format("Monday, January 2"))
	return r.Replace(settings.templates()[i].Body), nil
}
