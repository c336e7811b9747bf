package clinic

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
	"hearth/app/vault"
)

// newTestStore is a new database on a real bbolt file, made by Init for
// real age keys, not yet opened as a clinic (clinictest.NewEnv).
func newTestStore(t *testing.T) (store.Store, *vault.Vault) {
	t.Helper()
	e := fixture(t).Env(t, nil, nil)
	return e.Store, e.Vault
}

// newTestClinic is a set-up clinic on a real bbolt file and real age keys
// (clinictest.New).
func newTestClinic(t *testing.T) (*Clinic, store.Store) {
	t.Helper()
	st, v := newTestStore(t)
	c := fixture(t).Open(t, Deps{Store: st, Vault: v})
	fixture(t).Setup(t, c, SetupInput{})
	return c, st
}

var staffActor = Actor{Kind: ActorStaff, ID: "s1", Role: RoleFrontDesk, Client: "127.0.0.1"}

func mustVerifyClean(t *testing.T, c *Clinic) Report {
	t.Helper()
	r, err := c.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("verify found problems in a clean clinic: %v", r.Problems)
	}
	return r
}

func TestVerifyCleanClinic(t *testing.T) {
	c, _ := newTestClinic(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Ada Example", DOB: "06/15/1970", ConfirmDuplicate: true}); err != nil {
			t.Fatal(err)
		}
	}
	r := mustVerifyClean(t, c)
	if r.Records < 7 || r.IndexKeys == 0 || r.AuditEvents < 6 {
		t.Fatalf("verify checked too little: %+v", r)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		tamper func(tx store.Tx, a, b Patient) error
		want   string
	}{
		"record copied under another id": {func(tx store.Tx, a, b Patient) error {
			raw, err := tx.Get(bucketPatients, a.ID)
			if err != nil {
				return err
			}
			return tx.Put(bucketPatients, b.ID, raw)
		}, "moved or copied"},
		"flipped byte": {func(tx store.Tx, a, b Patient) error {
			raw, err := tx.Get(bucketPatients, a.ID)
			if err != nil {
				return err
			}
			raw[len(raw)/2] ^= 1
			return tx.Put(bucketPatients, a.ID, raw)
		}, "does not open"},
		"dangling index entry": {func(tx store.Tx, a, b Patient) error {
			return tx.Delete(bucketPatients, b.ID)
		}, "does not exist"},
		"audit event changed": {func(tx store.Tx, a, b Patient) error {
			raw, err := tx.Get(audit.EventsBucket, "0000000000000002")
			if err != nil {
				return err
			}
			var e audit.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			e.Actor = "staff:someone-else"
			nb, err := json.Marshal(e)
			if err != nil {
				return err
			}
			return tx.Put(audit.EventsBucket, "0000000000000002", nb)
		}, "content changed"},
		"audit event removed": {func(tx store.Tx, a, b Patient) error {
			return tx.Delete(audit.EventsBucket, "0000000000000002")
		}, "missing"},
		"audit events swapped": {func(tx store.Tx, a, b Patient) error {
			x, err := tx.Get(audit.EventsBucket, "0000000000000002")
			if err != nil {
				return err
			}
			y, err := tx.Get(audit.EventsBucket, "0000000000000003")
			if err != nil {
				return err
			}
			if err := tx.Put(audit.EventsBucket, "0000000000000002", y); err != nil {
				return err
			}
			return tx.Put(audit.EventsBucket, "0000000000000003", x)
		}, "another position"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, st := newTestClinic(t)
			a, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Ada Example", DOB: "1970-06-15"})
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Bo Example", DOB: "1980-01-01"})
			if err != nil {
				t.Fatal(err)
			}
			mustVerifyClean(t, c)
			if err := st.Update(ctx, func(tx store.Tx) error { return tc.tamper(tx, a, b) }); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			r, err := c.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() {
				t.Fatal("verify did not notice")
			}
			if !strings.Contains(strings.Join(r.Problems, "\n"), tc.want) {
				t.Fatalf("verify's report does not say %q: %v", tc.want, r.Problems)
			}
			for _, p := range r.Problems {
				if strings.Contains(p, "Ada") || strings.Contains(p, "1970") {
					t.Fatalf("verify's report carries PHI: %s", p)
				}
			}
		})
	}
}

// TestDamagedSchemaVersionIsAClearError: a schema-version value that is not
// a version number (empty, zero, negative, garbage) stops Open with
// ErrSchemaDamaged instead of a panic in the migrations, and changes nothing.
func TestDamagedSchemaVersionIsAClearError(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{"", "0", "-1", "x", "2\x00", " 3", "99999999999999999999999"} {
		st, v := newTestStore(t)
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.Put(MetaBucket, "schema", []byte(bad)) }); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, Deps{Store: st, Vault: v})
		if !errors.Is(err, ErrSchemaDamaged) {
			t.Fatalf("schema version %q: Open says %v, want ErrSchemaDamaged", bad, err)
		}
		var after []byte
		if err := st.View(ctx, func(tx store.Tx) (err error) { after, err = tx.Get(MetaBucket, "schema"); return err }); err != nil {
			t.Fatal(err)
		}
		if string(after) != bad {
			t.Fatalf("schema version %q was rewritten to %q", bad, after)
		}
	}
	// The version a newer Hearth wrote is still its own error.
	st, v := newTestStore(t)
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.Put(MetaBucket, "schema", []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Deps{Store: st, Vault: v}); !errors.Is(err, ErrSchemaNewer) {
		t.Fatalf("schema version 99: %v, want ErrSchemaNewer", err)
	}
}

func TestSwappedRecordIsRejectedNotShown(t *testing.T) {
	c, st := newTestClinic(t)
	ctx := context.Background()
	a, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Ada Example", DOB: "1970-06-15"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Bo Example", DOB: "1980-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		raw, err := tx.Get(bucketPatients, a.ID)
		if err != nil {
			return err
		}
		return tx.Put(bucketPatients, b.ID, raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Patient(ctx, staffActor, b.ID)
	if !errors.Is(err, vault.ErrMismatch) {
		t.Fatalf("reading a record swapped in from another patient: %v, want ErrMismatch", err)
	}
}

func TestSignInSameAnswerForUnknownAndWrong(t *testing.T) {
	c, _ := newTestClinic(t)
	ctx := context.Background()
	if _, err := c.SignIn(ctx, "o@maple.test", "a-long-password-1", "", "1.2.3.4"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	_, e1 := c.SignIn(ctx, "o@maple.test", "wrong-password-xx", "", "1.2.3.4")
	_, e2 := c.SignIn(ctx, "nobody@maple.test", "wrong-password-xx", "", "1.2.3.4")
	if !errors.Is(e1, ErrBadCredential) || !errors.Is(e2, ErrBadCredential) || e1.Error() != e2.Error() {
		t.Fatalf("wrong password %v vs unknown account %v", e1, e2)
	}
}

func TestParseDOB(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{"1961-03-14": "1961-03-14", "03/14/1961": "1961-03-14", "3/14/1961": "1961-03-14",
		" 03-14-1961 ": "1961-03-14", "1961/03/14": "1961-03-14"} {
		got, err := ParseDOB(in, now)
		if err != nil || got != want {
			t.Errorf("ParseDOB(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "14/03/1961", "2030-01-01", "1800-01-01", "yesterday", "1961-02-30"} {
		if _, err := ParseDOB(in, now); err == nil {
			t.Errorf("ParseDOB(%q) accepted", in)
		}
	}
}

func TestPatientSearch(t *testing.T) {
	c, _ := newTestClinic(t)
	ctx := context.Background()
	maria, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "María Ortega", DOB: "1961-03-14", Phone: "+1 (555) 201-3344"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "Mario Ortiz", DOB: "1975-05-05", Phone: "555-999-0000"}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"mar": 2, "maria": 1, "MARÍA ort": 1, "ort": 2, "ortega": 1, "03/14/1961": 1, "555-201-3344": 1, "5552013344": 1, "zz": 0} {
		got, err := c.SearchPatients(ctx, staffActor, q, 20)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		if len(got) != want {
			t.Errorf("search %q found %d, want %d", q, len(got), want)
		}
		if want == 1 && q != "mar" && got[0].ID != maria.ID && !strings.HasPrefix(q, "ort") {
			t.Errorf("search %q found the wrong patient", q)
		}
	}
	if _, err := c.SearchPatients(ctx, Actor{Kind: ActorPatient, ID: "x"}, "mar", 5); !errors.Is(err, ErrForbidden) {
		t.Errorf("a patient could search: %v", err)
	}
	n, err := c.SameName(ctx, maria)
	if err != nil || n != 0 {
		t.Errorf("SameName = %d, %v", n, err)
	}
	twin, err := c.CreatePatient(ctx, staffActor, PatientInput{Name: "maria ortega", DOB: "1990-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.SameName(ctx, twin); err != nil || n != 1 {
		t.Errorf("SameName for a same-named patient = %d, want 1 (%v)", n, err)
	}
}
