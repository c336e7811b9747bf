package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"hearth/app/clinic"
)

// recorded is one request a patient's browser sent.
type recorded struct {
	method, path, ctype string
	body                []byte
}

// recorder is a browser transport that keeps a copy of every request.
type recorder struct {
	next http.RoundTripper
	reqs []recorded
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if err := r.Body.Close(); err != nil {
			return nil, err
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), body})
	return rec.next.RoundTrip(r)
}

// patientBSession signs patient B in on a recording browser and has B use
// every patient page there is: write (with a photo), open the thread and
// the file, reply, ask for a call-back, answer the closing question, read
// an appointment and its .ics and confirm it, turn reply emails on, and
// sign out a second device. It returns what was recorded, B's ids, and
// words of B's that no one else may see.
type patientB struct {
	reqs                []recorded
	id, item, appt, dev string
	secret              []string
}

func recordPatientB(t *testing.T, e *env, owner *user) patientB {
	t.Helper()
	pid := e.addPatient(owner, "Bruno Bianchi", "1980-02-02")
	b := e.anon()
	rec := &recorder{next: http.DefaultTransport}
	b.hc.Transport = rec
	code := e.invite(owner, pid, "")
	location(t, b.form("/i/"+code, "/i/"+code, url.Values{"dob": {"1980-02-02"}}), "/me")
	item, _ := b.send("message", url.Values{"body": {"Private: my biopsy result question"}})
	photo := e.sendPhoto(t, b)
	b.get(photo)
	if r := owner.req("POST", "/api/v1/items/"+item+"/messages", map[string]any{"body": "Your Bianchi biopsy was benign.", "internal": false}); r.code != 201 {
		t.Fatalf("staff reply: %d", r.code)
	}
	b.get("/t/" + item)
	location(t, b.form("/t/"+item, "/t/"+item+"/reply", url.Values{"body": {"Thanks about the biopsy"}}), "/t/"+item)
	b.form("/t/"+item, "/t/"+item+"/callback", url.Values{"phone": {"555-201-9876"}, "best_time": {"after 4 pm"}})
	if r := owner.req("POST", "/api/v1/items/"+item+"/status", map[string]any{"status": "closed"}); r.code != 200 {
		t.Fatalf("close: %d %s", r.code, r.body)
	}
	b.form("/t/"+item, "/t/"+item+"/feedback", url.Values{"answer": {"yes"}})
	r := owner.req("POST", "/api/v1/appointments", map[string]any{"patient_id": pid, "starts_at": e.clock.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339),
		"minutes": 20, "provider": "Dr Biopsyexpert", "reason": "Bianchi follow-up"})
	var ap struct{ Appointment struct{ ID string } }
	r.json(t, &ap)
	if r.code != 201 {
		t.Fatalf("appointment: %d %s", r.code, r.body)
	}
	home := b.get("/me")
	b.get("/a/" + ap.Appointment.ID + ".ics")
	b.post("/a/"+ap.Appointment.ID, url.Values{"csrf": {hiddenInputs(home.body).Get("csrf")}, "action": {"confirm"}})
	b.post("/me/email", url.Values{"csrf": {hiddenInputs(home.body).Get("csrf")}, "on": {"1"}})
	e.signIn(owner, pid, "1980-02-02", "") // a second device
	devs, err := e.c.Devices(context.Background(), clinic.Actor{Kind: clinic.ActorStaff}, pid)
	if err != nil || len(devs) != 2 {
		t.Fatalf("B's devices: %v %v", devs, err)
	}
	acc := b.get("/me/access")
	second := devs[0].ID
	if !strings.Contains(acc.body, "/me/devices/"+second+"/revoke") {
		second = devs[1].ID
	}
	b.post("/me/devices/"+second+"/revoke", url.Values{"csrf": {hiddenInputs(acc.body).Get("csrf")}})
	// B signs out a third device later: the replays must not do it.
	e.signIn(owner, pid, "1980-02-02", "")
	return patientB{reqs: rec.reqs, id: pid, item: item, appt: ap.Appointment.ID, dev: second,
		// Words only B's records hold: not ones B typed, which a replay
		// sends again as the replayer's own.
		secret: []string{"Bruno", "Bianchi", "Biopsyexpert", "benign"}}
}

// bState is what B's requests could change: the thread's length and
// fields, the appointment's answer, B's email choice and devices.
func bState(t *testing.T, e *env, owner *user, b patientB) string {
	t.Helper()
	var out strings.Builder
	r := owner.req("GET", "/api/v1/patients/"+b.id+"/items", nil)
	out.WriteString(regexp.MustCompile(`"(updated_at|seen)[^,]*,`).ReplaceAllString(r.body, ""))
	r = owner.req("GET", "/api/v1/items/"+b.item, nil)
	var it struct {
		Item     clinic.Item
		Messages []clinic.Message
	}
	r.json(t, &it)
	out.WriteString(it.Item.Status + it.Item.Feedback + string(rune('0'+len(it.Messages))))
	p, err := e.c.PatientOf(context.Background(), clinic.Actor{Kind: clinic.ActorPatient, ID: b.id, Patient: b.id})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := e.c.Devices(context.Background(), clinic.Actor{Kind: clinic.ActorStaff}, b.id)
	if err != nil {
		t.Fatal(err)
	}
	out.WriteString(strings.Repeat("d", len(devs)))
	if p.EmailReplies {
		out.WriteString("mail")
	}
	aps, err := e.c.PatientAppointments(context.Background(), clinic.Actor{Kind: clinic.ActorPatient, ID: b.id, Patient: b.id})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range aps {
		out.WriteString(a.ID + a.Status)
	}
	return out.String()
}

// replay sends every recorded request from u's browser, with u's own form
// token in place of B's, and hands each answer to check.
func replay(t *testing.T, u *user, reqs []recorded, check func(rq recorded, r resp)) {
	t.Helper()
	csrf := ""
	for _, c := range u.hc.Jar.Cookies(mustParse(u.e.srv.URL)) {
		if strings.Contains(c.Name, "csrf") {
			csrf = c.Value
		}
	}
	for _, rq := range reqs {
		body := rq.body
		ctype := rq.ctype
		if strings.HasPrefix(ctype, "application/x-www-form-urlencoded") {
			v, err := url.ParseQuery(string(body))
			if err != nil {
				t.Fatal(err)
			}
			v.Set("csrf", csrf)
			body = []byte(v.Encode())
		} else if strings.HasPrefix(ctype, "multipart/") {
			// The form token is inside the body: put u's in B's place.
			m := regexp.MustCompile(`name="csrf"\r\n\r\n([^\r]*)`).FindSubmatch(body)
			if m != nil {
				body = bytes.Replace(body, m[0], []byte("name=\"csrf\"\r\n\r\n"+csrf), 1)
			}
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(rq.method, u.e.srv.URL+rq.path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if rq.method == "POST" {
			req.Header.Set("Origin", u.e.srv.URL)
		}
		res, err := u.hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", rq.method, rq.path, err)
		}
		b, err := io.ReadAll(res.Body)
		if cerr := res.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		check(rq, resp{res.StatusCode, string(b), res.Header})
	}
}

// mentionsB reports whether a recorded request names one of B's records.
func mentionsB(rq recorded, b patientB, others ...string) bool {
	for _, id := range append([]string{b.item, b.appt, b.dev}, others...) {
		if strings.Contains(rq.path, id) {
			return true
		}
	}
	return strings.Contains(rq.path, "/f/")
}

// TestReplayEveryPatientBRequestAsA (checklist 25): every request patient
// B's browser sent while using every patient page (recorded, not picked
// by hand: GET, POST, the file, the .ics, the appointment answer, the
// device sign-out...) is sent again from patient A's signed-in browser
// with A's own form token. Each one that names one of B's records is 404;
// none shows any of B's words; and afterwards nothing of B's has changed.
// (Patients have no websocket: the staff socket refuses them, which
// TestWebsocketFrameMatrix asserts.)
func TestReplayEveryPatientBRequestAsA(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	b := recordPatientB(t, e, owner)
	a, _ := e.patient(owner, "Alice Anders", "1970-01-01")
	a.get("/me")
	before := bState(t, e, owner, b)
	named := 0
	replay(t, a, b.reqs, func(rq recorded, r resp) {
		what := rq.method + " " + rq.path
		mustNotContain(t, what+" as A", r.body, b.secret...)
		if mentionsB(rq, b) {
			named++
			if r.code != http.StatusNotFound {
				t.Errorf("%s as A: %d, want 404", what, r.code)
			}
		} else if r.code >= 500 {
			t.Errorf("%s as A: %d", what, r.code)
		}
	})
	if len(b.reqs) < 20 || named < 10 {
		t.Fatalf("only %d requests recorded, %d naming B's records", len(b.reqs), named)
	}
	if after := bState(t, e, owner, b); after != before {
		t.Errorf("replaying B's requests as A changed B's records:\n%s\n%s", before, after)
	}
}

// TestUnverifiedBrowsersReachOnlyTheirStep (checklist 29): browsers that
// hold a way in but have not given the birth date (an invite letter's
// page opened, a wrong birth date given, a contact's private link opened)
// and an unverified contact who wrote through the no-account form replay
// every request patient B's browser made. None of them sees a word of B's
// or changes anything of B's; the link-holders reach nothing but the
// verification step: each patient page sends them to sign in (or is not
// found), and the step itself still answers.
func TestUnverifiedBrowsersReachOnlyTheirStep(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	b := recordPatientB(t, e, owner)
	before := bState(t, e, owner, b)

	rosa := e.addPatient(owner, "Rosa Delgado", "1961-03-14")
	inviteHolder := e.anon()
	code := e.invite(owner, rosa, "")
	inviteHolder.get("/i/" + code)
	wrongDOB := e.anon()
	code2 := e.invite(owner, rosa, "")
	if r := wrongDOB.form("/i/"+code2, "/i/"+code2, url.Values{"dob": {"1961-03-15"}}); r.code != http.StatusBadRequest {
		t.Fatalf("wrong birth date: %d", r.code)
	}
	contact := e.anon()
	r := contact.form("/contact", "/contact", url.Values{"name": {"Cy Contact"}, "dob": {"1990-02-03"}, "phone": {"555-201-4455"}, "type": {"message"}, "body": {"Hello from Cy"}})
	m := linkRe.FindStringSubmatch(r.body)
	if r.code != 200 || m == nil {
		t.Fatalf("contact form: %d", r.code)
	}
	linkHolder := e.anon()
	linkHolder.get("/c/" + m[1])

	steps := map[*user]string{inviteHolder: "/i/" + code, wrongDOB: "/i/" + code2, linkHolder: "/c/" + m[1]}
	for name, u := range map[string]*user{"invite page opened": inviteHolder, "wrong birth date": wrongDOB, "private link opened": linkHolder, "unverified contact": contact} {
		step, holder := steps[u]
		replay(t, u, b.reqs, func(rq recorded, r resp) {
			what := rq.method + " " + rq.path + " as " + name
			mustNotContain(t, what, r.body, b.secret...)
			mustNotContain(t, what, r.body, "Rosa", "Delgado")
			if r.code >= 500 || r.code == http.StatusOK && mentionsB(rq, b) {
				t.Errorf("%s: %d", what, r.code)
			}
			public := rq.path == "/" || strings.HasPrefix(rq.path, "/i/") || strings.HasPrefix(rq.path, "/c/") || strings.HasPrefix(rq.path, "/l/")
			if !holder || public {
				return
			}
			// A patient page refuses a link-holder or sends them to sign in.
			loc := r.h.Get("Location")
			switch {
			case r.code == http.StatusUnauthorized || r.code == http.StatusForbidden || r.code == http.StatusNotFound:
			case r.code == http.StatusSeeOther && !strings.HasPrefix(loc, "/me") && !strings.HasPrefix(loc, "/t/") && !strings.HasPrefix(loc, "/f/") && !strings.HasPrefix(loc, "/a/") && !strings.HasPrefix(loc, "/new"):
			default:
				t.Errorf("%s: %d to %q, want a refusal or the way to sign in", what, r.code, loc)
			}
		})
		if holder {
			if r := u.get(step); r.code != http.StatusOK || !strings.Contains(r.body, `name="csrf"`) {
				t.Errorf("%s: the verification step %s no longer answers: %d", name, step, r.code)
			}
		}
	}
	if after := bState(t, e, owner, b); after != before {
		t.Errorf("the replays changed B's records:\n%s\n%s", before, after)
	}
}
