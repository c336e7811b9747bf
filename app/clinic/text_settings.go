package clinic

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"hearth/app/sms"
)

// Text message settings: which transport sends the clinic's texts (none, an
// SMS gateway over HTTPS, or a USB GSM modem on the office PC), and the
// clinic's country, in which phone numbers without a country code are read.
// The gateway's token is a secret: sealed with the settings, never in the
// plain copy, never in an answer (the web layer keeps it write-only).

// The text transports.
const (
	TextsOff     = "off"
	TextsGateway = "gateway"
	TextsModem   = "modem"
)

// SMSSettings are the "sms" object of the settings.
type SMSSettings struct {
	Transport  string `json:"transport"`   // off, gateway, modem
	GatewayURL string `json:"gateway_url"` // the provider's API base, like https://api.example.com
	Account    string `json:"account"`     // the gateway account (basic-auth user)
	Token      string `json:"token"`       // the gateway token (basic-auth password, webhook signing key)
	From       string `json:"from"`        // the clinic's sending number, E.164
	Device     string `json:"device"`      // the modem's serial port, like /dev/ttyUSB0
}

// DefaultRegion is the country phone numbers are read in when the owner
// has not chosen one.
const DefaultRegion = "US"

func (s Settings) region() string {
	if s.Region == "" {
		return DefaultRegion
	}
	return s.Region
}

// TextsReady reports whether texts can be sent: a transport is chosen and
// the public address is set (a text's only content is a link).
func (s Settings) TextsReady() bool {
	return s.SMS.Transport == TextsGateway || s.SMS.Transport == TextsModem
}

// HookURL is the full public address of the gateway's webhook, which
// signatures are computed over; "" without a public address.
func (s Settings) HookURL() string {
	if s.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(s.PublicURL, "/") + "/hooks/sms/gateway"
}

func (s *Settings) normalizeTexts() error {
	s.Region = strings.ToUpper(strings.TrimSpace(s.Region))
	if s.Region != "" && (len(s.Region) != 2 || strings.Trim(s.Region, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return inputErr("region", "Write the clinic's country as its two-letter code, like US or MX.")
	}
	t := &s.SMS
	t.GatewayURL, t.Account = strings.TrimSpace(t.GatewayURL), strings.TrimSpace(t.Account)
	t.From, t.Device = strings.TrimSpace(t.From), strings.TrimSpace(t.Device)
	switch t.Transport {
	case "", TextsOff:
		t.Transport = TextsOff
		return nil
	case TextsGateway:
		u, err := url.Parse(t.GatewayURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return inputErr("sms.gateway_url", "Enter the gateway's address, like https://api.example.com.")
		}
		if t.Account == "" || len(t.Account) > 200 {
			return inputErr("sms.account", "Enter the gateway account the provider gave you.")
		}
	case TextsModem:
		if !strings.HasPrefix(t.Device, "/") || strings.ContainsAny(t.Device, "\n\x00") {
			return inputErr("sms.device", "Enter the modem's port, like /dev/ttyUSB0.")
		}
	default:
		return inputErr("sms.transport", "Choose off, an SMS gateway or a modem for text messages.")
	}
	if t.From == "" {
		return inputErr("sms.from", "Enter the clinic's texting number, with its area code.")
	}
	from, _, err := sms.Normalize(t.From, s.region())
	if err != nil {
		return inputErr("sms.from", "That texting number cannot be read. Write it with its area code, like +1 555 201 3344.")
	}
	t.From = from
	return nil
}

// quietUntil says whether t falls in the quiet hours (8 pm to 8 am, clinic
// time), and if so when they end.
func (s Settings) quietUntil(t time.Time) (time.Time, bool) {
	loc := s.Location()
	lt := t.In(loc)
	if lt.Hour() >= 8 && lt.Hour() < 20 {
		return time.Time{}, false
	}
	day := lt
	if lt.Hour() >= 20 {
		day = time.Date(lt.Year(), lt.Month(), lt.Day()+1, 12, 0, 0, 0, loc)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), 8, 0, 0, 0, loc), true
}

// nanp are the countries of the North American numbering plan (+1): a
// clinic in one of them texts numbers of all of them.
var nanp = []string{"US", "CA", "PR", "VI", "GU", "AS", "MP"}

// servesNumber reports whether the clinic texts this number: one of its
// own country (texts abroad cost more and reach people the clinic does not
// serve), or of a country sharing its calling code in North America.
func (s Settings) servesNumber(e164 string) bool {
	r := sms.NumberRegion(e164)
	if r == s.region() {
		return true
	}
	return strings.HasPrefix(e164, "+1") && slices.Contains(nanp, r) && slices.Contains(nanp, s.region())
}
