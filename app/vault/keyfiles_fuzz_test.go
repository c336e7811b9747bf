package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzKeyFiles: whatever one file of the keys folder holds, Load either
// refuses or gives a vault for the clinic's own key, and a record sealed
// before opens as before or not at all: a damaged keys folder never
// becomes a working vault for another key. Both modes are covered: plain
// (clinic.key) and sealed behind a passphrase (clinic.key.age).
//
// The passphrase-sealed file itself is loaded but not unlocked when it is
// the one replaced: age lets its header ask for up to 2^22 scrypt, seconds
// and gigabytes per try, which is a fuzzer's budget and not a parser's bug.
func FuzzKeyFiles(f *testing.F) {
	type folder struct {
		files     map[string][]byte
		recipient string
		sealed    []byte
	}
	ref := Ref{Bucket: "items", ID: "i1", Patient: "p1"}
	mk := func(passphrase bool) folder {
		v, dir, _ := newVault(f)
		if passphrase {
			if err := v.SetPassphrase("correct horse"); err != nil {
				f.Fatal(err)
			}
		}
		sealed, err := v.Seal(ref, []byte("hello"))
		if err != nil {
			f.Fatal(err)
		}
		fo := folder{files: map[string][]byte{}, recipient: v.Recipient(), sealed: sealed}
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			fo.files[e.Name()] = b
		}
		return fo
	}
	modes := []folder{mk(false), mk(true)}
	names := keyFiles
	for i, n := range names {
		for m, fo := range modes {
			if b, ok := fo.files[n]; ok {
				f.Add(uint8(m), uint8(i), b)
				f.Add(uint8(m), uint8(i), b[:len(b)/2])
				f.Add(uint8(m), uint8(i), bytes.ToUpper(b))
			}
		}
		f.Add(uint8(0), uint8(i), []byte{})
	}
	f.Add(uint8(1), uint8(2), modes[0].files[fileClinicPub]) // another clinic's recipient
	f.Add(uint8(0), uint8(0), []byte("AGE-SECRET-KEY-1\n"))

	f.Fuzz(func(t *testing.T, mode, which uint8, data []byte) {
		fo := modes[int(mode)%len(modes)]
		name := names[int(which)%len(names)]
		dir := t.TempDir()
		for n, b := range fo.files {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := Load(dir)
		if err != nil {
			if v != nil {
				t.Fatal("a vault with an error")
			}
			return
		}
		if v.Locked() && name != fileClinicSealed {
			if err := v.Unlock("correct horse"); err != nil {
				if !errors.Is(err, ErrWrongKey) && !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrNoKeys) && !errors.Is(err, ErrBadPassphrase) {
					t.Fatalf("unlock failed unmarked: %v", err)
				}
				return
			}
		}
		if v.Locked() {
			return
		}
		// Unlocked: it must be the clinic's own key, whatever the file said.
		if v.Recipient() != fo.recipient {
			t.Fatalf("%s replaced: the vault unlocked as %s, not the clinic's %s", name, v.Recipient(), fo.recipient)
		}
		body, err := v.Open(ref, fo.sealed)
		if err != nil || string(body) != "hello" {
			t.Fatalf("%s replaced: a record sealed before opens as %q, %v", name, body, err)
		}
		if strings.Contains(v.String(), "AGE-SECRET-KEY") {
			t.Fatal("the vault prints its secret")
		}
	})
}
