package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPanicOutputHoldsNoPHI (checklist 64): a handler that panics with a
// patient's name and birth date in its message answers 500 with a
// reference, and neither the answer nor the log carries the name or the
// date; a runtime error (no data in it) is still quoted for the engineer.
// /debug/pprof is not served.
func TestPanicOutputHoldsNoPHI(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name  string
		panic func()
		logs  string
	}{
		{"a message", func() { panic("could not file the request of Ada Example, born 1970-06-15") }, "panicked with a string"},
		{"an error", func() { panic(errors.New("Ada Example 1970-06-15")) }, "panicked with a *errors.errorString"},
		{"a runtime error", func() { names := []string{}; _ = names[len("Ada Example")] }, "index out of range [11] with length 0"},
	} {
		before := e.panicsSeen()
		h := e.web.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { c.panic() }))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/items", nil))
		if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "reference") {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
		log := e.log.String()
		for _, phi := range []string{"Ada", "Example", "1970-06-15"} {
			if strings.Contains(rec.Body.String(), phi) || strings.Contains(log, phi) {
				t.Errorf("%s: %q reached the answer or the log:\n%s", c.name, phi, log)
			}
		}
		if !strings.Contains(log, c.logs) {
			t.Errorf("%s: the log does not say what panicked (%q):\n%s", c.name, c.logs, log)
		}
		if e.panicsSeen() != before+1 {
			t.Errorf("%s: the recovered panic was not counted", c.name)
		}
	}
	owner := e.owner()
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/vars"} {
		if r := owner.req("GET", p, nil); r.code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.code)
		}
	}
}

// panicsSeen is the server's count of recovered panics.
func (e *env) panicsSeen() int64 { return e.web.panics.Load() }
