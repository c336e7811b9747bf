package web

import (
	"bytes"
	"image"
	"image/png"
	"mime/multipart"
	"regexp"
	"strings"
	"testing"
)

// TestFrontDeskNeverSeesClinicalBodies (checklist 31): an item in a queue
// the front desk does not work (here the clinical queue, where urgent
// wording puts it) never shows its words, its attachment or its fields to
// the front desk, through any GET route of the staff API: every route of
// the table is called with the item's, its file's and its patient's ids,
// and none of the answers holds the message text or the file. The direct
// ways in (the item, its chart copy, its file, a template on it) are
// refused, while a clinician reads it, so the test is not blind.
func TestFrontDeskNeverSeesClinicalBodies(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	fran := e.addStaff(owner, "Fran Front", "fran@maple.test", "frontdesk")
	cal := e.addStaff(owner, "Cal Clinician", "cal@maple.test", "clinician")
	pat, pid := e.patient(owner, "Ada Example", "1970-06-15")
	// The patient writes with a photo attached, in words that make it urgent.
	page := pat.get("/new?type=message")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range hiddenInputs(page.body) {
		if err := mw.WriteField(k, vs[0]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.WriteField("body", "Crushing chest pain since the Quetiapine canaryword dose"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("files", "chest.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(fw, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	loc := location(t, pat.req("POST", "/new", body.String(), "Content-Type", mw.FormDataContentType(), "Origin", e.srv.URL), "/t/")
	item := itemRe.FindStringSubmatch(loc)[1]
	m := regexp.MustCompile(`href="/f/([0-9a-f-]{36})"`).FindStringSubmatch(pat.get(loc).body)
	if m == nil {
		t.Fatal("no attachment on the thread")
	}
	fileID := m[1]
	var th struct {
		Item struct{ Queue string }
	}
	r := cal.req("GET", "/api/v1/items/"+item, nil)
	r.json(t, &th)
	if r.code != 200 || !strings.Contains(r.body, "canaryword") || th.Item.Queue == "frontdesk" {
		t.Fatalf("the clinician's view of the urgent item: %d queue %q", r.code, th.Item.Queue)
	}
	secret := []string{"canaryword", "Quetiapine", "Crushing chest pain"}
	param := regexp.MustCompile(`\{[a-z]+\}`)
	swept := 0
	for _, rt := range e.web.routeTable() {
		if rt.method != "GET" || rt.access.kind != "staff" || rt.pattern == "/api/v1/ws" {
			continue
		}
		paths := []string{rt.pattern}
		if strings.Contains(rt.pattern, "{") {
			paths = nil
			for _, id := range []string{item, fileID, pid} {
				paths = append(paths, param.ReplaceAllStringFunc(rt.pattern, func(p string) string {
					if p == "{tid}" {
						return "refill-sent"
					}
					return id
				}))
			}
		}
		for _, p := range paths {
			for _, q := range []string{"", "?queue=clinical", "?status=new"} {
				r := fran.req("GET", p+q, nil)
				swept++
				if r.code == 200 || r.code >= 400 {
					mustNotContain(t, "front desk GET "+p+q, r.body, secret...)
				}
				if r.code == 200 && strings.HasPrefix(r.h.Get("Content-Type"), "image/") {
					t.Errorf("front desk GET %s: the clinical item's photo", p+q)
				}
			}
		}
	}
	for _, p := range []string{"/api/v1/items/" + item, "/api/v1/items/" + item + "/chart", "/api/v1/files/" + fileID, "/api/v1/items/" + item + "/templates/refill-sent"} {
		if r := fran.req("GET", p, nil); r.code != 403 && r.code != 404 {
			t.Errorf("front desk GET %s: %d, want a refusal", p, r.code)
		}
	}
	if swept < 60 {
		t.Fatalf("only %d requests swept", swept)
	}
}
