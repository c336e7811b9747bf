// Package clinictest is the one way tests get a real clinic: real age keys
// (app/vault) in a keys folder and a real bbolt file, both in t.TempDir(), a
// database made by clinic.Init, a Clinic from clinic.Open, a settable clock,
// and cheap password-hash and passphrase costs, so that tests spend their
// time on what they test and not on deliberately slow crypto. The
// production costs have their own focused tests (app/vault and app/clinic).
//
// Every error is a test failure (t.Fatal); stores are closed when the test
// ends. The package is for tests only: nothing in Hearth imports it.
package clinictest

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"hearth/app/clinic"
	"hearth/app/store"
	"hearth/app/store/boltstore"
	"hearth/app/vault"
)

// Argon2 is the tests' password-hash cost: a tiny argon2id that still runs
// the real code. Open uses it when Deps.Argon2 is zero.
var Argon2 = clinic.Argon2Params{Time: 1, MemKiB: 64, Threads: 1}

// ScryptLogN is the tests' passphrase cost: scrypt at 2^10 instead of age's
// 2^18. Keys and Reload set it on every vault they return.
const ScryptLogN = 10

// Owner is the owner account Setup creates unless told otherwise.
var Owner = clinic.SetupInput{ClinicName: "Maple Street", OwnerName: "Olive Owner", OwnerEmail: "o@maple.test", Password: "a-long-password-1"}

// Clock is a settable clock, safe for concurrent use: hand its Now to the
// clinic and move time with Add or Set.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Embed is the repository's embed/ folder (urgent-word lists, message
// catalogues, templates, migrations), as Deps.Files wants it.
func Embed() fs.FS {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("clinictest: cannot tell where the source is")
	}
	return os.DirFS(filepath.Join(filepath.Dir(file), "..", "..", "..", "embed"))
}

// Options says how to make an Env; the zero value is a bbolt file and the
// real clock.
type Options struct {
	// Now is the clinic's clock: Init's time and Open's Deps.Now. Nil is
	// time.Now.
	Now func() time.Time
	// Store is an open, empty store to make the clinic in (for example
	// PostgreSQL from pgtest); the caller closes it. Nil makes a bbolt file
	// Dir/hearth.db, closed when the test ends.
	Store store.Store
}

// Env is one clinic's data as a fresh install leaves it: keys and a
// database made by clinic.Init, not yet opened.
type Env struct {
	// Dir is the data folder: the keys in Dir/keys, the bbolt file (unless
	// Options.Store was given) in Dir/hearth.db.
	Dir   string
	Store store.Store
	// Vault is the unlocked vault Init used, with the cheap passphrase cost.
	Vault *vault.Vault
	// Recovery is the recovery identity's secret, as setup shows it once.
	Recovery string
	// Now is the clinic's clock (Options.Now, or time.Now).
	Now func() time.Time
}

// Keys makes a keys folder in dir with new real age keys; passphrases set on
// the vault use ScryptLogN. It returns the vault and the recovery secret.
func Keys(t testing.TB, dir string) (*vault.Vault, string) {
	t.Helper()
	v, recovery, err := vault.Create(dir)
	if err != nil {
		t.Fatalf("clinictest: keys: %v", err)
	}
	v.SetScryptWorkFactor(ScryptLogN)
	return v, recovery
}

// NewEnv makes keys and a database (clinic.Init) in a new t.TempDir().
func NewEnv(t testing.TB, o Options) *Env {
	t.Helper()
	e := &Env{Dir: t.TempDir(), Store: o.Store, Now: o.Now}
	if e.Now == nil {
		e.Now = time.Now
	}
	e.Vault, e.Recovery = Keys(t, filepath.Join(e.Dir, "keys"))
	if e.Store == nil {
		st, err := boltstore.Open(filepath.Join(e.Dir, "hearth.db"), boltstore.Options{})
		if err != nil {
			t.Fatalf("clinictest: open the bbolt file: %v", err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Errorf("clinictest: close the bbolt file: %v", err)
			}
		})
		e.Store = st
	}
	if err := clinic.Init(context.Background(), e.Store, e.Vault, e.Now()); err != nil {
		t.Fatalf("clinictest: init: %v", err)
	}
	return e
}

// Open opens a Clinic with d, failing the test on an error. A zero
// d.Argon2 is the cheap Argon2.
func Open(t testing.TB, d clinic.Deps) *clinic.Clinic {
	t.Helper()
	if d.Argon2 == (clinic.Argon2Params{}) {
		d.Argon2 = Argon2
	}
	c, err := clinic.Open(context.Background(), d)
	if err != nil {
		t.Fatalf("clinictest: open: %v", err)
	}
	return c
}

// Open opens a Clinic on e's store and vault with e's clock; d gives the
// rest (Log, Events, Peers, Files) and may override them.
func (e *Env) Open(t testing.TB, d clinic.Deps) *clinic.Clinic {
	t.Helper()
	if d.Store == nil {
		d.Store = e.Store
	}
	if d.Vault == nil {
		d.Vault = e.Vault
	}
	if d.Now == nil {
		d.Now = e.Now
	}
	return Open(t, d)
}

// Reload loads e's keys from disk as a restarted process does: locked if a
// passphrase was set, with the cheap passphrase cost.
func (e *Env) Reload(t testing.TB) *vault.Vault {
	t.Helper()
	v, err := vault.Load(filepath.Join(e.Dir, "keys"))
	if err != nil {
		t.Fatalf("clinictest: load the keys: %v", err)
	}
	v.SetScryptWorkFactor(ScryptLogN)
	return v
}

// Setup names the clinic and creates its owner (clinic.Setup) from in; the
// zero SetupInput is Owner.
func Setup(t testing.TB, c *clinic.Clinic, in clinic.SetupInput) clinic.Staff {
	t.Helper()
	if in == (clinic.SetupInput{}) {
		in = Owner
	}
	owner, err := c.Setup(context.Background(), in, nil, "test")
	if err != nil {
		t.Fatalf("clinictest: setup: %v", err)
	}
	return owner
}

// New is a set-up clinic: NewEnv, Open with d, and Setup with Owner.
func New(t testing.TB, o Options, d clinic.Deps) (*Env, *clinic.Clinic, clinic.Staff) {
	t.Helper()
	e := NewEnv(t, o)
	c := e.Open(t, d)
	return e, c, Setup(t, c, clinic.SetupInput{})
}
