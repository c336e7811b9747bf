package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"hearth/app/clinic"
)

// The decoders of what callers send: the staff API's JSON bodies and the
// patient forms' multipart reader. `go test` runs the seeds; .ci/run
// fuzzes each for a bounded time.

// FuzzDecodeJSON: any body decodes into a staff API input or is refused
// with a 4xx error that does not echo the body's values.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"body":"Hello","internal":false}`,
		`{"body":"\u202e\u0000\u200b","internal":true}`,
		`{"name":"Ada Example","dob":"1970-06-15","phone":"555-0100","email":"a@example.test","lang":"en"}`,
		`{"body":"x","role":"owner"}`,
		`{"body":1}`,
		`{"body":"x"}{"body":"y"}`,
		`[`, ``, `null`, `{"body":"` + strings.Repeat("\u0301", 1000) + `"}`,
		"{\"body\":\"\xff\xfe\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decode := func(v any) error {
			r := httptest.NewRequest("POST", "/api/v1/items/x/messages", bytes.NewReader(b))
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<20)
			return decodeJSON(r, v)
		}
		var msg struct {
			Body     string `json:"body"`
			Internal bool   `json:"internal"`
		}
		var pat struct {
			Name  string `json:"name"`
			DOB   string `json:"dob"`
			Phone string `json:"phone"`
			Email string `json:"email"`
			Lang  string `json:"lang"`
		}
		for _, v := range []any{&msg, &pat} {
			err := decode(v)
			if err == nil {
				if _, err := json.Marshal(v); err != nil {
					t.Fatalf("decoded into something that does not encode: %v", err)
				}
				continue
			}
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("decodeJSON returned a bare error: %v", err)
			}
			if ae.Status < 400 || ae.Status >= 500 {
				t.Fatalf("a bad body answered %d", ae.Status)
			}
		}
		// What decoded is plain data: JSON decoding never hands on
		// invalid UTF-8, so nothing downstream sees it from here.
		if !utf8.ValidString(msg.Body) || !utf8.ValidString(pat.Name) {
			t.Fatal("decoded invalid UTF-8")
		}
	})
}

// multipartSeed is a patient form with the csrf field first and a file.
func multipartSeed(boundary string, fields [][2]string, file []byte) []byte {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundary); err != nil {
		panic(err)
	}
	for _, kv := range fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			panic(err)
		}
	}
	if file != nil {
		w, err := mw.CreateFormFile("files", "photo.png")
		if err != nil {
			panic(err)
		}
		if _, err := w.Write(file); err != nil {
			panic(err)
		}
	}
	if err := mw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// FuzzReadMultipart: the patient forms' streaming multipart reader takes
// any body without a panic, keeps within its limits (text, file count and
// size), never takes a file before the csrf field matched, and gives back
// its in-flight reservation.
func FuzzReadMultipart(f *testing.F) {
	const b = "XyZzY"
	f.Add(b, multipartSeed(b, [][2]string{{"csrf", "tok"}, {"body", "Hello"}}, []byte("\x89PNG\r\n")), true)
	f.Add(b, multipartSeed(b, [][2]string{{"body", "no csrf first"}}, []byte("x")), true)
	f.Add(b, multipartSeed(b, [][2]string{{"csrf", "wrong"}}, []byte("x")), true)
	f.Add(b, multipartSeed(b, [][2]string{{"csrf", "tok"}, {"body", "\u202e\x00\u200b"}}, []byte("x")), false)
	f.Add(b, multipartSeed(b, [][2]string{{"csrf", "tok"}}, nil)[:40], true)
	f.Add("", []byte("--\r\n"), true)
	f.Add(b, []byte("--XyZzY\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n--XyZzY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"../../x\r\n\"\r\n\r\nhi\r\n--XyZzY--\r\n"), true)
	f.Fuzz(func(t *testing.T, boundary string, body []byte, signedIn bool) {
		s := &Server{uploads: newUploadGate(Limits{})}
		r := httptest.NewRequest("POST", "/new", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		r.AddCookie(&http.Cookie{Name: csrfCookieName, Value: "tok"})
		w := httptest.NewRecorder()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody(r))
		pc := &pctx{s: s, w: w, r: r}
		if signedIn {
			pc.sess.actor = clinic.Actor{Kind: clinic.ActorPatient}
		}
		err := pc.readMultipart()
		files, fileErr := pc.uploads()
		pc.mp.done()
		if s.uploads.n != 0 || s.uploads.bytes != 0 || len(s.uploads.client) != 0 {
			t.Fatalf("the in-flight reservation was not given back: %d requests, %d bytes", s.uploads.n, s.uploads.bytes)
		}
		if len(files) > 0 {
			if err != nil {
				t.Fatalf("files kept with an error: %v", err)
			}
			if !signedIn {
				t.Fatal("a file was read for a visitor who is not signed in")
			}
			if r.PostForm.Get("csrf") != "tok" {
				t.Fatal("a file was read without the matching csrf field")
			}
		}
		if len(files) > clinic.MaxAttachments {
			t.Fatalf("%d files kept", len(files))
		}
		for _, fl := range files {
			if len(fl.Data) > clinic.MaxAttachmentSize {
				t.Fatalf("a %d-byte file kept", len(fl.Data))
			}
		}
		if fileErr != nil && len(files) > clinic.MaxAttachments {
			t.Fatal("files over the limit kept beside their error")
		}
		text := 0
		for _, vs := range r.PostForm {
			for _, v := range vs {
				text += len(v)
			}
		}
		if text > maxFormText {
			t.Fatalf("%d bytes of text kept", text)
		}
	})
}
