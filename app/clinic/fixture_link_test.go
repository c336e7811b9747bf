package clinic_test

import (
	"testing"
	"time"

	"hearth/app/clinic"
	"hearth/app/clinic/clinictest"
	"hearth/app/store"
)

// init hands clinictest to package clinic's own tests (see Fixture in
// fixture_test.go for why it goes this way round).
func init() {
	clinic.Fixture.Env = func(t testing.TB, now func() time.Time, st store.Store) clinic.FixtureEnv {
		t.Helper()
		e := clinictest.NewEnv(t, clinictest.Options{Now: now, Store: st})
		return clinic.FixtureEnv{Dir: e.Dir, Store: e.Store, Vault: e.Vault}
	}
	clinic.Fixture.Open = clinictest.Open
	clinic.Fixture.Setup = clinictest.Setup
}
