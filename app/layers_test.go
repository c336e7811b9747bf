package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPackageLayers holds the dependency edges DESIGN.md draws: web →
// clinic → (store, vault, audit); web never reaches the store; realtime
// knows nothing of storage; vault and store know nothing of the domain; only
// the wiring (this package) names a concrete store backend. It reads the
// imports with `go list`, so it needs no build of the binary.
func TestPackageLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string][]string{
		"hearth/app/vault":    {"hearth/"},
		"hearth/app/store":    {"hearth/"},
		"hearth/app/audit":    {"hearth/app/clinic", "hearth/app/web", "hearth/app/vault", "hearth/app/store/boltstore"},
		"hearth/app/clinic":   {"hearth/app/web", "hearth/app/realtime", "hearth/app/cli", "hearth/app/bench", "hearth/app/store/boltstore", "net/http"},
		"hearth/app/realtime": {"hearth/app/store", "hearth/app/web", "go.etcd.io/bbolt"},
		"hearth/app/web":      {"hearth/app/store", "hearth/app/store/", "hearth/app/cli", "hearth/app/bench", "go.etcd.io/bbolt", "hearth/app/tlsauto", "github.com/caddyserver/certmagic"},
		"hearth/app/cli":      {"hearth/app/store/boltstore", "go.etcd.io/bbolt"},
		"hearth/app/mail":     {"hearth/app/clinic", "hearth/app/web"},
		"hearth/app/i18n":     {"hearth/"},
		"hearth/app/group":    {"hearth/app/web", "hearth/app/cli", "hearth/app/bench", "hearth/app/store/boltstore", "hearth/app/store/pgstore", "go.etcd.io/bbolt"},
		// Text messages are transport only: they know nothing of Hearth.
		"hearth/app/sms":         {"hearth/"},
		"hearth/app/sms/smstest": {"hearth/app/clinic", "hearth/app/web", "hearth/app/store", "hearth/app/vault"},
		// Hearth's own HTTPS knows names, keys and certificates: never the
		// clinic, its records or its store (a clinic group's files reach it
		// through the small Files interface it declares), nor the web layer,
		// which in turn sees the certificate's state only through the wiring.
		"hearth/app/tlsauto": {"hearth/app/clinic", "hearth/app/web", "hearth/app/store", "hearth/app/store/", "hearth/app/vault", "hearth/app/cli", "go.etcd.io/bbolt"},
	}
	// The PostgreSQL backend is wiring: only package app (which picks the
	// backend) and app/cli may import it. In tests it may be imported by its
	// own tests, by the clinic benchmarks, which run on it with
	// HEARTH_BENCH_STORE=postgres, and by the clinic group's tests, which
	// need a real shared database.
	const pgstore = "hearth/app/store/pgstore"
	pgWiring := map[string]bool{"hearth/app": true, "hearth/app/cli": true}
	pgTests := map[string]bool{pgstore: true, "hearth/app/clinic": true, "hearth/app/group": true}

	checked, listed := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		pkg, imports, testImports := parts[0], strings.Fields(parts[1]), strings.Fields(parts[2])
		listed++
		for _, imp := range imports {
			if imp == pgstore && !pgWiring[pkg] {
				t.Errorf("%s imports %s: only the wiring (app, app/cli) may", pkg, imp)
			}
		}
		for _, imp := range testImports {
			if imp == pgstore && !pgWiring[pkg] && !pgTests[pkg] {
				t.Errorf("the tests of %s import %s: only the wiring, pgstore's own tests, the clinic benchmarks and the clinic group's tests may", pkg, imp)
			}
		}
		bad, ok := forbidden[pkg]
		if !ok {
			continue
		}
		checked++
		for _, imp := range imports {
			for _, b := range bad {
				if imp == b || strings.HasPrefix(imp, b) && strings.HasSuffix(b, "/") {
					if pkg == "hearth/app/store" && imp == "hearth/app/store" {
						continue
					}
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
	if checked != len(forbidden) {
		t.Fatalf("checked %d of %d packages", checked, len(forbidden))
	}
	if listed < 15 {
		t.Fatalf("go list named only %d packages under app/", listed)
	}
}
