package clinic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"hearth/app/store"
)

// The clinic's decoders of files an owner hands in: the appointment CSV
// importer and the backup reader. `go test` runs the seeds; .ci/run fuzzes
// each for a bounded time.

// FuzzReadCSV: any file is rows of valid UTF-8 within the row limit, or an
// input error a person can act on; never a panic.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"\xef\xbb\xbfAppt ID;Patient;DOB;Date;Time\nA1;Ada Example;1970-06-15;2026-12-01;09:30\n",
		"Appt ID,Patient\n\"A, 1\",\"Ada \"\"Q\"\" Example\"\n",
		"a,b\n1,2,3\n", "", "\n", "\"unterminated\n",
		"Patient\n\u202eelpmaxE adA\u200b\x00\n",
		"Patient\n" + strings.Repeat("a\u0301", 2000) + "\n",
		"\xff\xfe,b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := readCSV(b)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("not an input error: %v", err)
			}
			if rows != nil {
				t.Fatal("rows with an error")
			}
			return
		}
		if len(rows) == 0 || len(rows) > maxImportRows+1 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			if len(r) != len(rows[0]) {
				t.Fatalf("a row of %d fields under a header of %d", len(r), len(rows[0]))
			}
			for _, v := range r {
				if !utf8.ValidString(v) {
					t.Fatalf("invalid UTF-8 kept: %q", v)
				}
			}
		}
	})
}

// FuzzParseWhen: any date and time columns give a time in the clinic's
// zone on the minute, or an error; never a panic.
func FuzzParseWhen(f *testing.F) {
	for _, s := range [][2]string{
		{"2026-12-01", "09:30"}, {"12/01/2026", "9:30 AM"}, {"2026-12-01 09:30", ""},
		{"2026-03-08", "02:30"}, {"9999-12-31", "23:59"}, {"2026-12-01T09:30:00+05:00", ""},
		{"\u202e2026-12-01", "09:30\x00"}, {"", ""}, {"Jan 2, 2006", "3pm"},
	} {
		f.Add(s[0], s[1])
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		loc = time.FixedZone("EST", -5*3600)
	}
	f.Fuzz(func(t *testing.T, date, clock string) {
		when, err := parseWhen(date, clock, loc)
		if err != nil {
			if !when.IsZero() {
				t.Fatal("a time with an error")
			}
			return
		}
		if when.IsZero() {
			t.Fatalf("%q %q: a zero time and no error", date, clock)
		}
	})
}

// FuzzReadBackup: any file handed to restore is either a whole backup
// sealed to the recovery key, or refused as damaged; the inside of a
// sealed backup is read to its end the way restore reads it (the header
// line, then the store dump), and a bad one is damaged, never a panic.
func FuzzReadBackup(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	seal := func(tb testing.TB, plain []byte) []byte {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, id.Recipient())
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(plain); err != nil {
			tb.Fatal(err)
		}
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
		return buf.Bytes()
	}
	hdr, err := json.Marshal(BackupHeader{Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Version: "test", Store: "bolt", ClinicIdentity: "AGE-SECRET-KEY-1TEST"})
	if err != nil {
		f.Fatal(err)
	}
	dump := []byte(store.DumpMagic + "\x01\x05items\x02k1\x03v1\x00\x01")
	good := []byte(backupMagic + string(hdr) + "\n" + string(dump))
	f.Add(good, true)
	f.Add(good[:len(good)-3], true)
	f.Add([]byte(backupMagic+"{}\n"), true)
	f.Add([]byte(backupMagic+`{"clinic_identity":"x"}`), true)
	f.Add([]byte("HEARTH-BACKUP 2\n"), true)
	f.Add(seal(f, good), false)
	f.Add(seal(f, good)[:100], false)
	f.Add([]byte("age-encryption.org/v1\n-> X25519 \n"), false)
	f.Fuzz(func(t *testing.T, b []byte, sealIt bool) {
		file := b
		if sealIt {
			file = seal(t, b)
		}
		h, rest, err := ReadBackup(id.String(), bytes.NewReader(file))
		if err != nil {
			if !errors.Is(err, ErrBackupDamaged) {
				t.Fatalf("not marked damaged: %v", err)
			}
			if rest != nil {
				t.Fatal("a snapshot reader with an error")
			}
			return
		}
		if h.ClinicIdentity == "" {
			t.Fatal("a backup without the clinic identity was accepted")
		}
		_, err = store.ReadDump(rest, 64, func([]store.Entry) error { return nil })
		if err != nil && !errors.Is(err, store.ErrDumpDamaged) && !errors.Is(err, ErrBackupDamaged) {
			t.Fatalf("the snapshot failed unmarked: %v", err)
		}
		if _, err := io.Copy(io.Discard, rest); err != nil && !errors.Is(err, ErrBackupDamaged) {
			t.Fatalf("reading the rest failed unmarked: %v", err)
		}
	})
}
