package vault

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/hkdf"
)

// HKDF labels: one per purpose, so no derived key ever serves two.
const (
	labelBlind = "hearth blind index v1"
	labelAudit = "hearth audit chain v1"
)

// derive returns a 32-byte key for label, by HKDF-SHA256 from the clinic
// identity's secret (its canonical encoding, which carries the whole scalar).
// Derived keys live only in memory.
func derive(id *age.X25519Identity, label string) []byte {
	k := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, []byte(id.String()), nil, []byte(label)), k); err != nil {
		panic("vault: hkdf: " + err.Error()) // cannot happen for 32 bytes
	}
	return k
}

// BlindToken returns the blind-index token of a normalized value of a kind
// ("phone", "dob", …): the first 16 bytes of HMAC-SHA256(blind key,
// kind || 0x00 || normalized). It is ErrLocked while the vault is locked.
func (v *Vault) BlindToken(kind, normalized string) ([]byte, error) {
	if strings.IndexByte(kind, 0) >= 0 {
		return nil, fmt.Errorf("vault: blind token: kind contains a NUL byte")
	}
	v.mu.RLock()
	key := v.blindKey
	v.mu.RUnlock()
	if key == nil {
		return nil, ErrLocked
	}
	m := hmac.New(sha256.New, key)
	// A hash's Write never fails.
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(normalized))
	return m.Sum(nil)[:16], nil
}

// AuditKey returns the 32-byte key of the audit hash chain. It is ErrLocked
// while the vault is locked.
func (v *Vault) AuditKey() ([]byte, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.auditKey == nil {
		return nil, ErrLocked
	}
	return append([]byte(nil), v.auditKey...), nil // callers cannot change the vault's own
}
