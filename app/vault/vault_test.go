package vault

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
)

// cheapScrypt keeps passphrase tests fast; production uses age's default.
const cheapScrypt = 10

func newVault(t testing.TB) (*Vault, string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	v, recovery, err := Create(dir)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	v.SetScryptWorkFactor(cheapScrypt)
	return v, dir, recovery
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func TestCreate(t *testing.T) {
	v, dir, recovery := newVault(t)

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("keys folder mode = %v, want 0700", fi.Mode().Perm())
	}
	files := snapshot(t, dir)
	for _, name := range []string{"clinic.key", "recovery.pub", "clinic.escrow.age", "clinic.pub"} {
		if _, ok := files[name]; !ok {
			t.Errorf("%s missing", name)
			continue
		}
		fi, _ := os.Stat(filepath.Join(dir, name))
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if len(files) != 4 {
		t.Errorf("keys folder holds %d files, want 4 (no temp files left): %v", len(files), keysOf(files))
	}
	if !strings.HasPrefix(recovery, "AGE-SECRET-KEY-1") {
		t.Errorf("recovery secret %q is not an age identity", recovery[:16])
	}
	recoveryID, _ := age.ParseX25519Identity(recovery)
	for name, body := range files {
		if strings.Contains(strings.ToUpper(body), recovery) ||
			bytes.Contains([]byte(body), []byte(strings.ToLower(recovery))) {
			t.Errorf("recovery secret written to %s", name)
		}
	}
	if got := strings.TrimSpace(files["recovery.pub"]); got != recoveryID.Recipient().String() || got != v.RecoveryRecipient() {
		t.Errorf("recovery.pub = %q, want the recovery recipient", got)
	}
	clinic, _ := v.ClinicIdentity()
	if strings.TrimSpace(files["clinic.key"]) != clinic {
		t.Error("clinic.key does not hold the clinic identity")
	}
	if !strings.HasPrefix(v.Recipient(), "age1") || v.Recipient() == v.RecoveryRecipient() {
		t.Errorf("Recipient() = %q", v.Recipient())
	}
	if v.Locked() {
		t.Error("a new vault is locked")
	}

	_, _, err = Create(dir)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("Create again: err = %v, want ErrExists", err)
	}
	if after := snapshot(t, dir); !equalMaps(files, after) {
		t.Error("Create again changed the keys folder")
	}
}

func TestCreateRefusesAnyKeyFile(t *testing.T) {
	for _, name := range keyFiles {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Create(dir); !errors.Is(err, ErrExists) {
			t.Errorf("Create with %s present: err = %v, want ErrExists", name, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != "x" {
			t.Errorf("%s overwritten", name)
		}
	}
}

func TestSealOpen(t *testing.T) {
	v, _, _ := newVault(t)
	ref := Ref{Bucket: "items", ID: "0b6c7a36-1d1f-4c65-9b53-7a0e0f1d2c3e", Patient: "p-1"}
	body := []byte("Please refill my lisinopril 10 mg.")
	sealed, err := v.Seal(ref, body)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, body) || bytes.Contains(sealed, []byte(ref.Patient)) {
		t.Fatal("sealed record carries plaintext")
	}

	tests := []struct {
		name string
		ref  Ref
		want error
	}{
		{"same ref", ref, nil},
		{"patient unknown to caller", RefAnyPatient(ref.Bucket, ref.ID), nil},
		{"said to have no patient", RefNoPatient(ref.Bucket, ref.ID), ErrMismatch},
		{"other id", NewRef(ref.Bucket, "other", ref.Patient), ErrMismatch},
		{"other bucket", NewRef("patients", ref.ID, ref.Patient), ErrMismatch},
		{"other patient", NewRef(ref.Bucket, ref.ID, "p-2"), ErrMismatch},
		{"other id, patient unknown", RefAnyPatient(ref.Bucket, "other"), ErrMismatch},
		// Length prefixes: shifting bytes between fields is not the same Ref.
		{"fields shifted", NewRef(ref.Bucket+ref.ID[:1], ref.ID[1:], ref.Patient), ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Open(tt.ref, sealed)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: err = %v, want %v", err, tt.want)
			}
			if err != nil && got != nil {
				t.Fatal("Open returned a body with an error")
			}
			if err == nil && !bytes.Equal(got, body) {
				t.Fatalf("Open = %q, want %q", got, body)
			}
		})
	}

	bound, err := v.BoundRef(sealed)
	if err != nil || bound != ref {
		t.Fatalf("BoundRef = %+v, %v; want %+v", bound, err, ref)
	}
}

// TestRefPatientIsExplicit: a Ref with no patient is refused unless it says
// so (RefNoPatient, RefAnyPatient), so an empty string cannot silently turn
// the patient check off.
func TestRefPatientIsExplicit(t *testing.T) {
	v, _, _ := newVault(t)
	if _, err := v.Seal(Ref{Bucket: "items", ID: "i1"}, []byte("x")); !errors.Is(err, ErrRefPatient) {
		t.Fatalf("Seal with an empty patient: %v, want ErrRefPatient", err)
	}
	if _, err := v.Seal(RefAnyPatient("items", "i1"), []byte("x")); !errors.Is(err, ErrRefPatient) {
		t.Fatalf("Seal with RefAnyPatient: %v, want ErrRefPatient", err)
	}
	bound, err := v.Seal(NewRef("items", "i1", "p1"), []byte("bound"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Open(Ref{Bucket: "items", ID: "i1"}, bound); !errors.Is(err, ErrRefPatient) {
		t.Fatalf("Open with an empty patient: %v, want ErrRefPatient", err)
	}
	none, err := v.Seal(RefNoPatient("staff", "s1"), []byte("no patient"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		ref    Ref
		sealed []byte
		want   error
	}{
		{"no patient, as sealed", RefNoPatient("staff", "s1"), none, nil},
		{"no patient, patient unknown", RefAnyPatient("staff", "s1"), none, nil},
		{"no patient, opened for one", NewRef("staff", "s1", "p1"), none, ErrMismatch},
		{"a patient's, opened as no patient's", RefNoPatient("items", "i1"), bound, ErrMismatch},
		{"a patient's, patient unknown", RefAnyPatient("items", "i1"), bound, nil},
	} {
		if _, err := v.Open(tc.ref, tc.sealed); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, err := v.BoundRef(none); err != nil || got != RefNoPatient("staff", "s1") {
		t.Fatalf("BoundRef of a record with no patient = %+v, %v", got, err)
	}
}

func TestSealOpenSizes(t *testing.T) {
	v, _, _ := newVault(t)
	for _, n := range []int{0, 1, 64<<10 - 7, 64 << 10, 64<<10 + 1, 200 << 10} {
		body := make([]byte, n)
		rand.Read(body)
		ref := RefNoPatient("b", "id")
		sealed, err := v.Seal(ref, body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Open(ref, sealed)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: round trip failed: %v", n, err)
		}
	}
}

func TestSealRejectsLongRef(t *testing.T) {
	v, _, _ := newVault(t)
	if _, err := v.Seal(RefNoPatient("b", strings.Repeat("x", 1<<16)), nil); err == nil {
		t.Fatal("Seal accepted an id longer than its length prefix")
	}
}

func TestOpenDamaged(t *testing.T) {
	v, _, _ := newVault(t)
	ref := Ref{Bucket: "items", ID: "i1", Patient: "p1"}
	sealed, err := v.Seal(ref, bytes.Repeat([]byte("body "), 100))
	if err != nil {
		t.Fatal(err)
	}
	headerEnd := bytes.Index(sealed, []byte("\n--- ")) + 5
	cases := map[string][]byte{
		"empty":       {},
		"truncated":   sealed[:len(sealed)-1],
		"cut in half": sealed[:len(sealed)/2],
		"header only": sealed[:headerEnd+43+1],
		"extra byte":  append(bytes.Clone(sealed), 0),
	}
	for _, pos := range []int{0, 5, 30, 60, headerEnd + 3, headerEnd + 50, len(sealed) / 2, len(sealed) - 20, len(sealed) - 1} {
		d := bytes.Clone(sealed)
		d[pos] ^= 0x01
		cases["flip at "+strconv.Itoa(pos)] = d
	}
	for name, d := range cases {
		got, err := v.Open(ref, d)
		if !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: err = %v, want ErrIntegrity", name, err)
		}
		if got != nil {
			t.Errorf("%s: Open returned %d bytes with an error", name, len(got))
		}
	}
}

func TestOpenOtherVault(t *testing.T) {
	a, _, _ := newVault(t)
	b, _, _ := newVault(t)
	ref := RefNoPatient("items", "i1")
	sealed, _ := a.Seal(ref, []byte("hello"))
	if got, err := b.Open(ref, sealed); !errors.Is(err, ErrIntegrity) || got != nil {
		t.Fatalf("Open with another vault: %q, %v; want ErrIntegrity", got, err)
	}
}

func TestLoad(t *testing.T) {
	v, dir, _ := newVault(t)
	ref := RefNoPatient("items", "i1")
	sealed, _ := v.Seal(ref, []byte("hello"))

	w, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w.Locked() || w.Recipient() != v.Recipient() || w.RecoveryRecipient() != v.RecoveryRecipient() {
		t.Fatal("loaded vault differs")
	}
	if got, err := w.Open(ref, sealed); err != nil || string(got) != "hello" {
		t.Fatalf("Open after Load: %q, %v", got, err)
	}
	ka, _ := v.AuditKey()
	kb, _ := w.AuditKey()
	if len(ka) != 32 || !bytes.Equal(ka, kb) {
		t.Fatal("AuditKey not stable across Load")
	}
}

func TestLoadMissing(t *testing.T) {
	const hint = "restore the keys folder from your copy, or run `hearth restore` with the recovery key"
	check := func(t *testing.T, dir, mention string) {
		t.Helper()
		v, err := Load(dir)
		if !errors.Is(err, ErrNoKeys) || v != nil {
			t.Fatalf("Load: %v, %v; want ErrNoKeys", v, err)
		}
		if !strings.Contains(err.Error(), hint) || !strings.Contains(err.Error(), mention) {
			t.Fatalf("error %q does not tell the operator what to do about %s", err, mention)
		}
	}
	t.Run("folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "keys")
		check(t, dir, dir)
	})
	for _, name := range []string{"clinic.key", "recovery.pub", "clinic.escrow.age"} {
		t.Run(name, func(t *testing.T) {
			_, dir, _ := newVault(t)
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			check(t, dir, name)
		})
	}
	t.Run("damaged clinic.key", func(t *testing.T) {
		_, dir, _ := newVault(t)
		if err := os.WriteFile(filepath.Join(dir, "clinic.key"), []byte("AGE-SECRET-KEY-1XXX\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		check(t, dir, "clinic.key")
	})
}

func TestLoadMismatchedPub(t *testing.T) {
	_, dir, _ := newVault(t)
	other, _, _ := newVault(t)
	if err := os.WriteFile(filepath.Join(dir, "clinic.pub"), []byte(other.Recipient()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Load: %v, want ErrWrongKey", err)
	}
}

func TestSealedMode(t *testing.T) {
	v, dir, _ := newVault(t)
	before, _ := v.Seal(RefNoPatient("items", "before"), []byte("sealed before"))
	tok, _ := v.BlindToken("phone", "5551234567")

	if err := v.SetPassphrase("correct horse"); err != nil {
		t.Fatal(err)
	}
	if v.Locked() {
		t.Fatal("SetPassphrase locked the running vault")
	}
	files := snapshot(t, dir)
	if _, ok := files["clinic.key"]; ok {
		t.Fatal("clinic.key still on disk in sealed mode")
	}
	clinic, _ := v.ClinicIdentity()
	for name, body := range files {
		if strings.Contains(body, clinic) {
			t.Fatalf("clinic identity in clear in %s", name)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "clinic.key.age")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("clinic.key.age: %v", err)
	}

	w, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Locked() {
		t.Fatal("sealed-mode vault loaded unlocked")
	}
	if w.Recipient() != v.Recipient() {
		t.Fatal("locked vault has another recipient")
	}
	ref := Ref{Bucket: "items", ID: "while-locked", Patient: "p1"}
	sealed, err := w.Seal(ref, []byte("new message while locked"))
	if err != nil {
		t.Fatalf("Seal while locked: %v", err)
	}
	if _, err := w.Open(ref, sealed); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while locked: %v", err)
	}
	if _, err := w.BoundRef(sealed); !errors.Is(err, ErrLocked) {
		t.Fatalf("BoundRef while locked: %v", err)
	}
	if _, err := w.BlindToken("phone", "5551234567"); !errors.Is(err, ErrLocked) {
		t.Fatalf("BlindToken while locked: %v", err)
	}
	if _, err := w.AuditKey(); !errors.Is(err, ErrLocked) {
		t.Fatalf("AuditKey while locked: %v", err)
	}
	if _, err := w.ClinicIdentity(); !errors.Is(err, ErrLocked) {
		t.Fatalf("ClinicIdentity while locked: %v", err)
	}
	if _, err := w.RotateRecovery(); !errors.Is(err, ErrLocked) {
		t.Fatalf("RotateRecovery while locked: %v", err)
	}
	if err := w.SetPassphrase("x"); !errors.Is(err, ErrLocked) {
		t.Fatalf("SetPassphrase while locked: %v", err)
	}
	sw, err := w.SealToRecovery(io.Discard)
	if err != nil {
		t.Fatalf("SealToRecovery while locked: %v", err)
	}
	if err := sw.Close(); err != nil {
		t.Fatalf("SealToRecovery while locked: %v", err)
	}

	for _, bad := range []string{"wrong", "", "correct horse "} {
		if err := w.Unlock(bad); !errors.Is(err, ErrBadPassphrase) {
			t.Fatalf("Unlock(%q): %v, want ErrBadPassphrase", bad, err)
		}
	}
	if !w.Locked() {
		t.Fatal("wrong passphrase unlocked the vault")
	}
	if err := w.Unlock("correct horse"); err != nil {
		t.Fatal(err)
	}
	if got, err := w.Open(ref, sealed); err != nil || string(got) != "new message while locked" {
		t.Fatalf("Open after Unlock: %q, %v", got, err)
	}
	if got, err := w.Open(RefNoPatient("items", "before"), before); err != nil || string(got) != "sealed before" {
		t.Fatalf("Open old record after Unlock: %q, %v", got, err)
	}
	if tok2, _ := w.BlindToken("phone", "5551234567"); !bytes.Equal(tok, tok2) {
		t.Fatal("BlindToken changed across sealed mode")
	}

	if err := w.RemovePassphrase(); err != nil {
		t.Fatal(err)
	}
	files = snapshot(t, dir)
	if _, ok := files["clinic.key.age"]; ok {
		t.Fatal("clinic.key.age left after RemovePassphrase")
	}
	x, err := Load(dir)
	if err != nil || x.Locked() {
		t.Fatalf("Load after RemovePassphrase: locked=%v, %v", x != nil && x.Locked(), err)
	}
	if _, err := x.Open(ref, sealed); err != nil {
		t.Fatal(err)
	}
}

func TestSealedModeCrashLeavesBoth(t *testing.T) {
	// A crash between writing clinic.key.age and removing clinic.key leaves
	// both: the plain one wins and the vault loads unlocked.
	v, dir, _ := newVault(t)
	key, err := os.ReadFile(filepath.Join(dir, "clinic.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SetPassphrase("pw"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clinic.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := Load(dir)
	if err != nil || w.Locked() {
		t.Fatalf("Load: %v", err)
	}
}

func TestBlindToken(t *testing.T) {
	a, dir, _ := newVault(t)
	b, _, _ := newVault(t)
	t1, err := a.BlindToken("phone", "5551234567")
	if err != nil || len(t1) != 16 {
		t.Fatalf("BlindToken: %x, %v", t1, err)
	}
	t2, _ := a.BlindToken("phone", "5551234567")
	if !bytes.Equal(t1, t2) {
		t.Error("BlindToken not deterministic")
	}
	if other, _ := a.BlindToken("dob", "5551234567"); bytes.Equal(t1, other) {
		t.Error("BlindToken ignores kind")
	}
	if other, _ := a.BlindToken("phone", "5551234568"); bytes.Equal(t1, other) {
		t.Error("BlindToken ignores value")
	}
	// kind || 0x00 || value: moving the boundary changes the token.
	x, _ := a.BlindToken("ab", "c")
	y, _ := a.BlindToken("a", "bc")
	if bytes.Equal(x, y) {
		t.Error("BlindToken ambiguous across the kind boundary")
	}
	if other, _ := b.BlindToken("phone", "5551234567"); bytes.Equal(t1, other) {
		t.Error("BlindToken equal across vaults")
	}
	if _, err := a.BlindToken("ph\x00one", "x"); err == nil {
		t.Error("BlindToken accepted a NUL in kind")
	}
	w, _ := Load(dir)
	if t3, _ := w.BlindToken("phone", "5551234567"); !bytes.Equal(t1, t3) {
		t.Error("BlindToken not stable across Load")
	}
	ak, _ := a.AuditKey()
	bk, _ := b.AuditKey()
	if bytes.Equal(ak, bk) || bytes.HasPrefix(ak, t1) {
		t.Error("AuditKey not distinct")
	}
	ak[0] ^= 1
	if again, _ := a.AuditKey(); again[0] == ak[0] {
		t.Error("AuditKey hands out the vault's own slice")
	}
}

func TestRecoveryStream(t *testing.T) {
	v, _, recovery := newVault(t)
	data := make([]byte, 1<<20)
	rand.Read(data)
	var buf bytes.Buffer
	w, err := v.SealToRecovery(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sealed := buf.Bytes()

	r, err := OpenWithIdentity("  "+recovery+"\n", bytes.NewReader(sealed))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip: %v", err)
	}

	clinic, _ := v.ClinicIdentity()
	if _, err := OpenWithIdentity(clinic, bytes.NewReader(sealed)); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("open with clinic identity: %v, want ErrIntegrity", err)
	}
	flipHeader := bytes.Clone(sealed)
	flipHeader[40] ^= 1
	if _, err := OpenWithIdentity(recovery, bytes.NewReader(flipHeader)); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("damaged header: %v, want ErrIntegrity", err)
	}

	flipped := bytes.Clone(sealed)
	flipped[len(flipped)/2] ^= 1
	for name, d := range map[string][]byte{
		"flipped mid-stream": flipped,
		"truncated":          sealed[:len(sealed)-100],
		"cut at chunk":       sealed[:len(sealed)/2],
	} {
		r, err := OpenWithIdentity(recovery, bytes.NewReader(d))
		if err != nil {
			t.Fatalf("%s: header should still open: %v", name, err)
		}
		if _, err := io.ReadAll(r); !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: read err = %v, want ErrIntegrity", name, err)
		}
	}
}

func TestParseIdentity(t *testing.T) {
	v, _, recovery := newVault(t)
	good := []string{recovery, " " + recovery + "\n", strings.ToLower(recovery),
		recovery[:20] + " " + recovery[20:40] + "\n" + recovery[40:]}
	for _, s := range good {
		if err := ParseIdentity(s); err != nil {
			t.Errorf("ParseIdentity(%q): %v", s[:10], err)
		}
	}
	typo := []byte(recovery)
	typo[30] = map[bool]byte{true: 'Q', false: 'P'}[typo[30] != 'Q']
	bad := map[string]string{
		"":                         "empty",
		v.RecoveryRecipient():      "public key",
		"hello":                    "AGE-SECRET-KEY-1",
		string(typo):               "mistyped",
		recovery[:len(recovery)-3]: "mistyped",
	}
	for s, want := range bad {
		err := ParseIdentity(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseIdentity(%.12q) = %v, want mention of %q", s, err, want)
		}
		if err != nil && len(s) > 20 && strings.Contains(err.Error(), s[16:]) {
			t.Errorf("error quotes the key back")
		}
	}
}

func TestRotateRecovery(t *testing.T) {
	v, dir, old := newVault(t)
	clinic, _ := v.ClinicIdentity()
	oldPub := v.RecoveryRecipient()

	fresh, err := v.RotateRecovery()
	if err != nil {
		t.Fatal(err)
	}
	if fresh == old || v.RecoveryRecipient() == oldPub {
		t.Fatal("RotateRecovery kept the old key")
	}
	files := snapshot(t, dir)
	for name, body := range files {
		if strings.Contains(body, fresh) {
			t.Fatalf("new recovery secret written to %s", name)
		}
	}
	if strings.TrimSpace(files["recovery.pub"]) != v.RecoveryRecipient() {
		t.Fatal("recovery.pub not rewritten")
	}
	escrow := []byte(files["clinic.escrow.age"])
	if _, err := OpenWithIdentity(old, bytes.NewReader(escrow)); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("old recovery key still opens the escrow: %v", err)
	}
	r, err := OpenWithIdentity(fresh, bytes.NewReader(escrow))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || strings.TrimSpace(string(got)) != clinic {
		t.Fatalf("escrow does not hold the clinic identity: %v", err)
	}
	w, _ := Load(dir)
	if w.RecoveryRecipient() != v.RecoveryRecipient() {
		t.Fatal("Load sees the old recovery recipient")
	}
}

func TestInstall(t *testing.T) {
	v, _, recovery := newVault(t)
	ref := Ref{Bucket: "items", ID: "i1", Patient: "p1"}
	sealed, _ := v.Seal(ref, []byte("hello"))
	clinic, _ := v.ClinicIdentity()

	dir := filepath.Join(t.TempDir(), "restored", "keys")
	w, err := Install(dir, clinic+"\n", v.RecoveryRecipient())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w.Open(ref, sealed); err != nil || string(got) != "hello" {
		t.Fatalf("Open in installed vault: %q, %v", got, err)
	}
	if w.Recipient() != v.Recipient() || w.RecoveryRecipient() != v.RecoveryRecipient() {
		t.Fatal("installed vault has other keys")
	}
	files := snapshot(t, dir)
	for _, name := range []string{"clinic.key", "recovery.pub", "clinic.escrow.age"} {
		if _, ok := files[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	r, err := OpenWithIdentity(recovery, strings.NewReader(files["clinic.escrow.age"]))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); strings.TrimSpace(string(got)) != clinic {
		t.Fatal("escrow does not hold the clinic identity")
	}
	x, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Open(ref, sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(dir, clinic, v.RecoveryRecipient()); !errors.Is(err, ErrExists) {
		t.Fatalf("Install again: %v, want ErrExists", err)
	}
	if _, err := Install(t.TempDir(), v.Recipient(), v.RecoveryRecipient()); err == nil {
		t.Fatal("Install accepted a public key as the clinic identity")
	}
	if _, err := Install(t.TempDir(), clinic, recovery); err == nil {
		t.Fatal("Install accepted a secret key as the recovery recipient")
	}
}

func TestNoSecretsInFormatting(t *testing.T) {
	v, _, _ := newVault(t)
	clinic, _ := v.ClinicIdentity()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, v); strings.Contains(s, clinic) || strings.Contains(s, "AGE-SECRET") {
			t.Errorf("%s prints a secret: %s", verb, s)
		}
	}
}

func TestConcurrent(t *testing.T) {
	v, dir, _ := newVault(t)
	w, _ := Load(dir)
	w.SetScryptWorkFactor(cheapScrypt)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				ref := RefNoPatient("items", strconv.Itoa(g*100+i))
				sealed, err := w.Seal(ref, []byte("x"))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := w.Open(ref, sealed); err != nil && !errors.Is(err, ErrLocked) {
					t.Error(err)
				}
				if _, err := w.BlindToken("k", "v"); err != nil && !errors.Is(err, ErrLocked) {
					t.Error(err)
				}
				w.Recipient()
				w.RecoveryRecipient()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := w.RotateRecovery(); err != nil {
			t.Error(err)
		}
		if err := w.SetPassphrase("pw"); err != nil {
			t.Error(err)
		}
		if err := w.RemovePassphrase(); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	_ = v
}

func FuzzOpen(f *testing.F) {
	v, _, _ := newVault(f)
	ref := Ref{Bucket: "items", ID: "i1", Patient: "p1"}
	sealed, _ := v.Seal(ref, []byte("hello"))
	f.Add(sealed)
	f.Add([]byte{})
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Add(sealed[:len(sealed)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		body, err := v.Open(ref, data)
		if err != nil && body != nil {
			t.Fatal("body returned with an error")
		}
		if err == nil {
			// Only a genuine record sealed by v as ref may open.
			if got, rerr := v.BoundRef(data); rerr != nil || got != ref {
				t.Fatalf("Open accepted data bound to %+v (%v)", got, rerr)
			}
		}
		parseRecord(data)
	})
}

func benchBody() []byte { return bytes.Repeat([]byte("a"), 500) }

func BenchmarkSeal(b *testing.B) {
	v, _, _ := newVault(b)
	body := benchBody()
	ref := Ref{Bucket: "items", ID: "0b6c7a36-1d1f-4c65-9b53-7a0e0f1d2c3e", Patient: "9e1f2a44-5b6c-4d7e-8f90-a1b2c3d4e5f6"}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		s, err := v.Seal(ref, body)
		if err != nil {
			b.Fatal(err)
		}
		n = len(s)
	}
	b.ReportMetric(float64(n-len(body)), "overhead_B/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seals/s")
}

func BenchmarkSealParallel(b *testing.B) {
	v, _, _ := newVault(b)
	body := benchBody()
	ref := Ref{Bucket: "items", ID: "0b6c7a36-1d1f-4c65-9b53-7a0e0f1d2c3e", Patient: "9e1f2a44-5b6c-4d7e-8f90-a1b2c3d4e5f6"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Seal(ref, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
	s, _ := v.Seal(ref, body)
	b.ReportMetric(float64(len(s)-len(body)), "overhead_B/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seals/s")
}

func BenchmarkOpen(b *testing.B) {
	v, _, _ := newVault(b)
	body := benchBody()
	ref := Ref{Bucket: "items", ID: "0b6c7a36-1d1f-4c65-9b53-7a0e0f1d2c3e", Patient: "9e1f2a44-5b6c-4d7e-8f90-a1b2c3d4e5f6"}
	sealed, _ := v.Seal(ref, body)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Open(ref, sealed); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(sealed)-len(body)), "overhead_B/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "opens/s")
}

func keysOf(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// scryptWorkFactor is the work factor (log2) in the header of the passphrase
// file in dir: the "-> scrypt SALT N" stanza of an age file.
func scryptWorkFactor(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, fileClinicSealed))
	if err != nil {
		t.Fatal(err)
	}
	header, _, ok := strings.Cut(string(b), "\n---")
	if !ok {
		t.Fatalf("%s has no age header", fileClinicSealed)
	}
	for _, line := range strings.Split(header, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "->" && f[1] == "scrypt" {
			return f[3]
		}
	}
	t.Fatalf("%s has no scrypt stanza:\n%s", fileClinicSealed, header)
	return ""
}

// The production passphrase cost, checked by what is on disk rather than by
// a clock: a vault nobody made cheap writes age's default scrypt work factor
// (2^18), and a binary linked with a test cost writes that one. This is the
// one test that pays for a real scrypt at the production cost.
func TestPassphraseWorkFactor(t *testing.T) {
	if testScryptLogN != "" {
		t.Fatalf("this test binary was linked with a test scrypt cost (%q): the production cost is not what runs", testScryptLogN)
	}
	dir := filepath.Join(t.TempDir(), "keys")
	v, _, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SetPassphrase("correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if got := scryptWorkFactor(t, dir); got != "18" {
		t.Fatalf("the passphrase file's scrypt work factor is 2^%s, want age's default 2^18", got)
	}

	// The whole-program tests link in a cheap cost (-X ...testScryptLogN).
	t.Cleanup(func() { testScryptLogN = "" })
	testScryptLogN = "10"
	dir2 := filepath.Join(t.TempDir(), "keys")
	w, _, err := Create(dir2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetPassphrase("correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if got := scryptWorkFactor(t, dir2); got != "10" {
		t.Fatalf("with the linked test cost the work factor is 2^%s, want 2^10", got)
	}
	// A cost set on the vault itself wins over the linked one.
	w.SetScryptWorkFactor(11)
	if err := w.SetPassphrase("another passphrase"); err != nil {
		t.Fatal(err)
	}
	if got := scryptWorkFactor(t, dir2); got != "11" {
		t.Fatalf("with SetScryptWorkFactor(11) the work factor is 2^%s", got)
	}
	// A damaged linked value is an error, not a fall back to some cost.
	testScryptLogN = "ten"
	x, _, err := Create(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := x.SetPassphrase("correct horse battery staple"); err == nil || !strings.Contains(err.Error(), "work factor") {
		t.Fatalf("SetPassphrase with a malformed linked cost: %v", err)
	}
}
