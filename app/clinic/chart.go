package clinic

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// ChartSummary is a plain-text copy of an item for the clinic's EHR, headed
// by the patient's name and birth date. It is logged as an export (one
// audit row: the item is opened for it without a second, "read", row).
func (c *Clinic) ChartSummary(ctx context.Context, a Actor, itemID string) (string, error) {
	v, err := c.getItem(ctx, a, itemID, "item.export")
	if err != nil {
		return "", err
	}
	settings, _ := c.Settings(ctx)
	loc := settings.Location()
	var b strings.Builder
	switch {
	case v.Patient != nil:
		fmt.Fprintf(&b, "Patient: %s  DOB: %s\n", v.Patient.Name, v.Patient.DOB)
	case v.Contact != nil:
		fmt.Fprintf(&b, "Unverified contact: %s  DOB (as given): %s  Phone: %s\n", v.Contact.Name, v.Contact.DOB, v.Contact.Phone)
	}
	it := v.Item
	fmt.Fprintf(&b, "%s request via Hearth, received %s\nSubject: %s\n", strings.ToUpper(it.Type[:1])+it.Type[1:], it.Created.In(loc).Format("2006-01-02 15:04"), it.Subject)
	keys := make([]string, 0, len(it.Fields))
	for k := range it.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", strings.ReplaceAll(k, "_", " "), it.Fields[k])
	}
	b.WriteString("\n")
	for _, m := range v.Messages {
		if m.Kind == KindSystem {
			continue
		}
		who := "Patient"
		switch m.Kind {
		case KindStaff:
			who = m.AuthorName + " (" + m.AuthorRole + ")"
		case KindNote:
			who = m.AuthorName + " (internal note)"
		}
		fmt.Fprintf(&b, "[%s] %s:\n%s\n\n", m.At.In(loc).Format("2006-01-02 15:04"), who, m.Body)
	}
	if it.Status == StatusClosed {
		fmt.Fprintf(&b, "Closed %s: %s %s\n", it.Closed.In(loc).Format("2006-01-02 15:04"), it.Outcome, it.ClosedReason)
	}
	return b.String(), nil
}
