package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hearth/app/clinic"
	"hearth/app/clinic/clinictest"
	"hearth/app/realtime"
	"hearth/app/store"
	"log/slog"
)

// env is a real server on a real store and real keys.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	web   *Server
	c     *clinic.Clinic
	clock *clinictest.Clock
	hub   *realtime.Hub
	log   *bytes.Buffer
	fx    *clinictest.Env
	st    store.Store
	files fs.FS
	// faults sits between the clinic and st: tests make its writes fail.
	faults *faultStore
}

const ownerEmail, ownerPass = "owner@maple.test", "Owner-Password-123"

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, clinic.Argon2Params{}, Limits{})
}

// newEnvWith is newEnv with password hashes of the given cost and the
// given write budgets (zero: the defaults).
func newEnvWith(t *testing.T, argon clinic.Argon2Params, limits Limits) *env {
	t.Helper()
	ck := clinictest.NewClock(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC))
	fx := clinictest.NewEnv(t, clinictest.Options{Now: ck.Now})
	faults := &faultStore{Store: fx.Store}
	logBuf := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: logBuf}, nil))
	hub := realtime.NewHub(log)
	files := clinictest.Embed()
	c := fx.Open(t, clinic.Deps{Store: faults, Log: log, Events: hub, Files: files, Argon2: argon})
	hub.SetSource(c)
	hub.SetQueueOf(c.ItemQueue)
	clinictest.Setup(t, c, clinic.SetupInput{ClinicName: "Maple Street Family Clinic", OwnerName: "Olive Owner", OwnerEmail: ownerEmail, Password: ownerPass})
	w, err := New(Options{Clinic: c, Hub: hub, Files: files, Log: log, Version: "test", Addr: "127.0.0.1:0", Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, web: w, c: c, clock: ck, hub: hub, log: logBuf, fx: fx, st: fx.Store, files: files, faults: faults}
}

// faultStore passes everything to the real store, except that while
// failAudit is set any write to an audit bucket fails (and with it the
// transaction that carries it), while broken names a bucket every read
// of a record in it fails as a damaged database would, and while commitErr
// is set every commit fails with it (a full or failing disk).
type faultStore struct {
	store.Store
	failAudit atomic.Bool
	broken    atomic.Pointer[string]
	commitErr atomic.Pointer[error]
}

var (
	errAuditRefused = errors.New("test: audit write refused")
	errBrokenBucket = errors.New("test: bucket unreadable")
)

func (f *faultStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Update(ctx, func(tx store.Tx) error {
		if err := fn(faultTx{tx, f}); err != nil {
			return err
		}
		if e := f.commitErr.Load(); e != nil {
			return *e
		}
		return nil
	})
}

func (f *faultStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.View(ctx, func(tx store.Tx) error { return fn(faultTx{tx, f}) })
}

type faultTx struct {
	store.Tx
	f *faultStore
}

func (t faultTx) Put(bucket, id string, value []byte) error {
	if t.f.failAudit.Load() && strings.HasPrefix(bucket, "audit") {
		return errAuditRefused
	}
	return t.Tx.Put(bucket, id, value)
}

func (t faultTx) Get(bucket, id string) ([]byte, error) {
	if b := t.f.broken.Load(); b != nil && *b == bucket {
		return nil, errBrokenBucket
	}
	return t.Tx.Get(bucket, id)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// user is one browser.
type user struct {
	e    *env
	hc   *http.Client
	csrf string
	id   string
}

func (e *env) anon() *user {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &user{e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	code int
	body string
	h    http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("not JSON (%d): %v: %.200s", r.code, err, r.body)
	}
}

// req sends a request; body may be a string (sent as is) or a value (JSON).
func (u *user) req(method, path string, body any, hdr ...string) resp {
	u.e.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
		ctype = "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			u.e.t.Fatalf("%s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, u.e.srv.URL+path, rd)
	if err != nil {
		u.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	r.Header.Set("Content-Type", ctype)
	if u.csrf != "" {
		r.Header.Set("X-CSRF-Token", u.csrf)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := u.hc.Do(r)
	if err != nil {
		u.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(res.Body)
	if cerr := res.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		u.e.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp{res.StatusCode, string(b), res.Header}
}

func (e *env) login(email, password string) *user {
	e.t.Helper()
	u := e.anon()
	r := u.req("POST", "/api/v1/login", map[string]string{"email": email, "password": password})
	if r.code != 200 {
		e.t.Fatalf("login %s: %d %s", email, r.code, r.body)
	}
	var out struct {
		CSRF  string `json:"csrf"`
		Staff struct{ ID string }
	}
	r.json(e.t, &out)
	u.csrf, u.id = out.CSRF, out.Staff.ID
	return u
}

func (e *env) owner() *user { return e.login(ownerEmail, ownerPass) }

// addStaff creates an account and signs it in.
func (e *env) addStaff(owner *user, name, email, role string) *user {
	e.t.Helper()
	r := owner.req("POST", "/api/v1/staff", map[string]string{"name": name, "email": email, "role": role, "password": "Temporary-Password-" + role})
	if r.code != 201 {
		e.t.Fatalf("add staff: %d %s", r.code, r.body)
	}
	// The owner's choice of password must be replaced at first sign-in.
	u := e.login(email, "Temporary-Password-"+role)
	if r := u.req("GET", "/api/v1/staff", nil); r.code != 403 {
		e.t.Fatalf("a new account worked before changing the owner's password: %d", r.code)
	}
	if r := u.req("POST", "/api/v1/me/password", map[string]string{"current": "Temporary-Password-" + role, "new": "Staff-Password-" + role}); r.code != 200 {
		e.t.Fatalf("first password change: %d %s", r.code, r.body)
	}
	return u
}

func (e *env) addPatient(u *user, name, dob string) string {
	e.t.Helper()
	// Tests that make the same patient twice mean two records (duplicate
	// refusal has its own tests).
	r := u.req("POST", "/api/v1/patients", map[string]any{"name": name, "dob": dob, "phone": "555-201-3344", "lang": "en", "confirm_duplicate": true})
	if r.code != 201 {
		e.t.Fatalf("add patient: %d %s", r.code, r.body)
	}
	var out struct{ ID string }
	r.json(e.t, &out)
	return out.ID
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err) // the tests pass only the test server's own URL
	}
	return u
}
