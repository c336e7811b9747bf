package vault

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"filippo.io/age"
)

// SealToRecovery returns a writer that seals what is written to it to the
// recovery recipient, for backups: the appliance can write backups it cannot
// read. The caller must Close it to flush the last chunk. It works while
// locked.
func (v *Vault) SealToRecovery(w io.Writer) (io.WriteCloser, error) {
	v.mu.RLock()
	r := v.recovery
	v.mu.RUnlock()
	wc, err := age.Encrypt(w, r)
	if err != nil {
		return nil, fmt.Errorf("vault: seal to recovery: %w", err)
	}
	return wc, nil
}

// OpenWithIdentity opens a stream sealed to identity ("AGE-SECRET-KEY-1…").
// A wrong key or a damaged header is ErrIntegrity. Damage or truncation
// further on shows while reading: the reader's Read then returns an error
// that wraps ErrIntegrity. A malformed identity is ParseIdentity's error.
func OpenWithIdentity(identity string, r io.Reader) (io.Reader, error) {
	id, err := parseIdentity(identity)
	if err != nil {
		return nil, fmt.Errorf("vault: open: %w", err)
	}
	pr, err := age.Decrypt(r, id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("vault: open: not sealed to this key: %w", ErrIntegrity)
		}
		return nil, fmt.Errorf("vault: open: %w: %v", ErrIntegrity, err)
	}
	return integrityReader{pr}, nil
}

// integrityReader marks every read failure but a clean EOF as ErrIntegrity.
type integrityReader struct{ r io.Reader }

func (ir integrityReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("vault: read: %w: %w", ErrIntegrity, err)
	}
	return n, err
}

// ParseIdentity checks an identity string ("AGE-SECRET-KEY-1…", as printed on
// the recovery kit) and explains what is wrong with it. Surrounding and inner
// white space and letter case do not matter.
func ParseIdentity(s string) error {
	_, err := parseIdentity(s)
	return err
}

func parseIdentity(s string) (*age.X25519Identity, error) {
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
	switch {
	case s == "":
		return nil, errors.New("the key is empty")
	case strings.HasPrefix(s, "AGE1"):
		return nil, errors.New("that is a public key (age1…); the secret key starts with AGE-SECRET-KEY-1")
	case !strings.HasPrefix(s, "AGE-SECRET-KEY-1"):
		return nil, errors.New("the key must start with AGE-SECRET-KEY-1")
	}
	id, err := age.ParseX25519Identity(s)
	if err != nil {
		// age's message would quote the key back; keep it out of errors.
		return nil, errors.New("the key is mistyped or incomplete: check every character against the printed copy")
	}
	return id, nil
}

// UnlockWithRecovery opens the clinic identity from its escrow copy
// (clinic.escrow.age, sealed to the recovery recipient) with the recovery
// key, for an owner who lost the passphrase: SetPassphrase can then put the
// clinic key behind a new one, which replaces the old passphrase file. It
// checks the escrow even when the vault is already unlocked, so a wrong key
// is always refused. A malformed key is ParseIdentity's error; a key that
// does not open the escrow is ErrBadRecoveryKey; an escrow that is damaged
// or holds another clinic key is ErrIntegrity or ErrWrongKey.
func (v *Vault) UnlockWithRecovery(recovery string) error {
	rid, err := parseIdentity(recovery)
	if err != nil {
		return fmt.Errorf("vault: unlock with the recovery key: %w", err)
	}
	v.files.Lock()
	defer v.files.Unlock()
	b, err := readKeyFile(v.dir, fileEscrow)
	if err != nil {
		return err
	}
	plain, err := decryptAll(b, rid)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return ErrBadRecoveryKey
		}
		return fmt.Errorf("vault: unlock with the recovery key: %s: %w", fileEscrow, ErrIntegrity)
	}
	id, err := parseIdentity(string(plain))
	if err != nil {
		return fmt.Errorf("vault: unlock with the recovery key: %s: %w", fileEscrow, ErrIntegrity)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if id.Recipient().String() != v.recipient.String() {
		return fmt.Errorf("%w (%s and %s in %s disagree)", ErrWrongKey, fileEscrow, fileClinicPub, v.dir)
	}
	v.setIdentity(id)
	return nil
}
