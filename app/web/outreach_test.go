package web

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"hearth/app/clinic"
	"hearth/app/mail"
	"hearth/app/mail/mailtest"
)

// mailOn points the clinic at a real local SMTP server.
func (e *env) mailOn(owner *user) *mailtest.Server {
	e.t.Helper()
	srv, _ := mailtest.Start(e.t, "", "")
	r := owner.req("PUT", "/api/v1/settings", map[string]any{"smtp_host": "127.0.0.1", "smtp_port": srv.Port(), "smtp_mode": "none",
		"mail_from": "front@maple.example", "public_url": "https://portal.maple.example"})
	if r.code != 200 {
		e.t.Fatalf("mail settings: %d %s", r.code, r.body)
	}
	return srv
}

// sendMail runs the outbox once, as the server's loop does every 5 s.
func (e *env) sendMail() int {
	e.t.Helper()
	n, err := e.c.SendDueMail(context.Background(), mail.Send)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestConversationReachesPatientAndReplyComesBack(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	srv := e.mailOn(owner)
	pid := e.addPatientEmail(owner, "Rosa Delgado", "1961-03-14", "rosa@example.com")
	u := e.signIn(owner, pid, "1961-03-14", "")
	location(t, u.form("/me", "/me/email", url.Values{"on": {"1"}}), "/me")

	// Bad input: each problem named by its field.
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"type": "results", "subject": "Your results", "body": "  "}, "body"},
		{map[string]any{"type": "gossip", "subject": "Hi", "body": "Hello"}, "type"},
		{map[string]any{"type": "message", "subject": "", "body": "Hello"}, "subject"},
		{map[string]any{"type": "message", "subject": "Hi", "body": "Hello", "send_at": "2026-11-01T09:00:00Z"}, "send_at"},
	} {
		r := owner.req("POST", "/api/v1/patients/"+pid+"/conversations", c.body)
		if r.code != 400 || !strings.Contains(r.body, `"field":"`+c.field+`"`) {
			t.Errorf("%v: %d %s", c.body, r.code, r.body)
		}
	}

	if r := owner.req("GET", "/api/v1/patients/"+pid+"/channels", nil); r.code != 200 || !strings.Contains(r.body, `"channels":["email"]`) {
		t.Fatalf("channels: %d %s", r.code, r.body)
	}
	r := owner.req("POST", "/api/v1/patients/"+pid+"/conversations", map[string]any{"type": "results", "subject": "Your results are in",
		"body": "Your cholesterol results are back. Please book a visit to go over them."})
	if r.code != 201 {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	var res struct {
		ID       string
		Channels []string
	}
	r.json(t, &res)
	if len(res.Channels) != 1 || res.Channels[0] != "email" {
		t.Fatalf("channels: %v", res.Channels)
	}
	// The inbox holds it, owned by the writer, waiting for the patient.
	var view struct {
		Item struct {
			Status, Assignee string
			Due              time.Time
			Outreach         *struct {
				Kind   string
				ReadAt time.Time `json:"read_at"`
			}
		}
		Messages []struct{ Kind, Body string }
	}
	owner.req("GET", "/api/v1/items/"+res.ID, nil).json(t, &view)
	if view.Item.Status != "waiting" || view.Item.Outreach == nil || view.Item.Outreach.Kind != "results" || !view.Item.Outreach.ReadAt.IsZero() {
		t.Fatalf("item: %+v", view.Item)
	}

	// The patient is told with no PHI: the clinic's name and the link.
	if n := e.sendMail(); n != 1 {
		t.Fatalf("sent %d emails", n)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
	mustContain(t, "email", got[0], "Maple Street Family Clinic has a message for you", "https://portal.maple.example/t/"+res.ID)
	for _, phi := range []string{"Rosa", "Delgado", "1961", "cholesterol", "results"} {
		if strings.Contains(got[0], phi) {
			t.Errorf("the email carries %q", phi)
		}
	}

	// Unread on /me; opening it is the read receipt staff see.
	mustContain(t, "/me", u.get("/me").body, "Your results are in", ">New<", "Message from the clinic", "The clinic wrote to you.")
	mustContain(t, "/t", u.get("/t/"+res.ID).body, "Your cholesterol results are back")
	if strings.Contains(u.get("/me").body, ">New<") {
		t.Error("still unread after opening it")
	}
	owner.req("GET", "/api/v1/items/"+res.ID, nil).json(t, &view)
	if view.Item.Outreach.ReadAt.IsZero() {
		t.Fatal("no read receipt")
	}

	// The reply lands in the same item, open again, with a due time.
	location(t, u.form("/t/"+res.ID, "/t/"+res.ID+"/reply", url.Values{"body": {"Thank you, I will call to book."}}), "/t/"+res.ID)
	owner.req("GET", "/api/v1/items/"+res.ID, nil).json(t, &view)
	if view.Item.Status != "open" || len(view.Messages) != 2 || view.Messages[1].Body != "Thank you, I will call to book." {
		t.Fatalf("after the reply: %+v %+v", view.Item, view.Messages)
	}
	if view.Item.Due.After(e.clock.Now().Add(7 * 24 * time.Hour)) {
		t.Fatalf("the reply has no working due time: %v", view.Item.Due)
	}

	// Written for later: nothing until the time, then exactly once.
	r = owner.req("POST", "/api/v1/patients/"+pid+"/conversations", map[string]any{"type": "recall", "subject": "Time for your yearly check-up",
		"body": "It has been a year. Please book your check-up.", "send_local": "2026-11-26T09:00"})
	var sched struct {
		ID        string
		Scheduled bool
	}
	r.json(t, &sched)
	if r.code != 201 || !sched.Scheduled {
		t.Fatalf("schedule: %d %s", r.code, r.body)
	}
	if err := e.c.EveryMinute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u.get("/me").body, "yearly check-up") {
		t.Fatal("a scheduled conversation showed before its time")
	}
	e.clock.Add(48 * time.Hour)
	for range 2 {
		if err := e.c.EveryMinute(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(u.get("/me").body, "Time for your yearly check-up"); n != 1 {
		t.Fatalf("the scheduled conversation shows %d times", n)
	}
	if r := e.owner().req("GET", "/api/v1/items/"+sched.ID, nil); r.code != 200 {
		t.Fatalf("the scheduled conversation's item: %d", r.code)
	}
}

var ackLinkRe = regexp.MustCompile(`https://portal\.maple\.example(/oncall/[0-9a-f-]{36}/[A-Za-z0-9_-]+)`)

func TestUrgentAfterHoursPagesOnCallAndEscalates(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	srv := e.mailOn(owner)
	e.addStaff(owner, "Dr. Casey Park", "casey@maple.test", "clinician")
	var staff struct{ Staff []struct{ ID, Email string } }
	owner.req("GET", "/api/v1/staff", nil).json(t, &staff)
	casey := ""
	for _, s := range staff.Staff {
		if s.Email == "casey@maple.test" {
			casey = s.ID
		}
	}
	if casey == "" {
		t.Fatalf("no clinician in %+v", staff)
	}
	all := []int{0, 1, 2, 3, 4, 5, 6}
	for _, c := range []struct {
		rota  []map[string]any
		field string
	}{
		{[]map[string]any{{"staff_id": casey, "days": all, "from": "17:00", "to": "17:00"}}, "rota.0.to"},
		{[]map[string]any{{"staff_id": "nobody", "days": all, "from": "00:00", "to": "24:00"}}, "rota.0.staff_id"},
		{[]map[string]any{{"staff_id": casey, "phone": "12", "days": all, "from": "00:00", "to": "24:00"}}, "rota.0.phone"},
		{[]map[string]any{{"staff_id": casey, "days": []int{}, "from": "00:00", "to": "24:00"}}, "rota.0.days"},
		{[]map[string]any{{"staff_id": casey, "days": all, "from": "00:00", "to": "12:00"},
			{"staff_id": casey, "days": []int{2}, "from": "11:00", "to": "24:00"}}, "rota.1.from"},
	} {
		r := owner.req("PUT", "/api/v1/oncall", map[string]any{"rota": c.rota, "escalate_minutes": 15})
		if r.code != 400 || !strings.Contains(r.body, `"field":"`+c.field+`"`) {
			t.Errorf("%v: %d %s", c.rota, r.code, r.body)
		}
	}
	r := owner.req("PUT", "/api/v1/oncall", map[string]any{"rota": []map[string]any{
		{"staff_id": casey, "phone": "555-201-3344", "days": all, "from": "00:00", "to": "24:00"}}, "escalate_minutes": 15})
	if r.code != 200 {
		t.Fatalf("rota: %d %s", r.code, r.body)
	}
	if r := e.login("casey@maple.test", "Staff-Password-clinician").req("PUT", "/api/v1/oncall", map[string]any{"rota": []any{}}); r.code != 403 {
		t.Fatalf("a clinician changed the rota: %d", r.code)
	}

	// Tuesday 22:00 in New York: closed.
	e.clock.Set(time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC))
	owner = e.owner()
	u, _ := e.patient(owner, "Rosa Delgado", "1961-03-14")
	// Not urgent: nobody is paged, and the patient is not told anyone was.
	_, ack := u.send("message", url.Values{"body": {"A question about my bill when you open."}})
	if strings.Contains(ack.body, "on-call") {
		t.Fatal("a non-urgent request claims a page")
	}
	if n := e.sendMail(); n != 0 {
		t.Fatalf("a non-urgent request sent %d emails", n)
	}
	id, ack := u.send("message", url.Values{"body": {"I have chest pain since dinner and my left arm is numb."}})
	mustContain(t, "acknowledgement", ack.body, "The on-call clinician has been alerted.")
	if i, j := strings.Index(ack.body, "911"), strings.Index(ack.body, "on-call clinician"); i < 0 || i > j {
		t.Error("the emergency guidance does not come first")
	}
	start := time.Now()
	if n := e.sendMail(); n != 1 || time.Since(start) > 10*time.Second {
		t.Fatalf("page: %d emails in %v", n, time.Since(start))
	}
	page := srv.Messages()[0]
	mustContain(t, "page", page, "To: casey@maple.test", "Urgent request waiting in Hearth", "https://portal.maple.example/staff/#/inbox/"+id)
	for _, phi := range []string{"Rosa", "Delgado", "1961", "03-14", "chest", "arm"} {
		if strings.Contains(page, phi) {
			t.Errorf("the page carries %q", phi)
		}
	}
	// Nobody took it within 15 minutes: the next in line, the owner.
	e.clock.Add(10 * time.Minute)
	if err := e.c.EveryMinute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.sendMail(); n != 0 {
		t.Fatalf("escalated early: %d", n)
	}
	e.clock.Add(6 * time.Minute)
	if err := e.c.EveryMinute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.sendMail(); n != 1 {
		t.Fatalf("escalation sent %d", n)
	}
	second := srv.Messages()[1]
	mustContain(t, "escalation", second, "To: "+ownerEmail, "Urgent request waiting in Hearth")
	m := ackLinkRe.FindStringSubmatch(strings.ReplaceAll(second, "=\r\n", ""))
	if m == nil {
		t.Fatalf("no ack link in %q", second)
	}
	// The link shows a button; the button takes it (once).
	v := e.anon()
	mustContain(t, "ack page", v.get(m[1]).body, "I&#39;ve got it")
	if r := v.form(m[1], m[1], nil); r.code != 200 || !strings.Contains(r.body, "it is yours") {
		t.Fatalf("ack: %d %.300s", r.code, r.body)
	}
	// The first person's own link, later: somebody already has it.
	first := ackLinkRe.FindStringSubmatch(strings.ReplaceAll(page, "=\r\n", ""))
	if first == nil || first[1] == m[1] {
		t.Fatalf("the first page has no link of its own: %v", first)
	}
	if r := v.form(first[1], first[1], nil); r.code != 200 || !strings.Contains(r.body, "Someone already has it.") {
		t.Fatalf("a spent link: %d %.300s", r.code, r.body)
	}
	e.clock.Add(time.Hour)
	if err := e.c.EveryMinute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.sendMail(); n != 0 {
		t.Fatalf("paged again after it was taken: %d", n)
	}
	var view struct {
		Messages []struct {
			Kind, Body string
			Author     string `json:"author_id"`
		}
	}
	e.owner().req("GET", "/api/v1/items/"+id, nil).json(t, &view)
	var lines []string
	for _, msg := range view.Messages {
		if strings.HasPrefix(msg.Body, "oncall.") {
			lines = append(lines, msg.Body)
		}
	}
	if strings.Join(lines, ",") != "oncall.paged,oncall.paged,oncall.ack" {
		t.Fatalf("timeline: %v", lines)
	}
}

func TestNoticeToTomorrowsPatients(t *testing.T) {
	e := newEnv(t)
	owner := e.owner()
	e.mailOn(owner)
	ctx := context.Background()
	optIn := func(pid string) {
		t.Helper()
		if err := e.c.SetEmailReplies(ctx, clinic.Actor{Kind: clinic.ActorPatient, ID: pid, Patient: pid}, true); err != nil {
			t.Fatal(err)
		}
	}
	book := func(pid, at string) string {
		t.Helper()
		r := owner.req("POST", "/api/v1/appointments", map[string]any{"patient_id": pid, "starts_at": at, "minutes": 20, "provider": "Dr. Lee"})
		if r.code != 201 {
			t.Fatalf("book: %d %s", r.code, r.body)
		}
		var out struct{ ID string }
		r.json(t, &out)
		return out.ID
	}
	rosa := e.addPatientEmail(owner, "Rosa Delgado", "1961-03-14", "rosa@example.com")
	optIn(rosa)
	r := owner.req("POST", "/api/v1/patients", map[string]string{"name": "Luis Ortega", "dob": "1970-05-06", "email": "luis@example.com", "lang": "es"})
	var luisOut struct{ ID string }
	r.json(t, &luisOut)
	luis := luisOut.ID
	optIn(luis)
	ann := e.addPatient(owner, "Ann Nophone", "1950-01-02")
	later := e.addPatient(owner, "Lee Later", "1980-02-03")
	// Tomorrow (Wednesday 25 November, clinic time): three patients.
	book(rosa, "2026-11-25T14:00:00Z")
	book(luis, "2026-11-25T15:00:00Z")
	book(ann, "2026-11-25T20:00:00Z")
	book(later, "2026-11-26T14:00:00Z")

	notice := map[string]any{"appointments_on": "2026-11-25", "subject": "Parking lot closed tomorrow",
		"body": "The parking lot is closed tomorrow. Please park on Elm Street.",
		"translations": map[string]any{"es": map[string]string{"subject": "Estacionamiento cerrado mañana",
			"body": "El estacionamiento está cerrado mañana. Estacione en la calle Elm."}}}
	for _, c := range []struct {
		change map[string]any
		field  string
	}{
		{map[string]any{"appointments_on": "2026-12-20"}, "recipients"},
		{map[string]any{"body": " "}, "body"},
		{map[string]any{"appointments_on": ""}, "recipients"},
	} {
		in := map[string]any{}
		for k, v := range notice {
			in[k] = v
		}
		for k, v := range c.change {
			in[k] = v
		}
		if r := owner.req("POST", "/api/v1/notices", in); r.code != 400 || !strings.Contains(r.body, `"field":"`+c.field+`"`) {
			t.Errorf("%v: %d %s", c.change, r.code, r.body)
		}
	}
	var pv struct {
		ID         string
		Recipients int
		Renderings []struct {
			Lang, Subject, Body string
			Count               int
			EmailSubject        string `json:"email_subject"`
		}
		NoChannel []struct{ Name, DOB string } `json:"no_channel"`
	}
	r = owner.req("POST", "/api/v1/notices", notice)
	if r.code != 200 {
		t.Fatalf("preview: %d %s", r.code, r.body)
	}
	r.json(t, &pv)
	if pv.Recipients != 3 || len(pv.Renderings) != 2 || pv.Renderings[0].Lang != "en" || pv.Renderings[0].Count != 2 ||
		pv.Renderings[1].Lang != "es" || pv.Renderings[1].Count != 1 || !strings.Contains(pv.Renderings[1].EmailSubject, "tiene un mensaje") ||
		len(pv.NoChannel) != 1 || pv.NoChannel[0].Name != "Ann Nophone" || pv.ID != "" {
		t.Fatalf("preview: %s", r.body)
	}
	notice["send"] = true
	r = owner.req("POST", "/api/v1/notices", notice)
	if r.code != 201 {
		t.Fatalf("send: %d %s", r.code, r.body)
	}
	r.json(t, &pv)
	var rep struct {
		Done                                      bool
		Made, Delivered, Read, Failed, Recipients int
		NeedCall                                  int `json:"need_call"`
		Rows                                      []struct {
			Name     string
			ItemID   string `json:"item_id"`
			State    string
			NeedCall bool `json:"need_call"`
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !rep.Done && time.Now().Before(deadline) {
		owner.req("GET", "/api/v1/notices/"+pv.ID, nil).json(t, &rep)
		time.Sleep(20 * time.Millisecond)
	}
	if !rep.Done || rep.Made != 3 || rep.NeedCall != 1 {
		t.Fatalf("report: %+v", rep)
	}
	for _, pid := range []string{rosa, luis, ann, later} {
		items, err := e.c.PatientItems(ctx, clinic.Actor{Kind: clinic.ActorPatient, ID: pid, Patient: pid})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, it := range items {
			if it.Outreach != nil && it.Outreach.NoticeID == pv.ID {
				n++
				if pid == luis && it.Subject != "Estacionamiento cerrado mañana" {
					t.Errorf("Luis got %q", it.Subject)
				}
			}
		}
		if want := map[bool]int{true: 0, false: 1}[pid == later]; n != want {
			t.Errorf("patient %s has %d conversations of the notice, want %d", pid, n, want)
		}
	}
	if n := e.sendMail(); n != 2 {
		t.Fatalf("sent %d", n)
	}
	owner.req("GET", "/api/v1/notices/"+pv.ID, nil).json(t, &rep)
	if rep.Delivered != 2 || rep.NeedCall != 1 {
		t.Fatalf("report after sending: %+v", rep)
	}
	var list struct{ Notices []struct{ ID string } }
	owner.req("GET", "/api/v1/notices", nil).json(t, &list)
	if len(list.Notices) != 1 || list.Notices[0].ID != pv.ID {
		t.Fatalf("list: %+v", list)
	}

	// Over 50 recipients, the count must be typed back.
	var many []string
	for i := range 51 {
		many = append(many, e.addPatient(owner, fmt.Sprintf("Pat Many%c%c", 'a'+i/26, 'a'+i%26), "1990-01-01"))
	}
	big := map[string]any{"patient_ids": many, "subject": "Flu shots", "body": "Flu shots are here.", "send": true}
	if r := owner.req("POST", "/api/v1/notices", big); r.code != 400 || !strings.Contains(r.body, `"field":"confirm_count"`) || !strings.Contains(r.body, "51") {
		t.Fatalf("no typed-back count: %d %s", r.code, r.body)
	}
	big["send"] = false
	if r := owner.req("POST", "/api/v1/notices", big); r.code != 200 || !strings.Contains(r.body, `"confirm":true`) {
		t.Fatalf("big preview: %d %s", r.code, r.body)
	}
}
