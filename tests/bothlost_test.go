package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestBothSecretsLostOpensNothing (checklist 63): a clinic in sealed mode
// whose owner has lost both the passphrase and the recovery key. With
// everything else (the data folder, a backup, this binary, every file's
// bytes), nothing opens: the server starts locked and serves no patient
// data to a signed-in owner, guessed passphrases are refused, restore and
// recover-passphrase without the recovery key say plainly that it is
// needed, no file holds a usable secret key or a canary, and no key found
// on the disk opens the backup. There is no hidden escrow. OPERATIONS
// "Lost passphrase" says this is unrecoverable.
func TestBothSecretsLostOpensNothing(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	var pat struct{ ID string }
	if code := owner.json("POST", "/api/v1/patients", map[string]string{"name": "Zebulon Quixotefeather", "dob": "07/04/1931",
		"phone": "(555) 867-5309", "lang": "en"}, &pat); code != 201 {
		t.Fatalf("create patient: %d", code)
	}
	const pass = "forgotten maple lantern orbit"
	if code := owner.json("POST", "/api/v1/settings/passphrase", map[string]string{"password": ownerPassword, "passphrase": pass}, nil); code != 200 {
		t.Fatalf("turn sealed mode on: %d", code)
	}
	backup := filepath.Join(t.TempDir(), "last.backup")
	if out, err := hearth(t, "", "backup", "--data", in.data, backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	in.stop()
	// From here on neither the passphrase nor in.recovery is used.
	canaries := []string{"Zebulon", "Quixotefeather", "867-5309", "8675309", "1931-07-04"}

	// Every byte of the folder and the backup: no canary, no secret key.
	var identities []age.Identity
	for _, f := range append(dataFiles(t, in.data), backup) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%q is readable in %s", c, f)
			}
		}
		if bytes.Contains(b, []byte("AGE-SECRET-KEY-")) {
			t.Errorf("%s holds a secret key in the clear", f)
			if ids, err := age.ParseIdentities(bytes.NewReader(b)); err == nil {
				identities = append(identities, ids...)
			}
		}
	}
	// Even a secret found on the disk (there should be none) does not open the backup.
	if len(identities) > 0 {
		f, err := os.Open(backup)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := age.Decrypt(f, identities...); err == nil {
			t.Error("a key found on the disk opens the backup")
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// The server starts, locked: staff cannot sign in, nothing reads.
	in.start()
	o := in.newClient()
	if code, body, err := o.do("POST", "/api/v1/login", map[string]string{"email": "owner@maple.test", "password": ownerPassword}); err != nil || code != 503 || !bytes.Contains(bytes.ToLower(body), []byte("lock")) {
		t.Fatalf("signing in to a locked clinic: %d %v %s", code, err, body)
	}
	if code, body, err := o.do("GET", "/api/v1/patients/"+pat.ID, nil); err != nil || code == 200 || bytes.Contains(body, []byte("Zebulon")) {
		t.Fatalf("a locked clinic answered a patient read: %d %v %s", code, err, body)
	}
	for _, guess := range []string{"maple", "forgotten maple lantern", "Correct-Horse-Battery-9", ""} {
		if code, body, err := o.do("POST", "/api/v1/unlock", map[string]string{"passphrase": guess}); err != nil || code == 200 {
			t.Fatalf("unlock with %q: %d %v %s", guess, code, err, body)
		}
	}
	in.stop()

	// Without the recovery key the commands say so and change nothing.
	for name, args := range map[string][]string{
		"restore":            {"restore", "--data", filepath.Join(t.TempDir(), "new"), backup},
		"recover-passphrase": {"recover-passphrase", "--data", in.data},
	} {
		out, err := hearth(t, "a new passphrase long enough\na new passphrase long enough\n", args...)
		if err == nil {
			t.Fatalf("%s without the recovery key succeeded:\n%s", name, out)
		}
		if !strings.Contains(strings.ToLower(out), "recovery key") {
			t.Errorf("%s without the recovery key does not say what is missing:\n%s", name, out)
		}
		for _, c := range canaries {
			if strings.Contains(out, c) {
				t.Errorf("%s printed %q", name, c)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(in.data, "keys", "clinic.key")); err == nil {
		t.Error("a plain clinic key appeared in the sealed folder")
	}
}
