package clinic

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/app/store"
	"hearth/app/vault"
)

// Appointment import: the practice system's daily export, as CSV. A mapping
// (remembered in settings) says which column holds what; rows are matched
// to patients by name and birth date (never guessed: no match or two
// matches go to a list to resolve), rows already imported (the export's own
// appointment id, or without one a key derived from the patient, the start
// and the provider) are skipped, rows on a day the clinic is closed are
// imported with a warning, and a file with any bad row imports nothing.

// ImportFields are what a mapping can name.
var ImportFields = []string{"external_id", "patient_name", "patient_dob", "date", "time", "minutes", "provider", "location", "reason"}

// ImportRow is one data row's fate.
type ImportRow struct {
	Line      int       `json:"line"`
	Status    string    `json:"status"` // ok, duplicate, unmatched, error
	Reason    string    `json:"reason,omitempty"`
	PatientID string    `json:"patient_id,omitempty"`
	StartsAt  time.Time `json:"starts_at,omitzero"`
	Name      string    `json:"name,omitempty"`    // as written in the file, for resolving unmatched rows
	Warning   string    `json:"warning,omitempty"` // imported all the same, but worth a look ("the clinic is closed that day")
}

// warnClosedDay is the warning beside a row whose day the clinic's hours or
// holidays say the clinic is closed.
const warnClosedDay = "the clinic is closed that day"

// ImportResult is the preview, or what was imported.
type ImportResult struct {
	Columns  []string    `json:"columns"`
	Rows     []ImportRow `json:"rows"`
	Imported int         `json:"imported"`
	Bad      int         `json:"bad"`
	Warned   int         `json:"warned"` // rows with a warning
}

const maxImportRows = 5000

// readCSV copes with what exports look like: a byte-order mark, commas or
// semicolons, quoted fields with commas inside.
func readCSV(data []byte) ([][]string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, inputErr("file", "The file is not UTF-8 text. Export it again as CSV (UTF-8).")
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	r := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = 0 // every row as long as the header
	r.TrimLeadingSpace = true
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, inputErr("file", fmt.Sprintf("Line %d cannot be read: %v.", pe.Line, pe.Err))
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, rec)
		if len(rows) > maxImportRows+1 {
			return nil, inputErr("file", fmt.Sprintf("Import at most %d rows at a time.", maxImportRows))
		}
	}
	if len(rows) < 1 {
		return nil, inputErr("file", "The file is empty.")
	}
	return rows, nil
}

var importDates = []string{"2006-01-02", "01/02/2006", "1/2/2006", "01-02-2006", "2006/01/02", "Jan 2, 2006", "January 2, 2006", "2 Jan 2006", "20060102"}
var importTimes = []string{"15:04", "3:04 PM", "3:04PM", "3:04 pm", "3:04pm", "15:04:05", "3 PM", "3PM", "3 pm", "3pm"}

func parseWhen(date, clock string, loc *time.Location) (time.Time, error) {
	date, clock = strings.TrimSpace(date), strings.TrimSpace(clock)
	if clock == "" { // one column with both: "2026-12-01 09:30" or RFC 3339
		if t, err := time.Parse(time.RFC3339, date); err == nil {
			return t, nil
		}
		if d, c, ok := strings.Cut(date, " "); ok {
			date, clock = d, c
		}
	}
	var day time.Time
	var err error
	for _, l := range importDates {
		if day, err = time.ParseInLocation(l, date, loc); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("the date %q is not one Hearth reads (use 2026-12-01 or 12/01/2026)", date)
	}
	var tm time.Time
	for _, l := range importTimes {
		if tm, err = time.Parse(l, strings.ToUpper(clock)); err == nil {
			break
		}
		if tm, err = time.Parse(l, clock); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("the time %q is not one Hearth reads (use 09:30 or 9:30 AM)", clock)
	}
	t := time.Date(day.Year(), day.Month(), day.Day(), tm.Hour(), tm.Minute(), 0, 0, loc)
	if got := t.In(loc); got.Day() != day.Day() || got.Hour() != tm.Hour() || got.Minute() != tm.Minute() {
		// The hour the clocks go forward: time.Date would quietly move the
		// visit an hour; refuse it as the booking form does.
		return time.Time{}, fmt.Errorf("the time %q does not exist on %s: the clocks go forward then", clock, date)
	}
	return t, nil
}

// nameForms are the ways a name in an export may be meant: as written, and
// for the usual practice-system form "Last, First" (or "Last, First
// Middle") also "First Middle Last". Only a name with exactly one comma and
// words on both sides of it is turned round.
func nameForms(name string) []string {
	forms := []string{nameKey(name)}
	if strings.Count(name, ",") != 1 {
		return forms
	}
	last, first, _ := strings.Cut(name, ",")
	if nameKey(last) == "" || nameKey(first) == "" {
		return forms
	}
	if turned := nameKey(first + " " + last); turned != forms[0] {
		forms = append(forms, turned)
	}
	return forms
}

// matchPatient finds the one patient with this name and birth date, or
// says why there is none. The name may be "First Last" or "Last, First";
// two different patients matching the two readings is "more than one",
// never a guess. A store that cannot answer is an error, never
// "no patient".
func (c *Clinic) matchPatient(ctx context.Context, name, dob string) (id, why string, err error) {
	d, err := ParseDOB(dob, c.now())
	if err != nil {
		return "", "the birth date is not one Hearth reads", nil
	}
	var nameToks [][]byte
	for _, form := range nameForms(name) {
		tok, err := c.v.BlindToken("fullname", form)
		if err != nil {
			return "", "Hearth is locked", nil
		}
		nameToks = append(nameToks, tok)
	}
	dobTok, err := c.v.BlindToken("dob", d)
	if err != nil {
		return "", "Hearth is locked", nil
	}
	var found []string
	err = c.st.View(ctx, func(tx store.Tx) error {
		for _, nameTok := range nameToks {
			err := tx.Scan(ixPatientSearch, store.Range{Prefix: nameTok}, func(_ []byte, id string) error {
				_, err := tx.Lookup(ixPatientSearch, searchKey(dobTok, id))
				switch {
				case err == nil:
					if !slices.Contains(found, id) {
						found = append(found, id)
					}
				case !errors.Is(err, store.ErrNotFound):
					return err
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	switch len(found) {
	case 1:
		return found[0], "", nil
	case 0:
		return "", "no patient with this name and birth date", nil
	}
	return "", "more than one patient has this name and birth date", nil
}

// ImportAppointments previews (commit false) or imports (commit true) a
// CSV export with a column mapping. Unmatched rows are listed, never
// guessed; duplicates are skipped; any bad row means nothing is imported.
func (c *Clinic) ImportAppointments(ctx context.Context, a Actor, data []byte, mapping map[string]string, commit bool) (ImportResult, error) {
	var res ImportResult
	if a.Kind != ActorStaff {
		return res, ErrForbidden
	}
	rows, err := readCSV(data)
	if err != nil {
		return res, err
	}
	res.Columns = rows[0]
	col := map[string]int{}
	for _, f := range ImportFields {
		name := strings.TrimSpace(mapping[f])
		if name == "" {
			continue
		}
		i := -1
		for j, h := range rows[0] {
			if strings.EqualFold(strings.TrimSpace(h), name) {
				i = j
			}
		}
		if i < 0 {
			return res, inputErr("mapping", fmt.Sprintf("The file has no column named %q (for %s).", name, f))
		}
		col[f] = i
	}
	for _, need := range []string{"patient_name", "patient_dob", "date"} {
		if _, ok := col[need]; !ok {
			return res, inputErr("mapping", "Choose the columns for the patient name, birth date and date (the appointment id too, if the file has one).")
		}
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return res, err // without the clinic's time zone every time would be read wrong
	}
	loc := settings.Location()
	hours := settings.hours()
	get := func(rec []string, f string) string {
		if i, ok := col[f]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	seen := map[string]bool{}
	var inputs []ApptInput
	for n, rec := range rows[1:] {
		line := n + 2
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := ImportRow{Line: line, Name: get(rec, "patient_name")}
		ext := get(rec, "external_id")
		when, werr := parseWhen(get(rec, "date"), get(rec, "time"), loc)
		minutes := 15
		if m := get(rec, "minutes"); m != "" {
			v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(m, "min")), " "))
			if err != nil {
				werr = fmt.Errorf("the length %q is not a number of minutes", m)
			}
			minutes = v
		}
		switch {
		case werr != nil:
			row.Status, row.Reason = "error", werr.Error()
		case ext != "" && seen[ext]:
			row.Status, row.Reason = "duplicate", "the same appointment id appears earlier in the file"
		}
		if row.Status == "" {
			row.StartsAt = when.UTC()
			var pid, why string
			before := false
			if ext != "" {
				seen[ext] = true
				if before, err = c.importedBefore(ctx, ext); err != nil {
					return res, err
				}
			}
			if !before {
				if pid, why, err = c.matchPatient(ctx, get(rec, "patient_name"), get(rec, "patient_dob")); err != nil {
					return res, err
				}
			}
			if ext == "" && pid != "" {
				// No id from the practice system: the same patient, start
				// and provider is the same appointment.
				ext = derivedExternalID(pid, when, get(rec, "provider"))
				if seen[ext] {
					row.Status, row.Reason = "duplicate", "the same patient, time and provider appear earlier in the file"
				} else {
					seen[ext] = true
					if before, err = c.importedBefore(ctx, ext); err != nil {
						return res, err
					}
				}
			}
			switch {
			case row.Status != "":
			case before:
				row.Status, row.Reason = "duplicate", "already imported"
			case pid == "":
				row.Status, row.Reason = "unmatched", why
			default:
				in := ApptInput{PatientID: pid, StartsAt: when, Minutes: minutes, Provider: get(rec, "provider"), Location: get(rec, "location"),
					Reason: get(rec, "reason"), ExternalID: ext}
				if err := in.check(c.now()); err != nil {
					row.Status, row.Reason = "error", err.Error()
				} else {
					row.Status, row.PatientID = "ok", pid
					inputs = append(inputs, in)
					if hours.ClosedAllDay(when, loc) {
						row.Warning = warnClosedDay
						res.Warned++
					}
				}
			}
		}
		if row.Status == "error" {
			res.Bad++
		}
		res.Rows = append(res.Rows, row)
	}
	if !commit || res.Bad > 0 {
		return res, nil
	}
	n, err := c.createAppointments(ctx, a, inputs)
	res.Imported = n
	return res, err
}

// derivedExternalID is the key of an imported appointment whose file has no
// appointment id: a SHA-256, in hex, of the patient's record id, the start
// (UTC, to the minute) and the provider's name normalised. It goes into a
// plain index, so it is a hash and carries nothing readable.
func derivedExternalID(patientID string, starts time.Time, provider string) string {
	sum := sha256.Sum256([]byte("hearth-import-v1\x00" + patientID + "\x00" + starts.UTC().Format("2006-01-02T15:04Z") + "\x00" + nameKey(provider)))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// importedBefore reports whether an appointment with this external id is
// already booked. A store failure is an error, never "not yet": that would
// book the appointment twice.
func (c *Clinic) importedBefore(ctx context.Context, ext string) (bool, error) {
	found := false
	err := c.st.View(ctx, func(tx store.Tx) error {
		_, err := tx.Lookup(ixApptExternal, hashKey("appt-ext:"+ext))
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	})
	return found, err
}

// createAppointments books many in one transaction: all or none.
func (c *Clinic) createAppointments(ctx context.Context, a Actor, ins []ApptInput) (int, error) {
	now := c.now().UTC()
	type prepared struct {
		ap     Appointment
		sealed []byte
	}
	var ps []prepared
	for _, in := range ins {
		ap := Appointment{ID: newTimeID(), PatientID: in.PatientID, StartsAt: in.StartsAt.UTC(), Minutes: in.Minutes, Provider: in.Provider,
			Location: in.Location, Reason: in.Reason, Status: ApptScheduled, Created: now, Updated: now, ExternalID: in.ExternalID}
		b, err := c.seal(vault.NewRef(bucketAppts, ap.ID, ap.PatientID), ap)
		if err != nil {
			return 0, err
		}
		ps = append(ps, prepared{ap, b})
	}
	var ev Event
	err := c.st.Update(ctx, func(tx store.Tx) error {
		for _, p := range ps {
			switch _, err := tx.Lookup(ixApptExternal, hashKey("appt-ext:"+p.ap.ExternalID)); {
			case err == nil:
				// Not an error with the number in it: that would reach the log.
				return ErrConflict
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			tk, pk := apptKeys(p.ap)
			for _, w := range []func() error{
				func() error { return tx.Put(bucketAppts, p.ap.ID, p.sealed) },
				func() error { return tx.SetIndex(ixApptTime, tk, p.ap.ID) },
				func() error { return tx.SetIndex(ixApptPatient, pk, p.ap.ID) },
				func() error { return tx.SetIndex(ixApptExternal, hashKey("appt-ext:"+p.ap.ExternalID), p.ap.ID) },
				func() error {
					return c.audit(tx, a, "appointment.import", "appointment:"+p.ap.ID, p.ap.PatientID)
				},
			} {
				if err := w(); err != nil {
					return err
				}
			}
		}
		var err error
		ev, err = c.addEvent(tx, Event{Type: "appointment.import"})
		return err
	})
	if err != nil {
		return 0, err
	}
	c.publish(ev)
	return len(ps), nil
}

// metaImportMapping remembers the column mapping (column names only).
const metaImportMapping = "import_mapping"

// ImportMapping is the last mapping that imported (empty when none has).
// A remembered mapping that is damaged or cannot be read is an error, not
// an empty one: the caller can still give a mapping of its own.
func (c *Clinic) ImportMapping(ctx context.Context) (map[string]string, error) {
	m := map[string]string{}
	s, err := c.Meta(ctx, metaImportMapping)
	if err != nil || s == "" {
		return m, err
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return map[string]string{}, fmt.Errorf("clinic: the remembered import mapping is damaged: %w", err)
	}
	return m, nil
}

// RememberImportMapping keeps a mapping for next time.
func (c *Clinic) RememberImportMapping(ctx context.Context, m map[string]string) error {
	b, _ := json.Marshal(m)
	return c.SetMeta(ctx, metaImportMapping, string(b))
}
