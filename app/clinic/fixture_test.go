package clinic

import (
	"testing"
	"time"

	"hearth/app/store"
	"hearth/app/vault"
)

// Fixture is app/clinic/clinictest for this package's own tests, so that
// they make their clinics exactly the way every other package's tests do.
//
// clinictest imports clinic, so the tests inside package clinic cannot
// import it (an import cycle); the external test package clinic_test can,
// and fixture_link_test.go fills Fixture in its init, which runs before any
// test. The tests here stay inside the package because they need its
// unexported parts.
var Fixture FixtureFuncs

// FixtureFuncs are clinictest's functions, in the types package clinic
// knows.
type FixtureFuncs struct {
	// Env is clinictest.NewEnv: real keys and a database made by Init at
	// now(), in st or (st nil) in a new bbolt file Dir/hearth.db.
	Env func(t testing.TB, now func() time.Time, st store.Store) FixtureEnv
	// Open is clinictest.Open: clinic.Open, with the cheap password-hash
	// cost when d.Argon2 is zero.
	Open func(t testing.TB, d Deps) *Clinic
	// Setup is clinictest.Setup with in, or with clinictest.Owner when in is
	// zero.
	Setup func(t testing.TB, c *Clinic, in SetupInput) Staff
}

// FixtureEnv is what Fixture.Env made.
type FixtureEnv struct {
	Dir   string
	Store store.Store
	Vault *vault.Vault
}

// fixture is Fixture, failing the test when fixture_link_test.go did not
// fill it in.
func fixture(t testing.TB) *FixtureFuncs {
	t.Helper()
	if Fixture.Env == nil || Fixture.Open == nil || Fixture.Setup == nil {
		t.Fatal("clinic: Fixture is not filled in (fixture_link_test.go)")
	}
	return &Fixture
}
