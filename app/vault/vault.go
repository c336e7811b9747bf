// Package vault holds Hearth's keys and seals and opens records with age.
//
// Every record is its own age file sealed to the clinic's X25519 recipient,
// and its plaintext carries the Ref (bucket, id, patient) it was sealed under,
// so a ciphertext copied to another id or patient is refused, not shown.
// The keys folder also keeps a recovery recipient (its secret is shown to the
// owner once and never written down here), the clinic identity escrowed to
// it, and optionally the clinic identity behind a passphrase (sealed mode).
//
// The package only ever touches the keys folder it is given: it knows nothing
// of the record store and never reads or writes records on disk. It never
// logs, and no error it returns carries a secret, a passphrase or a
// plaintext.
package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"filippo.io/age"
)

// Errors are API: callers test them with errors.Is.
var (
	// ErrNoKeys means the keys folder is missing or incomplete.
	ErrNoKeys = errors.New("vault: no usable keys: restore the keys folder from your copy, or run `hearth restore` with the recovery key")
	// ErrWrongKey means keys are present but do not belong to this data.
	ErrWrongKey = errors.New("vault: these keys do not belong to this data: restore the keys folder that goes with it, or run `hearth restore` with the recovery key")
	// ErrLocked means the vault is in sealed mode and nobody has unlocked it
	// yet: Seal works, anything that needs the clinic identity does not.
	ErrLocked = errors.New("vault: locked: an owner must unlock Hearth with the passphrase")
	// ErrIntegrity means a ciphertext is damaged, cut short, or was not
	// sealed to this identity.
	ErrIntegrity = errors.New("vault: damaged, truncated or sealed to another key")
	// ErrMismatch means a record decrypted fine but was sealed under another
	// bucket, id or patient than the one asked for.
	ErrMismatch = errors.New("vault: record does not belong here")
	// ErrExists means Create or Install found keys already there; keys are
	// never overwritten.
	ErrExists = errors.New("vault: keys already exist; refusing to overwrite them")
	// ErrBadPassphrase means the passphrase does not unlock the clinic key.
	ErrBadPassphrase = errors.New("vault: wrong passphrase")
	// ErrBadRecoveryKey means a well-formed recovery key that does not open
	// this keys folder's escrow copy of the clinic key: another clinic's
	// kit, or one replaced since.
	ErrBadRecoveryKey = errors.New("vault: that recovery key does not open these keys (is it this clinic's newest emergency kit?)")
)

// Names of the files in the keys folder.
const (
	fileClinicKey    = "clinic.key"        // clinic identity, plain mode only
	fileClinicSealed = "clinic.key.age"    // clinic identity behind a passphrase, sealed mode only
	fileClinicPub    = "clinic.pub"        // clinic recipient: lets a locked vault seal
	fileRecoveryPub  = "recovery.pub"      // recovery recipient
	fileEscrow       = "clinic.escrow.age" // clinic identity sealed to the recovery recipient
)

// keyFiles are the files whose presence means "keys are here".
var keyFiles = []string{fileClinicKey, fileClinicSealed, fileClinicPub, fileRecoveryPub, fileEscrow}

// Vault holds the clinic's keys. It is safe for concurrent use.
type Vault struct {
	dir string

	// scryptLogN overrides age's scrypt work factor for SetPassphrase;
	// zero means the linked test cost if there is one (testScryptLogN),
	// else age's default. Only tests set it (SetScryptWorkFactor).
	scryptLogN int

	// files serialises changes to the keys folder, so that Seal and Open are
	// never held up by disk writes or a slow scrypt.
	files sync.Mutex

	mu        sync.RWMutex
	recipient *age.X25519Recipient
	recovery  *age.X25519Recipient
	sealed    bool // the clinic identity is on disk behind a passphrase
	// Set only while unlocked.
	identity *age.X25519Identity
	blindKey []byte
	auditKey []byte

	// stepDone, when set (tests only), is told after each file a key
	// change writes; an error stops the change there, as a crash would.
	stepDone func(step, newRecovery string) error
}

// String keeps secrets out of logs and fmt output: a vault prints as its
// public recipient.
func (v *Vault) String() string { return "vault(" + v.Recipient() + ")" }

// GoString is String, for %#v.
func (v *Vault) GoString() string { return v.String() }

// Create makes a new keys folder dir (mode 0700) with a new clinic identity
// and a new recovery identity. It returns the unlocked vault and the recovery
// identity's secret, which is never written to disk: the caller shows it to
// the owner once. Create refuses with ErrExists if keys are already there.
func Create(dir string) (*Vault, string, error) {
	clinic, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, "", fmt.Errorf("vault: create: %w", err)
	}
	recovery, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, "", fmt.Errorf("vault: create: %w", err)
	}
	v, err := install(dir, clinic, recovery.Recipient())
	if err != nil {
		return nil, "", fmt.Errorf("vault: create: %w", err)
	}
	return v, recovery.String(), nil
}

// Install writes a keys folder from a clinic identity and a recovery
// recipient, as `hearth restore` does. It refuses with ErrExists if keys are
// already there.
func Install(dir, clinicIdentity, recoveryRecipient string) (*Vault, error) {
	clinic, err := parseIdentity(clinicIdentity)
	if err != nil {
		return nil, fmt.Errorf("vault: install: clinic identity: %w", err)
	}
	recovery, err := age.ParseX25519Recipient(strings.TrimSpace(recoveryRecipient))
	if err != nil {
		return nil, fmt.Errorf("vault: install: recovery recipient is not an age1… public key")
	}
	v, err := install(dir, clinic, recovery)
	if err != nil {
		return nil, fmt.Errorf("vault: install: %w", err)
	}
	return v, nil
}

func install(dir string, clinic *age.X25519Identity, recovery *age.X25519Recipient) (*Vault, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The folder holds secrets; tighten it even if it already existed.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	for _, name := range keyFiles {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return nil, fmt.Errorf("%w (%s in %s)", ErrExists, name, dir)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	escrow, err := sealIdentity(clinic, recovery)
	if err != nil {
		return nil, err
	}
	// clinic.key goes last: until it is there the folder does not load, so a
	// crash half-way leaves no vault that looks usable but lacks its escrow.
	files := []struct {
		name string
		data []byte
	}{
		{fileEscrow, escrow},
		{fileRecoveryPub, []byte(recovery.String() + "\n")},
		{fileClinicPub, []byte(clinic.Recipient().String() + "\n")},
		{fileClinicKey, []byte(clinic.String() + "\n")},
	}
	for _, f := range files {
		if err := writeFile(dir, f.name, f.data, true); err != nil {
			return nil, err
		}
	}
	v := &Vault{dir: dir, recipient: clinic.Recipient(), recovery: recovery}
	v.setIdentity(clinic)
	return v, nil
}

// Load opens an existing keys folder. In plain mode the vault is unlocked; in
// sealed mode (only clinic.key.age present) it is locked: it can Seal but not
// Open until Unlock. A missing folder or file is ErrNoKeys, naming what is
// missing.
func Load(dir string) (*Vault, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (keys folder %s not found)", ErrNoKeys, dir)
		}
		return nil, fmt.Errorf("vault: load: %w", err)
	}
	recovery, err := readRecipient(dir, fileRecoveryPub)
	if err != nil {
		return nil, err
	}
	if _, err := readKeyFile(dir, fileEscrow); err != nil {
		return nil, err
	}
	v := &Vault{dir: dir, recovery: recovery}

	// Both clinic files exist only after a crash between writing one and
	// removing the other; the plain one is then the one to trust.
	key, err := readKeyFile(dir, fileClinicKey)
	switch {
	case err == nil:
		clinic, perr := parseIdentity(string(key))
		if perr != nil {
			return nil, fmt.Errorf("%w (%s in %s is damaged)", ErrNoKeys, fileClinicKey, dir)
		}
		if pub, err := readRecipient(dir, fileClinicPub); err == nil {
			if pub.String() != clinic.Recipient().String() {
				return nil, fmt.Errorf("%w (%s and %s in %s disagree)", ErrWrongKey, fileClinicKey, fileClinicPub, dir)
			}
		} else if !errors.Is(err, ErrNoKeys) {
			return nil, err
		}
		v.recipient = clinic.Recipient()
		v.setIdentity(clinic)
		return v, nil
	case !errors.Is(err, ErrNoKeys):
		return nil, err
	}

	if _, err := readKeyFile(dir, fileClinicSealed); err != nil {
		return nil, fmt.Errorf("%w (neither %s nor %s in %s)", ErrNoKeys, fileClinicKey, fileClinicSealed, dir)
	}
	pub, err := readRecipient(dir, fileClinicPub)
	if err != nil {
		return nil, err
	}
	v.recipient = pub
	v.sealed = true
	return v, nil
}

// readKeyFile reads one file of the keys folder; a missing file is ErrNoKeys.
func readKeyFile(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s missing in %s)", ErrNoKeys, name, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: load: %w", err)
	}
	return b, nil
}

func readRecipient(dir, name string) (*age.X25519Recipient, error) {
	b, err := readKeyFile(dir, name)
	if err != nil {
		return nil, err
	}
	r, err := age.ParseX25519Recipient(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%w (%s in %s is damaged)", ErrNoKeys, name, dir)
	}
	return r, nil
}

// setIdentity installs the clinic identity and the keys derived from it.
// Callers hold v.mu for writing, or own v exclusively.
func (v *Vault) setIdentity(id *age.X25519Identity) {
	v.identity = id
	v.blindKey = derive(id, labelBlind)
	v.auditKey = derive(id, labelAudit)
}

// Recipient returns the clinic's public age recipient ("age1…").
func (v *Vault) Recipient() string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.recipient == nil {
		return ""
	}
	return v.recipient.String()
}

// RecoveryRecipient returns the recovery recipient ("age1…").
func (v *Vault) RecoveryRecipient() string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.recovery == nil {
		return ""
	}
	return v.recovery.String()
}

// Locked reports whether the vault waits for Unlock.
func (v *Vault) Locked() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.identity == nil
}

// Unlock opens the passphrase-sealed clinic identity. A wrong passphrase is
// ErrBadPassphrase. Unlocking an unlocked vault does nothing.
func (v *Vault) Unlock(passphrase string) error {
	v.files.Lock()
	defer v.files.Unlock()
	if !v.Locked() {
		return nil
	}
	b, err := readKeyFile(v.dir, fileClinicSealed)
	if err != nil {
		return err
	}
	sid, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return ErrBadPassphrase
	}
	// scrypt runs here, outside v.mu: Seal keeps working meanwhile.
	plain, err := decryptAll(b, sid)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return ErrBadPassphrase
		}
		return fmt.Errorf("vault: unlock: %s: %w", fileClinicSealed, ErrIntegrity)
	}
	id, err := parseIdentity(string(plain))
	if err != nil {
		return fmt.Errorf("vault: unlock: %s: %w", fileClinicSealed, ErrIntegrity)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if id.Recipient().String() != v.recipient.String() {
		return fmt.Errorf("%w (%s and %s in %s disagree)", ErrWrongKey, fileClinicSealed, fileClinicPub, v.dir)
	}
	v.setIdentity(id)
	return nil
}

// SetPassphrase switches to sealed mode: it writes clinic.key.age, then
// removes clinic.key. The vault stays unlocked; after the next Load it is
// locked until Unlock. Calling it in sealed mode changes the passphrase.
func (v *Vault) SetPassphrase(passphrase string) error {
	if passphrase == "" {
		return fmt.Errorf("vault: set passphrase: the passphrase must not be empty")
	}
	v.files.Lock()
	defer v.files.Unlock()
	id, err := v.unlockedIdentity()
	if err != nil {
		return err
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return fmt.Errorf("vault: set passphrase: %w", err)
	}
	logN := v.scryptLogN
	if logN == 0 {
		if logN, err = LinkedScryptWorkFactor(); err != nil {
			return fmt.Errorf("vault: set passphrase: %w", err)
		}
	}
	if logN > 0 {
		r.SetWorkFactor(logN)
	}
	sealed, err := encryptAll([]byte(id.String()+"\n"), r)
	if err != nil {
		return fmt.Errorf("vault: set passphrase: %w", err)
	}
	// clinic.pub first: a locked vault needs it to keep sealing.
	if err := writeFile(v.dir, fileClinicPub, []byte(id.Recipient().String()+"\n"), false); err != nil {
		return fmt.Errorf("vault: set passphrase: %w", err)
	}
	if err := writeFile(v.dir, fileClinicSealed, sealed, false); err != nil {
		return fmt.Errorf("vault: set passphrase: %w", err)
	}
	if err := removeFile(v.dir, fileClinicKey); err != nil {
		return fmt.Errorf("vault: set passphrase: %w", err)
	}
	v.mu.Lock()
	v.sealed = true
	v.mu.Unlock()
	return nil
}

// RemovePassphrase goes back to plain mode: it writes clinic.key, then
// removes clinic.key.age. It needs an unlocked vault.
func (v *Vault) RemovePassphrase() error {
	v.files.Lock()
	defer v.files.Unlock()
	id, err := v.unlockedIdentity()
	if err != nil {
		return err
	}
	if err := writeFile(v.dir, fileClinicKey, []byte(id.String()+"\n"), false); err != nil {
		return fmt.Errorf("vault: remove passphrase: %w", err)
	}
	if err := removeFile(v.dir, fileClinicSealed); err != nil {
		return fmt.Errorf("vault: remove passphrase: %w", err)
	}
	v.mu.Lock()
	v.sealed = false
	v.mu.Unlock()
	return nil
}

// ClinicIdentity returns the clinic identity's secret ("AGE-SECRET-KEY-1…"),
// for embedding in a backup that is itself sealed to the recovery recipient.
func (v *Vault) ClinicIdentity() (string, error) {
	id, err := v.unlockedIdentity()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// RotateRecovery makes a new recovery identity, rewrites clinic.escrow.age
// and recovery.pub, and returns the new secret, which is never written to
// disk. It needs an unlocked vault.
//
// A crash at any point leaves exactly one recovery key that both opens the
// escrow and is the one backups are sealed to: the escrow is first sealed
// to the old and the new key together (the old one stays whole), then
// recovery.pub names the new one (the new one is whole), and only then is
// the escrow sealed to the new key alone.
func (v *Vault) RotateRecovery() (string, error) {
	v.files.Lock()
	defer v.files.Unlock()
	id, err := v.unlockedIdentity()
	if err != nil {
		return "", err
	}
	recovery, err := age.GenerateX25519Identity()
	if err != nil {
		return "", fmt.Errorf("vault: rotate recovery: %w", err)
	}
	v.mu.RLock()
	old := v.recovery
	v.mu.RUnlock()
	steps := []struct {
		name string
		file string
		data func() ([]byte, error)
	}{
		{"escrow to both", fileEscrow, func() ([]byte, error) { return encryptAll([]byte(id.String()+"\n"), old, recovery.Recipient()) }},
		{"recovery.pub", fileRecoveryPub, func() ([]byte, error) { return []byte(recovery.Recipient().String() + "\n"), nil }},
		{"escrow to the new key", fileEscrow, func() ([]byte, error) { return sealIdentity(id, recovery.Recipient()) }},
	}
	for _, st := range steps {
		b, err := st.data()
		if err == nil {
			err = writeFile(v.dir, st.file, b, false)
		}
		if err != nil {
			return "", fmt.Errorf("vault: rotate recovery: %w", err)
		}
		if st.name == "recovery.pub" {
			v.mu.Lock()
			v.recovery = recovery.Recipient()
			v.mu.Unlock()
		}
		if v.stepDone != nil {
			if err := v.stepDone(st.name, recovery.String()); err != nil {
				return "", err
			}
		}
	}
	return recovery.String(), nil
}

// unlockedIdentity returns the clinic identity, or ErrLocked.
func (v *Vault) unlockedIdentity() (*age.X25519Identity, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.identity == nil {
		return nil, ErrLocked
	}
	return v.identity, nil
}

// SetScryptWorkFactor makes SetPassphrase on this vault use scrypt's work
// factor 2^logN instead of age's default (2^18, about a second), so that
// tests do not spend that second on every passphrase. It is for tests only
// (app/clinic/clinictest); nothing in Hearth calls it, and there is no flag,
// setting or environment variable that reaches it. Unlock reads the work
// factor from the file, so it needs no such call.
func (v *Vault) SetScryptWorkFactor(logN int) {
	if logN < 1 || logN > 30 {
		panic("vault: SetScryptWorkFactor: logN must be 1..30")
	}
	v.scryptLogN = logN
}

// testScryptLogN is the scrypt work factor (log2) of every passphrase file a
// binary writes when the whole-program tests build it with
//
//	go build -ldflags "-X hearth/app/vault.testScryptLogN=10"
//
// (tests/harness_test.go does), so that their race-built binary unlocks in
// milliseconds, not seconds. It is set only at link time: no flag, setting
// or environment variable reaches it, so a clinic's build, which never
// passes that -X, always uses age's default. It is a string because -X sets
// only strings.
var testScryptLogN string

// LinkedScryptWorkFactor is the scrypt work factor linked into this binary for
// tests (testScryptLogN), or 0 in every real build. A value that is not a
// number from 1 to 30 is an error, never a silent fallback.
func LinkedScryptWorkFactor() (int, error) {
	if testScryptLogN == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(testScryptLogN)
	if err != nil || n < 1 || n > 30 {
		return 0, fmt.Errorf("the scrypt work factor linked in for tests (%q) is not a number from 1 to 30", testScryptLogN)
	}
	return n, nil
}

func sealIdentity(id *age.X25519Identity, to age.Recipient) ([]byte, error) {
	return encryptAll([]byte(id.String()+"\n"), to)
}
