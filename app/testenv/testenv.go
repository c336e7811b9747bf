// Package testenv decides what a test does when an outside tool it needs is
// missing (a browser, PostgreSQL, bash, time zone data): it skips, unless
// the run said the tool is required, and then it fails. CI requires every
// tool it installs (.ci/run sets CI, HEARTH_REQUIRE_BROWSER,
// HEARTH_REQUIRE_PG and HEARTH_REQUIRE_PEBBLE), so a CI run cannot turn green by skipping them.
//
// Nothing else may skip a test: a test whose own premise fails must fail.
// The package is for tests only.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// Environment variables that make a missing tool a failure.
const (
	// RequireBrowser: the browser tests must run (Chromium must be there).
	RequireBrowser = "HEARTH_REQUIRE_BROWSER"
	// RequirePG: the PostgreSQL tests must run.
	RequirePG = "HEARTH_REQUIRE_PG"
	// RequirePebble: the HTTPS-by-itself tests must run (the pebble ACME
	// test server, Debian package pebble, must be there).
	RequirePebble = "HEARTH_REQUIRE_PEBBLE"
	// CI: this is a CI run, where every tool CI installs must be there.
	CI = "CI"
)

// Required reports whether any of the environment variables is set: to
// anything but "", "0" or "false".
func Required(vars ...string) bool {
	for _, v := range vars {
		switch strings.ToLower(strings.TrimSpace(os.Getenv(v))) {
		case "", "0", "false":
		default:
			return true
		}
	}
	return false
}

// Missing reports that an outside tool the test needs is not there (what
// says which, and why): it fails the test if any of the variables in
// required is set (Required), and skips it otherwise. A tool CI installs is
// required by CI and by its own variable (RequireBrowser, RequirePG); a tool
// CI's machine may lack (systemd-analyze) is required by none.
func Missing(t testing.TB, what string, required ...string) {
	t.Helper()
	if Required(required...) {
		t.Fatalf("%s, and this run requires it (%s is set)", what, strings.Join(required, " or "))
	}
	if len(required) > 0 {
		t.Skipf("%s (set %s to make this a failure)", what, required[0])
	}
	t.Skip(what)
}
