package clinic

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"hearth/app/config"
	"hearth/app/store"
	"hearth/app/vault"
)

// Settings are what the owner edits in the browser. They are sealed like
// every record (the clinic's own details are not PHI, but one rule for every
// record is simpler to trust).
type Settings struct {
	ClinicName      string   `json:"clinic_name"`
	Phone           string   `json:"phone"`
	TimeZone        string   `json:"time_zone"`
	EmergencyNumber string   `json:"emergency_number"`
	PublicURL       string   `json:"public_url"` // how patients reach Hearth, e.g. https://portal.maple.example
	HostNames       []string `json:"host_names"` // extra names the server answers to
	IdleLockMinutes int      `json:"idle_lock_minutes"`
	BackupDir       string   `json:"backup_dir"`   // nightly backups go here; "" turns them off
	BackupKeep      int      `json:"backup_keep"`  // how many nightly backups to keep
	BackupHour      int      `json:"backup_hour"`  // local hour of the nightly backup
	RequireTOTP     bool     `json:"require_totp"` // every staff member must use two-step sign-in

	Hours          *Hours         `json:"hours"`            // nil: DefaultHours
	Targets        map[string]int `json:"targets"`          // per item type, business minutes; missing: DefaultTargets
	AfterHoursText string         `json:"after_hours_text"` // "" for the built-in wording
	// AfterHoursPhone is a line patients can call while the clinic is
	// closed (an answering service, an on-call phone); "" for none.
	AfterHoursPhone string `json:"after_hours_phone"`
	// CrisisLine is the suicide and crisis line shown beside the emergency
	// number when a patient's words read as self-harm. nil: 988 where the
	// emergency number is 911, none elsewhere; "" (set) for none.
	CrisisLine  *string    `json:"crisis_line"`
	UrgentWords []string   `json:"urgent_words"` // owner's additions, "category: phrase"
	Templates   []Template `json:"templates"`    // nil: DefaultTemplates

	// The clinic's own mail server. The password is sealed with the settings
	// and never leaves them: not in the plain copy, not in any answer.
	SMTPHost     string `json:"smtp_host"`
	SMTPPort     int    `json:"smtp_port"`
	SMTPMode     string `json:"smtp_mode"` // starttls, tls, none
	SMTPUser     string `json:"smtp_user"`
	SMTPPassword string `json:"smtp_password"`
	MailFrom     string `json:"mail_from"`
	// ReminderHours are the appointment reminder lead times; nil: 48 and 24.
	ReminderHours []int             `json:"reminder_hours"`
	Queues        []Queue           `json:"queues"` // empty: DefaultQueues
	Routes        map[string]string `json:"routes"` // item type -> queue id; nil: DefaultRoutes

	// Domain is the internet name Hearth gets its own HTTPS certificate for
	// (app/tlsauto), as first-run setup or Settings set it; hearth serve
	// --domain (or HEARTH_DOMAIN) wins over it. Read when the server starts.
	Domain string `json:"domain"`
	// Text messages (text_settings.go): the transport and its details,
	// and the clinic's country, which phone numbers are read in.
	SMS    SMSSettings `json:"sms"`
	Region string      `json:"region"` // ISO country code, like "US"; "" means US
}

// DefaultSettings are a new clinic's.
func DefaultSettings() Settings {
	return Settings{
		ClinicName:      "Our clinic",
		TimeZone:        "America/New_York",
		EmergencyNumber: "911",
		IdleLockMinutes: 15,
		BackupKeep:      14,
		BackupHour:      2,
	}
}

// Location is the clinic's time zone (UTC when unknown).
func (s Settings) Location() *time.Location {
	if loc, ok := locations.Load(s.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}
	locations.Store(s.TimeZone, loc)
	return loc
}

// Crisis is the crisis line patients are shown with self-harm wording, ""
// for none: the owner's choice, or by default 988 where the emergency
// number is 911 (the United States' Suicide and Crisis Lifeline).
func (s Settings) Crisis() string {
	if s.CrisisLine != nil {
		return *s.CrisisLine
	}
	if e := strings.TrimSpace(s.EmergencyNumber); e == "" || e == "911" {
		return "988"
	}
	return ""
}

// dialable reports whether s reads as a number to dial: digits with the
// usual separators, at least one digit, at most 30 characters.
func dialable(s string) bool {
	if len(s) > 30 || !strings.ContainsAny(s, "0123456789") {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789 +-().", r) {
			return false
		}
	}
	return true
}

// locations memoises time.LoadLocation, which reads the zone database from
// disk on every call; a *time.Location never changes once loaded.
var locations sync.Map

func (s *Settings) normalize() error {
	s.ClinicName = strings.TrimSpace(s.ClinicName)
	if s.ClinicName == "" {
		return inputErr("clinic_name", "Enter the clinic's name as patients know it.")
	}
	if len(s.ClinicName) > 120 {
		return inputErr("clinic_name", "Use at most 120 characters for the clinic's name.")
	}
	if s.TimeZone = strings.TrimSpace(s.TimeZone); !KnownZone(s.TimeZone) {
		return inputErr("time_zone", "That is not a time zone Hearth knows. Choose the clinic's from the list, like America/Chicago.")
	}
	if s.IdleLockMinutes < 1 || s.IdleLockMinutes > 240 {
		return inputErr("idle_lock_minutes", "The idle lock must be between 1 and 240 minutes.")
	}
	if s.BackupKeep < 1 || s.BackupKeep > 365 {
		return inputErr("backup_keep", "Keep between 1 and 365 nightly backups.")
	}
	if err := config.CheckDomain(strings.TrimSpace(s.Domain)); err != nil {
		return inputErr("domain", "Give the one internet name patients use, like portal.maple-clinic.com: no https://, no port, no IP address, no *.")
	}
	s.Domain = config.NormalDomain(s.Domain)
	if s.BackupHour < 0 || s.BackupHour > 23 {
		return inputErr("backup_hour", "The backup hour must be between 0 and 23.")
	}
	if s.CrisisLine != nil {
		line := strings.TrimSpace(*s.CrisisLine)
		if line != "" && !dialable(line) {
			return inputErr("crisis_line", "Write the crisis line as a number to call, like 988, or leave it empty for none.")
		}
		s.CrisisLine = &line
	}
	s.AfterHoursPhone = strings.TrimSpace(s.AfterHoursPhone)
	if s.AfterHoursPhone != "" && !dialable(s.AfterHoursPhone) {
		return inputErr("after_hours_phone", "Write the after-hours line as a phone number with its area code, or leave it empty.")
	}
	if s.Hours != nil {
		if err := s.Hours.Validate(); err != nil {
			return err
		}
	}
	for typ, m := range s.Targets {
		if !slices.Contains(ItemTypes, typ) && typ != "other" {
			return inputErr("targets", "Reply targets are for message, refill, appointment, callback, billing, records and other.")
		}
		if m < 1 || m > 14*24*60 {
			return inputErr("targets", "A reply target is between 1 minute and 14 days.")
		}
	}
	ids := map[string]bool{}
	for _, q := range s.Queues {
		if q.ID == "" || !store.ValidName(q.ID) || q.Name == "" || ids[q.ID] {
			return inputErr("queues", "Every queue needs a unique short id (a-z, 0-9, _) and a name.")
		}
		for _, r := range q.Roles {
			if !ValidRole(r) {
				return inputErr("queues", "Queue roles are owner, clinician and frontdesk.")
			}
		}
		ids[q.ID] = true
	}
	for typ, q := range s.Routes {
		known := ids[q]
		if len(s.Queues) == 0 {
			known = slices.ContainsFunc(DefaultQueues(), func(d Queue) bool { return d.ID == q })
		}
		if !slices.Contains(ItemTypes, typ) || !known {
			return inputErr("routes", "Each route sends a request type to an existing queue.")
		}
	}
	if s.Queues != nil && !ids[UrgentQueue] {
		return inputErr("queues", "Keep the clinical queue: urgent requests go there.")
	}
	for _, h := range s.ReminderHours {
		if h < 1 || h > 14*24 {
			return inputErr("reminder_hours", "Reminder lead times are between 1 hour and 14 days.")
		}
	}
	switch s.SMTPMode {
	case "", "starttls", "tls", "none":
	default:
		return inputErr("smtp_mode", "Choose STARTTLS, TLS or none for the mail server.")
	}
	if s.SMTPPort < 0 || s.SMTPPort > 65535 {
		return inputErr("smtp_port", "The mail server's port is a number up to 65535 (usually 587).")
	}
	if s.MailFrom != "" {
		if a, err := mail.ParseAddress(s.MailFrom); err != nil || a.Address != s.MailFrom {
			return inputErr("mail_from", "Enter the sender address, like clinic@example.com.")
		}
	}
	if err := s.normalizeTexts(); err != nil {
		return err
	}
	for _, t := range s.Templates {
		if !validTemplate(t) {
			return inputErr("templates", "Every template needs a name and an English text (each text at most 4,000 characters).")
		}
	}
	return nil
}

// Effective fills in the defaults for what the owner never set, so the
// console shows the values in force.
func (s Settings) Effective() Settings {
	h := s.hours()
	s.Hours = &h
	if s.Targets == nil {
		s.Targets = DefaultTargets()
	}
	s.Queues = s.queues()
	if s.Routes == nil {
		s.Routes = DefaultRoutes()
	}
	s.Templates = s.templates()
	s.ReminderHours = s.reminderHours()
	crisis := s.Crisis()
	s.CrisisLine = &crisis
	s.Region = s.region()
	if s.SMS.Transport == "" {
		s.SMS.Transport = TextsOff
	}
	return s
}

// Settings returns the clinic's settings (the defaults before setup).
// They are cached in memory: every request reads them.
func (c *Clinic) Settings(ctx context.Context) (Settings, error) {
	if p := c.settings.Load(); p != nil {
		return *p, nil
	}
	if c.v.Locked() {
		return c.plainSettings(ctx)
	}
	s := DefaultSettings()
	err := c.st.View(ctx, func(tx store.Tx) error { return c.open(tx, vault.RefNoPatient(bucketSettings, "clinic"), &s) })
	if errors.Is(err, ErrNotFound) {
		return DefaultSettings(), nil
	}
	if err == nil {
		c.settings.Store(&s)
	}
	return s, err
}

// SaveSettings replaces the settings. Owners only.
func (c *Clinic) SaveSettings(ctx context.Context, a Actor, s Settings) error {
	if a.Kind != ActorSystem && a.Role != RoleOwner {
		return ErrForbidden
	}
	if err := s.normalize(); err != nil {
		return err
	}
	if _, err := LoadTriage(c.files, s.UrgentWords); err != nil && c.files != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return err
		}
		return inputErr("urgent_words", "Write each urgent phrase on its own line, optionally as \"category: phrase\".")
	}
	sealed, err := c.seal(vault.RefNoPatient(bucketSettings, "clinic"), s)
	if err != nil {
		return err
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(bucketSettings, "clinic", sealed); err != nil {
			return err
		}
		if err := putPlainSettings(tx, s); err != nil {
			return err
		}
		return c.audit(tx, a, "settings.change", "settings", "")
	})
	if err == nil {
		c.settings.Store(&s)
		c.changed(ChangedSettings, "")
	}
	return err
}
