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
