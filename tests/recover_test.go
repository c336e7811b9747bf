package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// Checklist line 59, over the real binary: with sealed mode on, the owner
// forgets the passphrase. `hearth recover-passphrase` with the recovery key
// from the emergency kit sets a new one; afterwards the old passphrase is
// refused, the new one unlocks, and the records written before read back.
// It refuses while the server holds the database, with another clinic's
// recovery key, and with a new passphrase not confirmed, changing nothing.
func TestRecoverLostPassphrase(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	const oldPass, newPass = "forgotten maple lantern orbit", "brand new birch candle harbor"
	if code := owner.json("POST", "/api/v1/settings/passphrase", map[string]string{"password": ownerPassword, "passphrase": oldPass}, nil); code != 200 {
		t.Fatalf("turn sealed mode on: %d", code)
	}
	var pat struct {
		ID string `json:"id"`
	}
	if code := owner.json("POST", "/api/v1/patients", map[string]string{"name": "Rosa Recovery", "dob": "1961-04-09"}, &pat); code != 200 && code != 201 {
		t.Fatalf("create a patient: %d", code)
	}

	keyFile := filepath.Join(t.TempDir(), "recovery.txt")
	writeTestFile(t, keyFile, []byte(in.recovery+"\n"))
	recoverCmd := func(stdin, key string) (string, error) {
		return hearth(t, stdin, "recover-passphrase", "--data", in.data, "--recovery-key", key)
	}

	// While the server runs it holds the database: refused, nothing changed.
	if out, err := recoverCmd(newPass+"\n"+newPass+"\n", keyFile); err == nil || !strings.Contains(out, "stop it first") {
		t.Fatalf("recover-passphrase beside a running server: %v\n%s", err, out)
	}
	in.stop()

	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other.txt")
	writeTestFile(t, otherFile, []byte(other.String()+"\n"))
	if out, err := recoverCmd(newPass+"\n"+newPass+"\n", otherFile); err == nil || !strings.Contains(out, "does not open these keys") {
		t.Fatalf("another clinic's recovery key: %v\n%s", err, out)
	}
	if out, err := recoverCmd(newPass+"\n"+newPass+"x\n", keyFile); err == nil || !strings.Contains(out, "twice") {
		t.Fatalf("an unconfirmed passphrase: %v\n%s", err, out)
	}
	if out, err := recoverCmd("short\nshort\n", keyFile); err == nil || !strings.Contains(out, "12 characters") {
		t.Fatalf("a short passphrase: %v\n%s", err, out)
	}
	// Still the old passphrase file, untouched by the refusals.
	before, err := os.ReadFile(filepath.Join(in.data, "keys", "clinic.key.age"))
	if err != nil {
		t.Fatal(err)
	}

	// The recovery key typed on standard input, then the new passphrase twice.
	out, err := hearth(t, in.recovery+"\n"+newPass+"\n"+newPass+"\n", "recover-passphrase", "--data", in.data)
	if err != nil {
		t.Fatalf("recover-passphrase: %v\n%s", err, out)
	}
	if strings.Contains(out, in.recovery) || strings.Contains(out, newPass) {
		t.Fatalf("the command echoed a secret:\n%s", out)
	}
	after, err := os.ReadFile(filepath.Join(in.data, "keys", "clinic.key.age"))
	if err != nil {
		t.Fatal(err)
	}
	if string(before) == string(after) {
		t.Fatal("clinic.key.age was not replaced")
	}
	if _, err := os.Stat(filepath.Join(in.data, "keys", "clinic.key")); !os.IsNotExist(err) {
		t.Fatalf("a clear clinic.key appeared: %v", err)
	}

	in.start()
	anon := in.newClient()
	if code, b, err := anon.do("POST", "/api/v1/unlock", map[string]string{"passphrase": oldPass}); err != nil || code != 401 {
		t.Fatalf("the old passphrase after the reset: %d %v %s", code, err, b)
	}
	if code, b, err := anon.do("POST", "/api/v1/unlock", map[string]string{"passphrase": newPass}); err != nil || code != 200 {
		t.Fatalf("the new passphrase: %d %v %s", code, err, b)
	}
	owner = in.owner()
	var got struct {
		Name string `json:"name"`
	}
	if code := owner.json("GET", "/api/v1/patients/"+pat.ID, nil, &got); code != 200 || got.Name != "Rosa Recovery" {
		t.Fatalf("the patient after the reset: %d %+v", code, got)
	}
	var log struct {
		Events []struct {
			Action, Severity string
		} `json:"events"`
	}
	if code := owner.json("GET", "/api/v1/audit", nil, &log); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	var failed, reset bool
	for _, e := range log.Events {
		failed = failed || e.Action == "vault.recover"
		reset = reset || (e.Action == "vault.passphrase_recovered" && e.Severity == "high")
	}
	if !failed || !reset {
		t.Fatalf("audit lacks the failed attempt (%v) or the high-severity reset (%v): %+v", failed, reset, log.Events)
	}
	in.stop()
	if out, err := hearth(t, "", "verify", "--data", in.data); err == nil || !strings.Contains(out, "sealed with a passphrase") {
		t.Fatalf("verify on the sealed folder: %v\n%s", err, out)
	}
}
