package web

import (
	"bytes"
	"testing"
)

// TestFiftyMegabyteBodyIs413Unread: a 50 MB JSON body to the staff API,
// declared up front or sent chunked, is answered 413 by the body limit
// (http.MaxBytesReader), and the server stops reading it: it reads a few
// megabytes at most, never the fifty.
func TestFiftyMegabyteBodyIs413Unread(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	const size = 50 << 20
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	for _, declared := range []int64{size, -1} {
		s := e.serverWith(t, Options{})
		f := startForm(t, owner.hc, s.URL+"/api/v1/patients", declared, "application/json", "X-CSRF-Token", owner.csrf)
		sent := 0
		if f.raw([]byte(`{"name":"`)) {
			for sent < size-len(chunk) && f.raw(chunk) {
				sent += len(chunk)
			}
		}
		r, ok := f.answered(0)
		if !ok {
			// The body went out whole (the kernel buffered what the
			// server did not read): end it and take the answer.
			f.raw(bytes.Repeat([]byte("a"), size-sent-len(`{"name":"`)))
			r = f.finish()
		}
		if r.code != 413 {
			t.Errorf("50 MB body (declared %d): %d %.200s", declared, r.code, r.body)
		}
		if n := s.read.Load(); n > 8<<20 {
			t.Errorf("50 MB body (declared %d): the server read %d bytes of it", declared, n)
		}
		f.abandon()
	}
}
