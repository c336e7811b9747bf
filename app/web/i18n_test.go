package web

import (
	"fmt"
	"os"
	"testing"
	"time"

	"hearth/app/i18n"
)

// realTr speaks lang with the real catalogue in embed/i18n.
func realTr(t *testing.T, lang string, loc *time.Location, now time.Time) *tr {
	t.Helper()
	cat, err := i18n.Load(os.DirFS("../../embed"))
	if err != nil {
		t.Fatal(err)
	}
	return speak(cat, lang, loc, now)
}

// TestDateWordsPinned pins how dates and times read on the patient pages,
// in English and Spanish, byte for byte: on a Monday, March 2, 2026, at
// 10:00 in New York, for a spread of moments (midnight, noon, one o'clock,
// today, yesterday, tomorrow, later this year, another year, another zone).
func TestDateWordsPinned(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, ny)
	moments := []time.Time{
		time.Date(2026, 3, 2, 0, 0, 0, 0, ny), time.Date(2026, 3, 2, 12, 0, 0, 0, ny), time.Date(2026, 3, 2, 13, 15, 0, 0, ny), time.Date(2026, 3, 2, 16, 30, 0, 0, ny),
		time.Date(2026, 3, 1, 9, 42, 0, 0, ny), time.Date(2026, 3, 1, 1, 0, 0, 0, ny),
		time.Date(2026, 3, 3, 0, 0, 0, 0, ny), time.Date(2026, 3, 3, 9, 0, 0, 0, ny), time.Date(2026, 3, 3, 13, 0, 0, 0, ny),
		time.Date(2026, 3, 5, 12, 0, 0, 0, ny), time.Date(2026, 3, 5, 1, 30, 0, 0, ny), time.Date(2026, 2, 27, 9, 42, 0, 0, ny),
		time.Date(2027, 1, 4, 0, 0, 0, 0, ny), time.Date(2025, 12, 31, 23, 5, 0, 0, ny),
		time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC),
	}
	clocks := [][2]int{{0, 0}, {0, 30}, {1, 0}, {9, 5}, {11, 59}, {12, 0}, {12, 30}, {13, 0}, {13, 45}, {17, 0}, {23, 59}, {24, 0}}
	for lang, want := range pinnedDateWords {
		tt := realTr(t, lang, ny, now)
		var got [][2]string
		for _, hm := range clocks {
			got = append(got, [2]string{fmt.Sprintf("Clock %d:%02d", hm[0], hm[1]), tt.Clock(hm[0], hm[1])},
				[2]string{fmt.Sprintf("Until %d:%02d", hm[0], hm[1]), tt.Until(hm[0], hm[1])})
		}
		for d := time.Sunday; d <= time.Saturday; d++ {
			got = append(got, [2]string{fmt.Sprintf("Weekday %d", d), tt.Weekday(d)})
		}
		for m := 1; m <= 12; m++ {
			x := time.Date(2026, time.Month(m), m+10, 8, 0, 0, 0, ny)
			got = append(got, [2]string{"Date " + x.Format("2006-01-02"), tt.Date(x)}, [2]string{"DayDate " + x.Format("2006-01-02"), tt.DayDate(x)})
		}
		for _, x := range moments {
			k := x.Format("2006-01-02 15:04 MST")
			got = append(got, [2]string{"When " + k, tt.When(x)}, [2]string{"On " + k, tt.On(x)}, [2]string{"Stamp " + k, tt.Stamp(x)}, [2]string{"ISO " + k, tt.ISO(x)})
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d phrases, %d pinned", lang, len(got), len(want))
		}
		for i, g := range got {
			if g != want[i] {
				t.Errorf("%s %s: got %q, want %q", lang, g[0], g[1], want[i][1])
			}
		}
	}
}

var pinnedDateWords = map[string][][2]string{
	"en": {
		{"Clock 0:00", "midnight"},
		{"Until 0:00", "until midnight"},
		{"Clock 0:30", "12:30\u00a0am"},
		{"Until 0:30", "until 12:30\u00a0am"},
		{"Clock 1:00", "1\u00a0am"},
		{"Until 1:00", "until 1\u00a0am"},
		{"Clock 9:05", "9:05\u00a0am"},
		{"Until 9:05", "until 9:05\u00a0am"},
		{"Clock 11:59", "11:59\u00a0am"},
		{"Until 11:59", "until 11:59\u00a0am"},
		{"Clock 12:00", "noon"},
		{"Until 12:00", "until noon"},
		{"Clock 12:30", "12:30\u00a0pm"},
		{"Until 12:30", "until 12:30\u00a0pm"},
		{"Clock 13:00", "1\u00a0pm"},
		{"Until 13:00", "until 1\u00a0pm"},
		{"Clock 13:45", "1:45\u00a0pm"},
		{"Until 13:45", "until 1:45\u00a0pm"},
		{"Clock 17:00", "5\u00a0pm"},
		{"Until 17:00", "until 5\u00a0pm"},
		{"Clock 23:59", "11:59\u00a0pm"},
		{"Until 23:59", "until 11:59\u00a0pm"},
		{"Clock 24:00", "midnight"},
		{"Until 24:00", "until midnight"},
		{"Weekday 0", "Sunday"},
		{"Weekday 1", "Monday"},
		{"Weekday 2", "Tuesday"},
		{"Weekday 3", "Wednesday"},
		{"Weekday 4", "Thursday"},
		{"Weekday 5", "Friday"},
		{"Weekday 6", "Saturday"},
		{"Date 2026-01-11", "January 11, 2026"},
		{"DayDate 2026-01-11", "Sunday, January 11"},
		{"Date 2026-02-12", "February 12, 2026"},
		{"DayDate 2026-02-12", "Thursday, February 12"},
		{"Date 2026-03-13", "March 13, 2026"},
		{"DayDate 2026-03-13", "Friday, March 13"},
		{"Date 2026-04-14", "April 14, 2026"},
		{"DayDate 2026-04-14", "Tuesday, April 14"},
		{"Date 2026-05-15", "May 15, 2026"},
		{"DayDate 2026-05-15", "Friday, May 15"},
		{"Date 2026-06-16", "June 16, 2026"},
		{"DayDate 2026-06-16", "Tuesday, June 16"},
		{"Date 2026-07-17", "July 17, 2026"},
		{"DayDate 2026-07-17", "Friday, July 17"},
		{"Date 2026-08-18", "August 18, 2026"},
		{"DayDate 2026-08-18", "Tuesday, August 18"},
		{"Date 2026-09-19", "September 19, 2026"},
		{"DayDate 2026-09-19", "Saturday, September 19"},
		{"Date 2026-10-20", "October 20, 2026"},
		{"DayDate 2026-10-20", "Tuesday, October 20"},
		{"Date 2026-11-21", "November 21, 2026"},
		{"DayDate 2026-11-21", "Saturday, November 21"},
		{"Date 2026-12-22", "December 22, 2026"},
		{"DayDate 2026-12-22", "Tuesday, December 22"},
		{"When 2026-03-02 00:00 EST", "midnight today"},
		{"On 2026-03-02 00:00 EST", "today at midnight"},
		{"Stamp 2026-03-02 00:00 EST", "Today, midnight"},
		{"ISO 2026-03-02 00:00 EST", "2026-03-02T00:00:00-05:00"},
		{"When 2026-03-02 12:00 EST", "noon today"},
		{"On 2026-03-02 12:00 EST", "today at noon"},
		{"Stamp 2026-03-02 12:00 EST", "Today, noon"},
		{"ISO 2026-03-02 12:00 EST", "2026-03-02T12:00:00-05:00"},
		{"When 2026-03-02 13:15 EST", "1:15\u00a0pm today"},
		{"On 2026-03-02 13:15 EST", "today at 1:15\u00a0pm"},
		{"Stamp 2026-03-02 13:15 EST", "Today, 1:15\u00a0pm"},
		{"ISO 2026-03-02 13:15 EST", "2026-03-02T13:15:00-05:00"},
		{"When 2026-03-02 16:30 EST", "4:30\u00a0pm today"},
		{"On 2026-03-02 16:30 EST", "today at 4:30\u00a0pm"},
		{"Stamp 2026-03-02 16:30 EST", "Today, 4:30\u00a0pm"},
		{"ISO 2026-03-02 16:30 EST", "2026-03-02T16:30:00-05:00"},
		{"When 2026-03-01 09:42 EST", "Sunday, March 1 at 9:42\u00a0am"},
		{"On 2026-03-01 09:42 EST", "yesterday at 9:42\u00a0am"},
		{"Stamp 2026-03-01 09:42 EST", "Yesterday, 9:42\u00a0am"},
		{"ISO 2026-03-01 09:42 EST", "2026-03-01T09:42:00-05:00"},
		{"When 2026-03-01 01:00 EST", "Sunday, March 1 at 1\u00a0am"},
		{"On 2026-03-01 01:00 EST", "yesterday at 1\u00a0am"},
		{"Stamp 2026-03-01 01:00 EST", "Yesterday, 1\u00a0am"},
		{"ISO 2026-03-01 01:00 EST", "2026-03-01T01:00:00-05:00"},
		{"When 2026-03-03 00:00 EST", "midnight tomorrow"},
		{"On 2026-03-03 00:00 EST", "tomorrow at midnight"},
		{"Stamp 2026-03-03 00:00 EST", "Tuesday, March 3, midnight"},
		{"ISO 2026-03-03 00:00 EST", "2026-03-03T00:00:00-05:00"},
		{"When 2026-03-03 09:00 EST", "9\u00a0am tomorrow"},
		{"On 2026-03-03 09:00 EST", "tomorrow at 9\u00a0am"},
		{"Stamp 2026-03-03 09:00 EST", "Tuesday, March 3, 9\u00a0am"},
		{"ISO 2026-03-03 09:00 EST", "2026-03-03T09:00:00-05:00"},
		{"When 2026-03-03 13:00 EST", "1\u00a0pm tomorrow"},
		{"On 2026-03-03 13:00 EST", "tomorrow at 1\u00a0pm"},
		{"Stamp 2026-03-03 13:00 EST", "Tuesday, March 3, 1\u00a0pm"},
		{"ISO 2026-03-03 13:00 EST", "2026-03-03T13:00:00-05:00"},
		{"When 2026-03-05 12:00 EST", "Thursday, March 5 at noon"},
		{"On 2026-03-05 12:00 EST", "on Thursday, March 5 at noon"},
		{"Stamp 2026-03-05 12:00 EST", "Thursday, March 5, noon"},
		{"ISO 2026-03-05 12:00 EST", "2026-03-05T12:00:00-05:00"},
		{"When 2026-03-05 01:30 EST", "Thursday, March 5 at 1:30\u00a0am"},
		{"On 2026-03-05 01:30 EST", "on Thursday, March 5 at 1:30\u00a0am"},
		{"Stamp 2026-03-05 01:30 EST", "Thursday, March 5, 1:30\u00a0am"},
		{"ISO 2026-03-05 01:30 EST", "2026-03-05T01:30:00-05:00"},
		{"When 2026-02-27 09:42 EST", "Friday, February 27 at 9:42\u00a0am"},
		{"On 2026-02-27 09:42 EST", "on Friday, February 27 at 9:42\u00a0am"},
		{"Stamp 2026-02-27 09:42 EST", "Friday, February 27, 9:42\u00a0am"},
		{"ISO 2026-02-27 09:42 EST", "2026-02-27T09:42:00-05:00"},
		{"When 2027-01-04 00:00 EST", "Monday, January 4, 2027 at midnight"},
		{"On 2027-01-04 00:00 EST", "on Monday, January 4, 2027 at midnight"},
		{"Stamp 2027-01-04 00:00 EST", "Monday, January 4, 2027, midnight"},
		{"ISO 2027-01-04 00:00 EST", "2027-01-04T00:00:00-05:00"},
		{"When 2025-12-31 23:05 EST", "Wednesday, December 31, 2025 at 11:05\u00a0pm"},
		{"On 2025-12-31 23:05 EST", "on Wednesday, December 31, 2025 at 11:05\u00a0pm"},
		{"Stamp 2025-12-31 23:05 EST", "Wednesday, December 31, 2025, 11:05\u00a0pm"},
		{"ISO 2025-12-31 23:05 EST", "2025-12-31T23:05:00-05:00"},
		{"When 2026-03-02 20:00 UTC", "3\u00a0pm today"},
		{"On 2026-03-02 20:00 UTC", "today at 3\u00a0pm"},
		{"Stamp 2026-03-02 20:00 UTC", "Today, 3\u00a0pm"},
		{"ISO 2026-03-02 20:00 UTC", "2026-03-02T15:00:00-05:00"},
	},
	"es": {
		{"Clock 0:00", "medianoche"},
		{"Until 0:00", "hasta la medianoche"},
		{"Clock 0:30", "12:30\u00a0a.\u00a0m."},
		{"Until 0:30", "hasta las 12:30\u00a0a.\u00a0m."},
		{"Clock 1:00", "1\u00a0a.\u00a0m."},
		{"Until 1:00", "hasta la 1\u00a0a.\u00a0m."},
		{"Clock 9:05", "9:05\u00a0a.\u00a0m."},
		{"Until 9:05", "hasta las 9:05\u00a0a.\u00a0m."},
		{"Clock 11:59", "11:59\u00a0a.\u00a0m."},
		{"Until 11:59", "hasta las 11:59\u00a0a.\u00a0m."},
		{"Clock 12:00", "mediodía"},
		{"Until 12:00", "hasta el mediodía"},
		{"Clock 12:30", "12:30\u00a0p.\u00a0m."},
		{"Until 12:30", "hasta las 12:30\u00a0p.\u00a0m."},
		{"Clock 13:00", "1\u00a0p.\u00a0m."},
		{"Until 13:00", "hasta la 1\u00a0p.\u00a0m."},
		{"Clock 13:45", "1:45\u00a0p.\u00a0m."},
		{"Until 13:45", "hasta la 1:45\u00a0p.\u00a0m."},
		{"Clock 17:00", "5\u00a0p.\u00a0m."},
		{"Until 17:00", "hasta las 5\u00a0p.\u00a0m."},
		{"Clock 23:59", "11:59\u00a0p.\u00a0m."},
		{"Until 23:59", "hasta las 11:59\u00a0p.\u00a0m."},
		{"Clock 24:00", "medianoche"},
		{"Until 24:00", "hasta la medianoche"},
		{"Weekday 0", "domingo"},
		{"Weekday 1", "lunes"},
		{"Weekday 2", "martes"},
		{"Weekday 3", "miércoles"},
		{"Weekday 4", "jueves"},
		{"Weekday 5", "viernes"},
		{"Weekday 6", "sábado"},
		{"Date 2026-01-11", "11 de enero de 2026"},
		{"DayDate 2026-01-11", "domingo 11 de enero"},
		{"Date 2026-02-12", "12 de febrero de 2026"},
		{"DayDate 2026-02-12", "jueves 12 de febrero"},
		{"Date 2026-03-13", "13 de marzo de 2026"},
		{"DayDate 2026-03-13", "viernes 13 de marzo"},
		{"Date 2026-04-14", "14 de abril de 2026"},
		{"DayDate 2026-04-14", "martes 14 de abril"},
		{"Date 2026-05-15", "15 de mayo de 2026"},
		{"DayDate 2026-05-15", "viernes 15 de mayo"},
		{"Date 2026-06-16", "16 de junio de 2026"},
		{"DayDate 2026-06-16", "martes 16 de junio"},
		{"Date 2026-07-17", "17 de julio de 2026"},
		{"DayDate 2026-07-17", "viernes 17 de julio"},
		{"Date 2026-08-18", "18 de agosto de 2026"},
		{"DayDate 2026-08-18", "martes 18 de agosto"},
		{"Date 2026-09-19", "19 de septiembre de 2026"},
		{"DayDate 2026-09-19", "sábado 19 de septiembre"},
		{"Date 2026-10-20", "20 de octubre de 2026"},
		{"DayDate 2026-10-20", "martes 20 de octubre"},
		{"Date 2026-11-21", "21 de noviembre de 2026"},
		{"DayDate 2026-11-21", "sábado 21 de noviembre"},
		{"Date 2026-12-22", "22 de diciembre de 2026"},
		{"DayDate 2026-12-22", "martes 22 de diciembre"},
		{"When 2026-03-02 00:00 EST", "hoy a medianoche"},
		{"On 2026-03-02 00:00 EST", "hoy a medianoche"},
		{"Stamp 2026-03-02 00:00 EST", "Hoy, medianoche"},
		{"ISO 2026-03-02 00:00 EST", "2026-03-02T00:00:00-05:00"},
		{"When 2026-03-02 12:00 EST", "hoy a mediodía"},
		{"On 2026-03-02 12:00 EST", "hoy a mediodía"},
		{"Stamp 2026-03-02 12:00 EST", "Hoy, mediodía"},
		{"ISO 2026-03-02 12:00 EST", "2026-03-02T12:00:00-05:00"},
		{"When 2026-03-02 13:15 EST", "hoy a la 1:15\u00a0p.\u00a0m."},
		{"On 2026-03-02 13:15 EST", "hoy a la 1:15\u00a0p.\u00a0m."},
		{"Stamp 2026-03-02 13:15 EST", "Hoy, 1:15\u00a0p.\u00a0m."},
		{"ISO 2026-03-02 13:15 EST", "2026-03-02T13:15:00-05:00"},
		{"When 2026-03-02 16:30 EST", "hoy a las 4:30\u00a0p.\u00a0m."},
		{"On 2026-03-02 16:30 EST", "hoy a las 4:30\u00a0p.\u00a0m."},
		{"Stamp 2026-03-02 16:30 EST", "Hoy, 4:30\u00a0p.\u00a0m."},
		{"ISO 2026-03-02 16:30 EST", "2026-03-02T16:30:00-05:00"},
		{"When 2026-03-01 09:42 EST", "el domingo 1 de marzo a las 9:42\u00a0a.\u00a0m."},
		{"On 2026-03-01 09:42 EST", "ayer a las 9:42\u00a0a.\u00a0m."},
		{"Stamp 2026-03-01 09:42 EST", "Ayer, 9:42\u00a0a.\u00a0m."},
		{"ISO 2026-03-01 09:42 EST", "2026-03-01T09:42:00-05:00"},
		{"When 2026-03-01 01:00 EST", "el domingo 1 de marzo a la 1\u00a0a.\u00a0m."},
		{"On 2026-03-01 01:00 EST", "ayer a la 1\u00a0a.\u00a0m."},
		{"Stamp 2026-03-01 01:00 EST", "Ayer, 1\u00a0a.\u00a0m."},
		{"ISO 2026-03-01 01:00 EST", "2026-03-01T01:00:00-05:00"},
		{"When 2026-03-03 00:00 EST", "mañana a medianoche"},
		{"On 2026-03-03 00:00 EST", "mañana a medianoche"},
		{"Stamp 2026-03-03 00:00 EST", "Martes 3 de marzo, medianoche"},
		{"ISO 2026-03-03 00:00 EST", "2026-03-03T00:00:00-05:00"},
		{"When 2026-03-03 09:00 EST", "mañana a las 9\u00a0a.\u00a0m."},
		{"On 2026-03-03 09:00 EST", "mañana a las 9\u00a0a.\u00a0m."},
		{"Stamp 2026-03-03 09:00 EST", "Martes 3 de marzo, 9\u00a0a.\u00a0m."},
		{"ISO 2026-03-03 09:00 EST", "2026-03-03T09:00:00-05:00"},
		{"When 2026-03-03 13:00 EST", "mañana a la 1\u00a0p.\u00a0m."},
		{"On 2026-03-03 13:00 EST", "mañana a la 1\u00a0p.\u00a0m."},
		{"Stamp 2026-03-03 13:00 EST", "Martes 3 de marzo, 1\u00a0p.\u00a0m."},
		{"ISO 2026-03-03 13:00 EST", "2026-03-03T13:00:00-05:00"},
		{"When 2026-03-05 12:00 EST", "el jueves 5 de marzo a mediodía"},
		{"On 2026-03-05 12:00 EST", "el jueves 5 de marzo a mediodía"},
		{"Stamp 2026-03-05 12:00 EST", "Jueves 5 de marzo, mediodía"},
		{"ISO 2026-03-05 12:00 EST", "2026-03-05T12:00:00-05:00"},
		{"When 2026-03-05 01:30 EST", "el jueves 5 de marzo a la 1:30\u00a0a.\u00a0m."},
		{"On 2026-03-05 01:30 EST", "el jueves 5 de marzo a la 1:30\u00a0a.\u00a0m."},
		{"Stamp 2026-03-05 01:30 EST", "Jueves 5 de marzo, 1:30\u00a0a.\u00a0m."},
		{"ISO 2026-03-05 01:30 EST", "2026-03-05T01:30:00-05:00"},
		{"When 2026-02-27 09:42 EST", "el viernes 27 de febrero a las 9:42\u00a0a.\u00a0m."},
		{"On 2026-02-27 09:42 EST", "el viernes 27 de febrero a las 9:42\u00a0a.\u00a0m."},
		{"Stamp 2026-02-27 09:42 EST", "Viernes 27 de febrero, 9:42\u00a0a.\u00a0m."},
		{"ISO 2026-02-27 09:42 EST", "2026-02-27T09:42:00-05:00"},
		{"When 2027-01-04 00:00 EST", "el lunes 4 de enero de 2027 a medianoche"},
		{"On 2027-01-04 00:00 EST", "el lunes 4 de enero de 2027 a medianoche"},
		{"Stamp 2027-01-04 00:00 EST", "Lunes 4 de enero de 2027, medianoche"},
		{"ISO 2027-01-04 00:00 EST", "2027-01-04T00:00:00-05:00"},
		{"When 2025-12-31 23:05 EST", "el miércoles 31 de diciembre de 2025 a las 11:05\u00a0p.\u00a0m."},
		{"On 2025-12-31 23:05 EST", "el miércoles 31 de diciembre de 2025 a las 11:05\u00a0p.\u00a0m."},
		{"Stamp 2025-12-31 23:05 EST", "Miércoles 31 de diciembre de 2025, 11:05\u00a0p.\u00a0m."},
		{"ISO 2025-12-31 23:05 EST", "2025-12-31T23:05:00-05:00"},
		{"When 2026-03-02 20:00 UTC", "hoy a las 3\u00a0p.\u00a0m."},
		{"On 2026-03-02 20:00 UTC", "hoy a las 3\u00a0p.\u00a0m."},
		{"Stamp 2026-03-02 20:00 UTC", "Hoy, 3\u00a0p.\u00a0m."},
		{"ISO 2026-03-02 20:00 UTC", "2026-03-02T15:00:00-05:00"},
	},
}
