package clinic

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are argon2id's cost settings.
type Argon2Params struct {
	Time    uint32
	MemKiB  uint32
	Threads uint8
}

// DefaultArgon2 follows OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane):
// about 30 ms on a 2-core office PC, so a sign-in flood cannot starve the box.
var DefaultArgon2 = Argon2Params{Time: 2, MemKiB: 19 * 1024, Threads: 1}

// testArgon2 is the password-hash cost, in the PHC form "m=KiB,t=N,p=N",
// of a binary the whole-program tests build with
//
//	go build -ldflags "-X hearth/app/clinic.testArgon2=m=64,t=1,p=1"
//
// (tests/harness_test.go does), so that their race-built binary signs in
// without spending production argon2 time on every password. It is set only
// at link time: no flag, setting or environment variable reaches it, so a
// clinic's build, which never passes that -X, always uses DefaultArgon2.
// In-process tests pass Deps.Argon2 instead.
var testArgon2 string

// LinkedArgon2 is the password-hash cost linked into this binary for tests
// (testArgon2), or the zero Argon2Params in every real build. A value that
// does not parse is an error, never a silent fallback.
func LinkedArgon2() (Argon2Params, error) {
	if testArgon2 == "" {
		return Argon2Params{}, nil
	}
	var p Argon2Params
	var rest string
	// " end" must come back whole: nothing may follow p=N.
	n, err := fmt.Sscanf(testArgon2+" end", "m=%d,t=%d,p=%d %s", &p.MemKiB, &p.Time, &p.Threads, &rest)
	if err != nil || n != 4 || rest != "end" || p.MemKiB == 0 || p.Time == 0 || p.Threads == 0 {
		return Argon2Params{}, fmt.Errorf("clinic: the password-hash cost linked in for tests (%q) is not m=KiB,t=N,p=N", testArgon2)
	}
	return p, nil
}

// defaultArgon2 is the cost Open uses when Deps.Argon2 is zero: the linked
// test cost if this is a test build, else DefaultArgon2.
func defaultArgon2() (Argon2Params, error) {
	p, err := LinkedArgon2()
	if err != nil || p != (Argon2Params{}) {
		return p, err
	}
	return DefaultArgon2, nil
}

// MinPasswordLength is the only composition rule: length (NIST SP 800-63B).
const MinPasswordLength = 10

// hashPassword returns a PHC-format argon2id hash.
func hashPassword(p Argon2Params, password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemKiB, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// checkPassword compares in constant time. A malformed hash never matches.
func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemKiB, &p.Time, &p.Threads); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CheckNewPassword explains what is wrong with a password a person chose.
func CheckNewPassword(password string, common map[string]bool) error {
	if len([]rune(password)) < MinPasswordLength {
		return inputErr("password", fmt.Sprintf("Use at least %d characters. A few unrelated words make a strong password that is easy to remember.", MinPasswordLength))
	}
	if len(password) > 256 {
		return inputErr("password", "Use at most 256 characters.")
	}
	if common[strings.ToLower(password)] {
		return inputErr("password", "That password is on the list of the most common passwords. Please choose another.")
	}
	return nil
}
