package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPackageLayers holds the dependency edges DESIGN.md draws: web →
// clinic → (store, vault, audit); realtime knows nothing of storage; vault
// and store know nothing of the domain; only package app names a concrete
// store backend.
func TestPackageLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../app/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string][]string{
		"hearth/app/vault":    {"hearth/"},
		"hearth/app/store":    {"hearth/"},
		"hearth/app/audit":    {"hearth/app/clinic", "hearth/app/web", "hearth/app/vault", "hearth/app/store/boltstore"},
		"hearth/app/clinic":   {"hearth/app/web", "hearth/app/realtime", "hearth/app/cli", "hearth/app/bench", "hearth/app/store/boltstore", "net/http"},
		"hearth/app/realtime": {"hearth/app/store", "hearth/app/web", "go.etcd.io/bbolt"},
		"hearth/app/web":      {"hearth/app/store/boltstore", "hearth/app/cli", "hearth/app/bench", "go.etcd.io/bbolt"},
		"hearth/app/cli":      {"hearth/app/store/boltstore", "go.etcd.io/bbolt"},
		"hearth/app/mail":     {"hearth/app/clinic", "hearth/app/web"},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
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
}
