package clinic

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSignedNameDefault pins the rule for the name patients see: the first
// name, or title and last name when the name starts with a title, and an
// owner's display name over both (issue 14 item 7: "Dr. Raj Patel" signed
// "Dr.").
func TestSignedNameDefault(t *testing.T) {
	for _, tc := range []struct{ name, display, want string }{
		{"Dr. Raj Patel", "", "Dr. Patel"},
		{"Maria Lopez", "", "Maria"},
		{"Raj", "", "Raj"},
		{"Dr Raj Patel", "", "Dr Patel"},
		{"Doctor Ana María Ruiz", "", "Doctor Ruiz"},
		{"dra. Ana Ruiz", "", "dra. Ruiz"},
		{"Nurse Joy Kim", "", "Nurse Kim"},
		{"NP Sam Lee", "", "NP Lee"},
		{"Mx. Robin Ames", "", "Mx. Ames"},
		{"Dr. Raj Patel, MD", "", "Dr. Patel"},
		{"Dr.", "", "Dr."},
		{"  Maria   Lopez ", "", "Maria"},
		{"Drew Carey", "", "Drew"},
		{"Dr. Raj Patel", "Raj", "Raj"},
		{"Maria Lopez", "Nurse Maria", "Nurse Maria"},
	} {
		if got := (Staff{Name: tc.name, DisplayName: tc.display}).SignedName(); got != tc.want {
			t.Errorf("Staff{Name: %q, DisplayName: %q}.SignedName() = %q, want %q", tc.name, tc.display, got, tc.want)
		}
	}
}

// TestUpdateStaffDisplayName sets, validates and clears the name patients
// see through UpdateStaff.
func TestUpdateStaffDisplayName(t *testing.T) {
	c, _ := newTestClinic(t)
	ctx := context.Background()
	sys := Actor{Kind: ActorSystem}
	st, err := c.CreateStaff(ctx, sys, StaffInput{Name: "Dr. Raj Patel", Email: "raj@clinic.example", Role: RoleClinician, Password: "a long enough password 1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.SignedName() != "Dr. Patel" {
		t.Fatalf("default = %q", st.SignedName())
	}
	set := func(d string) (Staff, error) {
		return c.UpdateStaff(ctx, sys, st.ID, StaffUpdate{DisplayName: &d})
	}
	got, err := set("  Dr.   Raj ")
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "Dr. Raj" || got.SignedName() != "Dr. Raj" {
		t.Fatalf("after set: %q / %q", got.DisplayName, got.SignedName())
	}
	if again, err := c.Staff(ctx, st.ID); err != nil || again.SignedName() != "Dr. Raj" || again.Name != "Dr. Raj Patel" {
		t.Fatalf("stored: %+v, %v", again.SignedName(), err)
	}
	var ie *InputError
	for _, bad := range []string{strings.Repeat("x", MaxDisplayName+1), "Dr.\u202eRaj", "Raj\x00"} {
		if _, err := set(bad); !errors.As(err, &ie) || ie.Field != "display_name" {
			t.Errorf("display name %q: err = %v, want an input error on display_name", bad, err)
		}
	}
	if _, err := set(strings.Repeat("x", MaxDisplayName)); err != nil {
		t.Errorf("%d characters refused: %v", MaxDisplayName, err)
	}
	got, err = set("")
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "" || got.SignedName() != "Dr. Patel" {
		t.Fatalf("after clearing: %q / %q", got.DisplayName, got.SignedName())
	}
	if _, err := c.UpdateStaff(ctx, Actor{Kind: ActorStaff, ID: st.ID, Role: RoleClinician}, st.ID, StaffUpdate{DisplayName: &got.Name}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a clinician set a display name: %v", err)
	}
}
