package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"testing"
)

// TestAPIErrorsLiveInTheCatalogue: an apiError is written only in
// errors.go, and only as a catalogue entry; everywhere else refers to an
// entry or words one with its with method (same code, same status).
func TestAPIErrorsLiveInTheCatalogue(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files found: the test must run in app/web")
	}
	fset := token.NewFileSet()
	inCatalogueFile := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "apiError" {
				return true
			}
			if name == "errors.go" {
				inCatalogueFile++
			} else {
				t.Errorf("%s: an apiError literal outside errors.go; declare it in the catalogue and refer to it", fset.Position(lit.Pos()))
			}
			return true
		})
	}
	if inCatalogueFile != len(catalogue) {
		t.Errorf("errors.go writes %d apiError literals but the catalogue lists %d: every entry belongs in catalogue", inCatalogueFile, len(catalogue))
	}
}

// TestCatalogueCodesAreUnique: a code names one kind of problem, with one
// status.
func TestCatalogueCodesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range catalogue {
		if e.Code == "" || e.Msg == "" || e.Status < 400 || e.Status > 599 {
			t.Errorf("incomplete catalogue entry: %+v", *e)
		}
		if seen[e.Code] {
			t.Errorf("code %q is in the catalogue twice", e.Code)
		}
		seen[e.Code] = true
	}
}

// TestCatalogueKeepsWhatClientsRead pins the codes and statuses the console
// and the tests branch on (docs/ARCHITECTURE.md lists them): changing one
// breaks a client that is already shipped.
func TestCatalogueKeepsWhatClientsRead(t *testing.T) {
	want := map[string]int{
		"unauthorized":   http.StatusUnauthorized,
		"session_locked": http.StatusUnauthorized,
		"totp_required":  http.StatusUnauthorized,
		"bad_totp":       http.StatusUnauthorized,
		"setup_required": http.StatusForbidden,
		"forbidden":      http.StatusForbidden,
		"break_glass":    http.StatusForbidden,
		"csrf":           http.StatusForbidden,
		"not_found":      http.StatusNotFound,
		"too_many":       http.StatusTooManyRequests,
		"pin_blocked":    http.StatusTooManyRequests,
		"locked":         http.StatusServiceUnavailable,
		"internal":       http.StatusInternalServerError,
	}
	have := map[string]int{}
	for _, e := range catalogue {
		have[e.Code] = e.Status
	}
	for code, status := range want {
		if have[code] != status {
			t.Errorf("code %q: status %d, clients expect %d", code, have[code], status)
		}
	}
	// A worded case keeps its entry's code and status.
	for _, e := range []*apiError{errNoBody, errBadJSON("x"), errUnknownParam("x"), errBadParam("x", "y")} {
		if e.Code != errBadRequest.Code || e.Status != errBadRequest.Status {
			t.Errorf("%q became %s/%d", e.Msg, e.Code, e.Status)
		}
	}
	for _, e := range []*apiError{errNeedSecret, errNoPatient, errBadStartsAt, errClinicNeedsTOTP, errInvalid("f", "m")} {
		if e.Code != errInvalidInput.Code || e.Status != errInvalidInput.Status {
			t.Errorf("%q became %s/%d", e.Msg, e.Code, e.Status)
		}
	}
	if e := errInternalRef("r"); e.Code != "internal" || e.Status != http.StatusInternalServerError || errInternal.Msg == e.Msg {
		t.Errorf("internal with a reference: %+v", *e)
	}
}
