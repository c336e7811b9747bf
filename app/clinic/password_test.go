package clinic

import (
	"context"
	"strings"
	"testing"
)

// The production password-hash cost, checked by what is stored rather than
// by a clock: a clinic opened without Deps.Argon2 hashes with DefaultArgon2,
// pinned here to OWASP's baseline, and a binary linked with a test cost
// hashes with that one. This is the one test that pays for a production
// argon2id.
func TestPasswordHashCost(t *testing.T) {
	if testArgon2 != "" {
		t.Fatalf("this test binary was linked with a test password-hash cost (%q): the production cost is not what runs", testArgon2)
	}
	ctx := context.Background()
	st, v := newTestStore(t)
	c, err := Open(ctx, Deps{Store: st, Vault: v}) // no Argon2: production
	if err != nil {
		t.Fatal(err)
	}
	const password = "a-long-password-1"
	owner := fixture(t).Setup(t, c, SetupInput{ClinicName: "Maple Street", OwnerName: "Olive Owner", OwnerEmail: "o@maple.test", Password: password})
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(owner.PasswordHash, want) {
		t.Fatalf("the owner's password hash starts %.40q, want %q (DefaultArgon2)", owner.PasswordHash, want)
	}
	if DefaultArgon2 != (Argon2Params{Time: 2, MemKiB: 19 * 1024, Threads: 1}) {
		t.Fatalf("DefaultArgon2 is %+v, not OWASP's argon2id baseline", DefaultArgon2)
	}
	if !checkPassword(owner.PasswordHash, password) || checkPassword(owner.PasswordHash, password+"x") {
		t.Fatal("the production hash does not check the password it was made from")
	}

	// The whole-program tests link in a cheap cost (-X ...testArgon2).
	t.Cleanup(func() { testArgon2 = "" })
	testArgon2 = "m=64,t=1,p=1"
	c2, err := Open(ctx, Deps{Store: st, Vault: v})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c2.CreateStaff(ctx, Actor{Kind: ActorSystem}, StaffInput{Name: "Nina Nurse", Email: "n@maple.test", Role: RoleClinician, Password: "another-long-password-2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=64,t=1,p=1$"; !strings.HasPrefix(s.PasswordHash, want) {
		t.Fatalf("with the linked test cost the hash starts %.40q, want %q", s.PasswordHash, want)
	}
	// Deps.Argon2 wins over the linked cost.
	c3, err := Open(ctx, Deps{Store: st, Vault: v, Argon2: Argon2Params{Time: 1, MemKiB: 128, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	s, err = c3.CreateStaff(ctx, Actor{Kind: ActorSystem}, StaffInput{Name: "Carl Clinician", Email: "c@maple.test", Role: RoleClinician, Password: "another-long-password-3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=128,t=1,p=1$"; !strings.HasPrefix(s.PasswordHash, want) {
		t.Fatalf("with Deps.Argon2 the hash starts %.40q, want %q", s.PasswordHash, want)
	}
	// A damaged linked value stops Open, never falls back to some cost.
	for _, bad := range []string{"m=64,t=1", "m=64,t=1,p=1x", "m=0,t=1,p=1", "cheap"} {
		testArgon2 = bad
		if _, err := Open(ctx, Deps{Store: st, Vault: v}); err == nil {
			t.Errorf("Open with the linked cost %q: no error", bad)
		}
	}
}
