package web

import (
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// failDisk makes every commit fail as a disk with errno would, until
// clear is called.
func (e *env) failDisk(errno syscall.Errno) (clear func()) {
	var err error = &fs.PathError{Op: "write", Path: "hearth.db", Err: errno}
	e.faults.commitErr.Store(&err)
	return func() { e.faults.commitErr.Store(nil) }
}

type healthAnswer struct {
	Status string     `json:"status"`
	Reason string     `json:"reason"`
	Fault  string     `json:"fault"`
	Since  *time.Time `json:"since"`
}

func (e *env) healthz() healthAnswer {
	e.t.Helper()
	r := e.anon().req("GET", "/healthz", nil)
	if r.code != 200 {
		e.t.Fatalf("/healthz: %d %s", r.code, r.body)
	}
	var h healthAnswer
	r.json(e.t, &h)
	return h
}

// A full disk: the staff API answers 507 storage_full in plain words, a
// patient's message page says it was NOT sent and to call (keeping what
// they typed), nothing is acknowledged, and /healthz is degraded until
// writes go through again.
func TestFullDiskAnswers(t *testing.T) {
	e := newEnv(t)
	e.setPhone()
	owner := e.owner()
	pat, _ := e.patient(owner, "Ada Lovelace", "1970-06-15")
	sent, _ := pat.send("message", url.Values{"body": {"Sent before the disk filled"}})
	newPage := pat.get("/new?type=message")
	if newPage.code != 200 {
		t.Fatalf("GET /new: %d", newPage.code)
	}
	if h := e.healthz(); h.Status != "ok" || h.Fault != "" {
		t.Fatalf("/healthz before: %+v", h)
	}

	clear := e.failDisk(syscall.ENOSPC)
	r := owner.req("POST", "/api/v1/patients", map[string]string{"name": "Canary Zebediah", "dob": "1980-01-02", "phone": "555-0100", "lang": "en"})
	var ae apiError
	r.json(t, &ae)
	if r.code != http.StatusInsufficientStorage || ae.Code != "storage_full" || !strings.Contains(ae.Msg, "NOT saved") {
		t.Fatalf("a staff write on a full disk: %d %s", r.code, r.body)
	}

	v := hiddenInputs(newPage.body)
	v.Set("type", "message")
	v.Set("body", "Please call me back about my results")
	r = pat.post("/new", v)
	if r.code != http.StatusInsufficientStorage {
		t.Fatalf("a patient's message on a full disk: %d\n%.800s", r.code, r.body)
	}
	mustContain(t, "the patient's refused message", r.body, "Not sent: please call the clinic", "Your message was NOT sent", "tel:", "(555) 201-0000",
		"Please call me back about my results")
	if strings.Contains(r.body, "/t/") || strings.Contains(r.body, "?sent=1") {
		t.Errorf("the refused message page links to a request as if it were sent:\n%.800s", r.body)
	}
	// A patient reading their own request writes nothing: it still opens.
	if r := pat.get("/t/" + sent); r.code != 200 || !strings.Contains(r.body, "Sent before the disk filled") {
		t.Fatalf("a patient's own request on a full disk: %d", r.code)
	}

	h := e.healthz()
	if h.Status != "degraded" || h.Fault != "storage_full" || !strings.Contains(h.Reason, "storage is full") || h.Since == nil {
		t.Fatalf("/healthz on a full disk: %+v", h)
	}
	var oh struct {
		Health healthAnswer `json:"health"`
	}
	owner.req("GET", "/api/v1/backup/status", nil).json(t, &oh)
	if oh.Health.Fault != "storage_full" {
		t.Errorf("the owner's status does not show the full disk: %+v", oh.Health)
	}

	// Space returns; once writes have gone through for a while, the
	// fault ends, and nothing refused was kept.
	clear()
	e.clock.Add(time.Minute)
	if r := owner.req("POST", "/api/v1/patients", map[string]string{"name": "After Space", "dob": "1980-01-02", "phone": "555-0100", "lang": "en"}); r.code != 201 {
		t.Fatalf("a write after space returned: %d %s", r.code, r.body)
	}
	if h := e.healthz(); h.Status != "ok" || h.Fault != "" {
		t.Fatalf("/healthz after space returned: %+v", h)
	}
	r = owner.req("GET", "/api/v1/items", nil)
	if r.code != 200 || strings.Count(r.body, `"patient_id"`) != 1 || !strings.Contains(r.body, sent) {
		t.Fatalf("want only the request sent before the disk filled: %d %.600s", r.code, r.body)
	}
}

// A disk that refuses a write (EIO) answers 503 storage_failed, and the
// patient page says NOT sent all the same.
func TestFailingDiskAnswers(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	pat, _ := e.patient(owner, "Ada Lovelace", "1970-06-15")
	newPage := pat.get("/new?type=message")
	e.failDisk(syscall.EIO)
	r := owner.req("POST", "/api/v1/patients", map[string]string{"name": "Canary Io", "dob": "1980-01-02", "phone": "555-0100", "lang": "en"})
	var ae apiError
	r.json(t, &ae)
	if r.code != http.StatusServiceUnavailable || ae.Code != "storage_failed" || !strings.Contains(ae.Msg, "disk refused a write") {
		t.Fatalf("a staff write on a failing disk: %d %s", r.code, r.body)
	}
	v := hiddenInputs(newPage.body)
	v.Set("type", "message")
	v.Set("body", "Hello")
	r = pat.post("/new", v)
	if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "Your message was NOT sent") {
		t.Fatalf("a patient's message on a failing disk: %d\n%.800s", r.code, r.body)
	}
	if h := e.healthz(); h.Status != "degraded" || h.Fault != "storage_failed" || !strings.Contains(h.Reason, "the disk refused a write") {
		t.Fatalf("/healthz on a failing disk: %+v", h)
	}
}
