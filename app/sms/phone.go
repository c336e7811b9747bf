package sms

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrBadNumber is what Normalize answers for anything that is not a valid
// phone number. It never repeats the input.
var ErrBadNumber = errors.New("sms: not a valid phone number")

// Normalize turns a number as a person typed it ("(555) 123-4567",
// "612 34 56 78", "+34 612345678") into E.164, reading a number without a
// country code as one of region (the clinic's country, ISO 3166 "US", "MX",
// "ES"). mobile is false only when the country's numbering plan says the
// number cannot be a mobile one (a landline, a toll-free or premium number);
// where a number may be either, as every geographic number in the US and
// Canada, it counts as mobile.
func Normalize(raw, region string) (e164 string, mobile bool, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 40 {
		return "", false, ErrBadNumber
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false, ErrBadNumber
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		mobile = true
	}
	return phonenumbers.Format(num, phonenumbers.E164), mobile, nil
}

// NumberRegion answers the country (ISO 3166, "US") a number in E.164
// belongs to, or "" if it is not one; the clinic uses it to refuse numbers
// of countries it does not serve.
func NumberRegion(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}
