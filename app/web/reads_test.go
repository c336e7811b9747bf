package web

import (
	"context"
	"strings"
	"testing"

	"hearth/app/store"
)

// An attachment that is missing is a 404; one that is there but cannot be
// read (a damaged record, a key that does not open it, a database error)
// is the catalogue's 500 with a reference, never a "no such file".
func TestAttachmentReadFailureIs500(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	link := e.sendPhoto(t, u)
	id := strings.TrimPrefix(link, "/f/")
	api := "/api/v1/files/" + id

	const missing = "0b6f3c1e-2d4a-4f5b-9c8d-7e6f5a4b3c2d"
	if r := u.get("/f/" + missing); r.code != 404 {
		t.Fatalf("patient, missing file: %d", r.code)
	}
	if r := owner.req("GET", "/api/v1/files/"+missing, nil); r.code != 404 || !strings.Contains(r.body, `"not_found"`) {
		t.Fatalf("staff, missing file: %d %s", r.code, r.body)
	}

	check := func(why string) {
		t.Helper()
		r := u.get(link)
		if r.code != 500 || !strings.Contains(r.body, "Something went wrong on our side (reference ") || strings.Contains(r.body, "PNG") {
			t.Errorf("patient, %s: %d %.300s", why, r.code, r.body)
		}
		r = owner.req("GET", api, nil)
		var ae struct{ Code, Error string }
		r.json(t, &ae)
		if r.code != 500 || ae.Code != "internal" || !strings.HasPrefix(ae.Error, "Something went wrong on our side (reference ") {
			t.Errorf("staff, %s: %d %s", why, r.code, r.body)
		}
	}

	// A database that cannot read the files bucket.
	files := "files"
	e.faults.broken.Store(&files)
	check("unreadable bucket")
	e.faults.broken.Store(nil)
	if r := u.get(link); r.code != 200 {
		t.Fatalf("patient, after the fault: %d", r.code)
	}

	// A record the keys do not open.
	if err := e.st.Update(context.Background(), func(tx store.Tx) error {
		return tx.Put("files", id, []byte("not a sealed record"))
	}); err != nil {
		t.Fatal(err)
	}
	check("damaged record")
}

// Every read of patient data writes its audit event or the read fails.
func TestReadsFailWithoutTheirAuditEvent(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	api := "/api/v1/files/" + strings.TrimPrefix(e.sendPhoto(t, u), "/f/")
	export := "/api/v1/audit?format=csv"

	e.faults.failAudit.Store(true)
	if r := owner.req("GET", api, nil); r.code != 500 || !strings.Contains(r.body, `"internal"`) || r.h.Get("Content-Type") == "image/png" {
		t.Errorf("staff download without its audit event: %d %.200s", r.code, r.body)
	}
	if r := owner.req("GET", export, nil); r.code != 500 || !strings.Contains(r.body, `"internal"`) || strings.Contains(r.body, "time_utc") {
		t.Errorf("audit export without its audit event: %d %.200s", r.code, r.body)
	}
	e.faults.failAudit.Store(false)

	if r := owner.req("GET", api, nil); r.code != 200 || r.h.Get("Content-Type") != "image/png" {
		t.Fatalf("staff download: %d", r.code)
	}
	if r := owner.req("GET", export, nil); r.code != 200 || !strings.HasPrefix(r.body, "seq,time_utc,") {
		t.Fatalf("audit export: %d %.200s", r.code, r.body)
	}
	var list struct {
		Events []struct{ Action, Object string }
	}
	r := owner.req("GET", "/api/v1/audit?order=desc&limit=20", nil)
	r.json(t, &list)
	reads, exports := 0, 0
	for _, ev := range list.Events {
		switch ev.Action {
		case "file.read":
			reads++
		case "audit.export":
			exports++
		}
	}
	if reads != 1 || exports != 1 {
		t.Fatalf("audit log: %d file reads and %d exports, want one each (the failed ones left none): %+v", reads, exports, list.Events)
	}
}
