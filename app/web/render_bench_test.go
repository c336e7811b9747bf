package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"hearth/app/clinic"
	"hearth/app/clinic/clinictest"
)

// The two pages of a patient's round trip (issue 18), rendered by the
// server's real handler on a real clinic: the compose page and the
// acknowledgement page (the thread page with ?sent=1). No network: the
// figure is the server's own CPU and garbage per page.

// roundTripPages is a clinic with one signed-in patient device and one
// request of theirs, and the server's handler.
type roundTripPages struct {
	h       http.Handler
	cookies []*http.Cookie
	item    string
}

func newRoundTripPages(tb testing.TB, lang string) *roundTripPages {
	tb.Helper()
	ctx := context.Background()
	ck := clinictest.NewClock(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC))
	files := clinictest.Embed()
	fx := clinictest.NewEnv(tb, clinictest.Options{Now: ck.Now})
	c := fx.Open(tb, clinic.Deps{Files: files})
	owner := clinictest.Setup(tb, c, clinic.SetupInput{ClinicName: "Maple Street Family Clinic", OwnerName: "Olive Owner", OwnerEmail: ownerEmail, Password: ownerPass})
	staff := clinic.Actor{Kind: clinic.ActorStaff, ID: owner.ID, Role: owner.Role}
	st, err := c.Settings(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	st.Phone = "(555) 201-0000"
	if err := c.SaveSettings(ctx, clinic.System, st); err != nil {
		tb.Fatal(err)
	}
	p, err := c.CreatePatient(ctx, staff, clinic.PatientInput{Name: "Rosa Patient", DOB: "1961-03-14", Phone: "555-201-3344", Lang: lang})
	if err != nil {
		tb.Fatal(err)
	}
	_, code, err := c.CreateInvite(ctx, staff, p.ID, "")
	if err != nil {
		tb.Fatal(err)
	}
	_, token, err := c.RedeemInvite(ctx, code, "1961-03-14", "Android phone, Chrome", false, "192.0.2.1")
	if err != nil {
		tb.Fatal(err)
	}
	_, who, err := c.DeviceFor(ctx, token, "192.0.2.1")
	if err != nil {
		tb.Fatal(err)
	}
	ack, err := c.CreateItem(ctx, who, clinic.NewItem{Type: clinic.TypeMessage, Lang: lang,
		Body: "My knee still hurts after the new dose, should I keep taking it?", Fields: map[string]string{"subject": "Knee"}})
	if err != nil {
		tb.Fatal(err)
	}
	w, err := New(Options{Clinic: c, Files: files, Version: "test", Addr: "127.0.0.1:0"})
	if err != nil {
		tb.Fatal(err)
	}
	return &roundTripPages{h: w.Handler(), item: ack.Item.ID, cookies: []*http.Cookie{
		{Name: deviceCookieName, Value: token},
		{Name: csrfCookieName, Value: strings.Repeat("c", 43)},
		{Name: langCookie, Value: lang},
	}}
}

// get serves one GET of path as the patient's phone and returns the page.
func (rt *roundTripPages) get(tb testing.TB, path string) string {
	w := httptest.NewRecorder()
	rt.serve(tb, path, w)
	return w.Body.String()
}

// serve serves one GET of path into w; it fails on anything but a page.
func (rt *roundTripPages) serve(tb testing.TB, path string, w http.ResponseWriter) {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil)
	for _, c := range rt.cookies {
		r.AddCookie(c)
	}
	rt.h.ServeHTTP(w, r)
	if code := statusOf(w); code != http.StatusOK {
		tb.Fatalf("GET %s: %d", path, code)
	}
}

// discard is a response writer that keeps only the status, so the
// benchmark measures the server rather than a copy of each page.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}

func (d *discard) WriteHeader(code int) { d.code = code }

func (d *discard) Write(b []byte) (int, error) {
	if d.code == 0 {
		d.code = http.StatusOK
	}
	return len(b), nil
}

func statusOf(w http.ResponseWriter) int {
	switch w := w.(type) {
	case *httptest.ResponseRecorder:
		return w.Code
	case *discard:
		return w.code
	}
	return 0
}

func benchPage(b *testing.B, lang, path string, want string) {
	rt := newRoundTripPages(b, lang)
	path = strings.ReplaceAll(path, "ID", rt.item)
	if page := rt.get(b, path); !strings.Contains(page, want) {
		b.Fatalf("GET %s: missing %q\n%.1500s", path, want, page)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU(b)
	for b.Loop() {
		rt.serve(b, path, &discard{})
	}
	// CPU time (all threads, the garbage collector's included) moves less
	// than ns/op when other programs share the cores.
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPatientComposePage: GET /new?type=message, the first page of a
// round trip.
func BenchmarkPatientComposePage(b *testing.B) {
	b.Run("en", func(b *testing.B) { benchPage(b, "en", "/new?type=message", `name="body"`) })
	b.Run("es", func(b *testing.B) { benchPage(b, "es", "/new?type=message", `name="body"`) })
}

// BenchmarkPatientThreadPage: GET /t/ID?sent=1, the acknowledgement page a
// sent request lands on.
func BenchmarkPatientThreadPage(b *testing.B) {
	b.Run("en", func(b *testing.B) { benchPage(b, "en", "/t/ID?sent=1", `id="ack-h"`) })
	b.Run("es", func(b *testing.B) { benchPage(b, "es", "/t/ID?sent=1", `id="ack-h"`) })
}
