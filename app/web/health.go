package web

import (
	"bytes"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"hearth/app/clinic"
)

// Health: /healthz says "ok", "locked" or "degraded" (with a reason: a
// damaged database, or a disk that refuses writes, storage.go); the
// owner also sees it, with the count of recovered panics and the audit
// head, beside the backup status. When the store fails its structure check
// (clinic.CheckStore) the server is degraded: degradedGate closes the staff
// screens with a plain page saying what happened and how to restore, and
// patient pages say the clinic's system is down and give its phone number.

// healthJSON is /healthz's answer. Reason, Fault, Since and
// RecoveredPanics appear only when there is something to say. Fault names
// the trouble for programs (the console): "damaged", or the error code a
// refused write gets, "storage_full" or "storage_failed"; Since is when
// the disk began refusing writes.
type healthJSON struct {
	Status          string     `json:"status"`
	Reason          string     `json:"reason,omitempty"`
	Fault           string     `json:"fault,omitempty"`
	Since           *time.Time `json:"since,omitempty"`
	RecoveredPanics int64      `json:"recovered_panics,omitempty"`
	Version         string     `json:"version"`
	// Certificate, with --domain, is the state of the certificate Hearth
	// gets by itself ("ok", "obtaining", "failing", "expiring"), for a
	// monitor to alert on; the owner's view has the details.
	Certificate string `json:"certificate,omitempty"`
}

// certState is what health needs of the certificate's status.
type certState interface{ HealthState() string }

// health is the server's state as /healthz and the owner see it. A disk
// that refuses writes (clinic.StorageFault) makes it degraded; a damaged
// database, which is worse, wins.
func (s *Server) health() healthJSON {
	h := healthJSON{Status: "ok", Version: s.version, RecoveredPanics: s.recoveredPanics()}
	if s.c.Locked() {
		h.Status = "locked"
	}
	if f := s.c.StorageFault(); f != nil {
		h.Status, h.Reason, h.Fault, h.Since = "degraded", f.Reason, f.Code, &f.Since
	}
	if d := s.c.Damaged(); d != nil {
		h.Status, h.Reason, h.Fault, h.Since = "degraded", d.Reason, "damaged", nil
	}
	if s.cert != nil {
		if cs, ok := s.cert().(certState); ok {
			h.Certificate = cs.HealthState()
		}
	}
	return h
}

// recoveredPanics counts panics recovered while serving: in handlers
// (recoverPanics) and inside the store's transactions.
func (s *Server) recoveredPanics() int64 { return s.panics.Load() + s.c.RecoveredPanics() }

// ownerHealth is the owner's view: the backup status with the server's
// health and the audit head beside it.
type ownerHealth struct {
	clinic.BackupStatus
	Health healthJSON `json:"health"`
	// Certificate is the state of the certificate Hearth gets by itself
	// (--domain): issuer, names, expiry, the last attempt and its error.
	Certificate any `json:"certificate,omitempty"`
}

// guardFaults makes a memory fault on a damaged page of the database's
// memory map a panic in this request's goroutine (recoverPanics answers
// it), not the end of the process.
func guardFaults() func() {
	old := debug.SetPanicOnFault(true)
	return func() { debug.SetPanicOnFault(old) }
}

// degradedGate answers every request but /healthz and static files with
// the degraded pages while the store is damaged.
func (s *Server) degradedGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.c.Damaged()
		p := r.URL.Path
		if d == nil || p == "/healthz" || strings.HasPrefix(p, "/s/") {
			next.ServeHTTP(w, r)
			return
		}
		switch {
		case strings.HasPrefix(p, "/api/"):
			s.writeJSONError(w, r, errDegraded)
		case strings.HasPrefix(p, "/staff") || strings.HasPrefix(p, "/setup/"):
			s.degradedStaffPage(w, r, d)
		default:
			s.degradedPatientPage(w, r, d)
		}
	})
}

// degradedStaff is down.html's data.
type degradedStaff struct {
	Reason          string
	BackupDir       string
	RecoveredPanics int64
}

func (s *Server) degradedStaffPage(w http.ResponseWriter, r *http.Request, d *clinic.Damage) {
	p := page{Title: "Hearth is stopped: the database is damaged", Clinic: d.ClinicName, Lang: "en",
		Data: degradedStaff{Reason: d.Reason, BackupDir: d.BackupDir, RecoveredPanics: s.recoveredPanics()}}
	if p.Clinic == "" {
		p.Clinic = "Hearth"
	}
	s.renderPlain(w, r, "down.html", p)
}

// degradedPatient is p_down.html's data.
type degradedPatient struct {
	T         func(key string, args ...any) string
	Phone     string
	PhoneHref string
	Emergency string
}

func (s *Server) degradedPatientPage(w http.ResponseWriter, r *http.Request, d *clinic.Damage) {
	cat := s.c.Words()
	if cat == nil {
		http.Error(w, "The clinic's messaging system is down. Please call the clinic.", http.StatusServiceUnavailable)
		return
	}
	lang := defaultLang
	if l := cat.FromAcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		lang = l
	}
	t := cat.Tr(lang, nil, s.c.Now())
	clinicName := d.ClinicName
	if clinicName == "" {
		clinicName = t.T("down.clinic")
	}
	s.renderPlain(w, r, "p_down.html", page{Title: t.T("down.title"), Clinic: clinicName, Lang: t.Lang(),
		Data: degradedPatient{T: t.T, Phone: d.Phone, PhoneHref: telHref(d.Phone), Emergency: d.Emergency}})
}

// renderPlain renders a degraded page with status 503. It reads nothing
// from the store (which is damaged).
func (s *Server) renderPlain(w http.ResponseWriter, r *http.Request, name string, p page) {
	t := s.tmpl[name]
	var buf bytes.Buffer
	if t == nil || t.ExecuteTemplate(&buf, name, p) != nil {
		http.Error(w, "Hearth's database is damaged. Please call the clinic.", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Retry-After", "3600")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, err := w.Write(buf.Bytes())
	s.lostResponse(r, err)
}
