package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"hearth/app/mail/mailtest"
	"hearth/app/store/boltstore"
	"hearth/app/testenv"
)

// Checklist lines 6 and 7 (docs/SECURITY.md, "Tested attacks"): a disk
// that fills up, and a commit the disk refuses, against the real binary.
// A refused write is never acknowledged (5xx, no staff alert, no email
// from the outbox), the owner sees the fault (/healthz degraded, the
// console's status, one email), and the database verifies clean once the
// disk takes writes again.

var faultBin struct {
	once sync.Once
	path string
	err  error
}

// useFaultBinary runs the rest of the test on a binary linked with the
// store's commit failpoint (boltstore's testFaults): the harness starts
// binPath, so it is swapped for the length of this test, which must not
// be parallel (t.Setenv makes sure).
func useFaultBinary(t *testing.T, faultFile string) {
	t.Helper()
	t.Setenv(boltstore.FaultFileEnv, faultFile)
	faultBin.once.Do(func() {
		faultBin.path = filepath.Join(filepath.Dir(binPath), "hearth-faults")
		flags := testCosts + " -X hearth/app/store/boltstore.testFaults=on"
		args := []string{"build", "-race", "-ldflags", flags, "-o", faultBin.path, "."}
		if os.Getenv("HEARTH_TEST_NORACE") != "" {
			args = []string{"build", "-ldflags", flags, "-o", faultBin.path, "."}
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			faultBin.err = fmt.Errorf("go build with the failpoint: %v\n%s", err, out)
		}
	})
	if faultBin.err != nil {
		t.Fatal(faultBin.err)
	}
	old := binPath
	binPath = faultBin.path
	t.Cleanup(func() { binPath = old })
}

// setFault arms ("eio", "enospc") or disarms ("") the failpoint.
func setFault(t *testing.T, file, what string) {
	t.Helper()
	writeTestFile(t, file, []byte(what))
}

// clinicAt is newClinic with the data folder at data.
func clinicAt(t *testing.T, data string) *instance {
	t.Helper()
	out, err := hearth(t, ownerPassword+"\n"+ownerPassword+"\n", "setup", "--data", data,
		"--clinic", "Maple Street Family Clinic", "--owner-name", "Olive Owner", "--owner-email", "owner@maple.test")
	if err != nil {
		t.Fatalf("hearth setup: %v\n%s", err, out)
	}
	return &instance{t: t, data: data, recovery: recoveryRe.FindString(out)}
}

// withMail points the clinic's mail at a test SMTP server (plain SMTP on
// loopback, as for a relay on the same machine).
func withMail(t *testing.T, owner *client) *mailtest.Server {
	t.Helper()
	srv, _ := mailtest.Start(t, "", "")
	inboxAPI(t, owner, "PUT", "/api/v1/settings", map[string]any{"smtp_host": "127.0.0.1", "smtp_port": srv.Port(), "smtp_mode": "none",
		"mail_from": "front@maple.test", "public_url": "https://portal.maple.example", "phone": "555-201-0000"}, nil)
	return srv
}

// mailsTo are the messages srv received for to.
func mailsTo(srv *mailtest.Server, to string) []string {
	var out []string
	for _, m := range srv.Messages() {
		if strings.Contains(m, "To: "+to+"\r\n") {
			out = append(out, m)
		}
	}
	return out
}

// waitMails waits up to d for n messages to to, and returns them.
func waitMails(t *testing.T, srv *mailtest.Server, to string, n int, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := mailsTo(srv, to)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type healthz struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
	Fault  string `json:"fault"`
}

func getHealth(t *testing.T, in *instance) healthz {
	t.Helper()
	resp, err := http.Get(in.base() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h healthz
	if err := json.Unmarshal([]byte(readBody(t, resp)), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// recoverHealth has owner read something (which writes an audit event)
// once a second until /healthz is ok again, and fails after limit.
func recoverHealth(t *testing.T, in *instance, owner *client, read string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		code, _, err := owner.do("GET", read, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := getHealth(t, in)
		if code == 200 && h.Status == "ok" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not recover within %v after the disk took writes again: %+v (last read %d)", limit, h, code)
		}
		time.Sleep(time.Second)
	}
}

// socketFrames collects what the staff socket receives.
func socketFrames(t *testing.T, ws *websocket.Conn) func() []string {
	var mu sync.Mutex
	var frames []string
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			mu.Lock()
			frames = append(frames, string(b))
			mu.Unlock()
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), frames...)
	}
}

// itemEvents are the frames that announce a change (they carry a seq).
func itemEvents(frames []string) []string {
	var out []string
	for _, f := range frames {
		if strings.Contains(f, `"seq":`) {
			out = append(out, f)
		}
	}
	return out
}

// TestFailedCommitIsNeverAcknowledged (checklist 7): the disk refuses
// every commit with EIO, through the store's failpoint in a real server.
// A patient's message answers 503 saying it was NOT sent; a staff reply
// answers 503 storage_failed and its email to the patient is never sent;
// the staff socket hears nothing; /healthz and the owner's status say the
// disk refused a write, and the owner gets exactly one email about it.
// Once the disk takes writes again, health recovers, nothing refused is
// there, and the database verifies clean.
func TestFailedCommitIsNeverAcknowledged(t *testing.T) {
	fault := filepath.Join(t.TempDir(), "commit-fault")
	useFaultBinary(t, fault)
	in := newClinic(t)
	in.start()
	owner := in.owner()
	smtp := withMail(t, owner)

	var pat struct {
		ID string `json:"id"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients", map[string]string{"name": "Rosa Delgado", "dob": "1961-03-14", "email": "rosa@example.com", "lang": "en"}, &pat)
	var inv struct {
		Code string `json:"code"`
	}
	inboxAPI(t, owner, "POST", "/api/v1/patients/"+pat.ID+"/invites", nil, &inv)
	rosa := inboxPatientSignIn(t, in, "Rosa Delgado", inv.Code, "1961-03-14")
	_, me := rosa.get("/me")
	if code, _, body := rosa.post("/me/email", me, url.Values{"on": {"1"}}); code != 200 || !strings.Contains(body, "Stop reply emails") {
		t.Fatalf("turning reply emails on: %d", code)
	}
	// The paths that alert work: a message reaches the staff socket, and
	// a reply emails the patient.
	ws := staffSocket(t, in, owner)
	frames := socketFrames(t, ws)
	item := rosa.send("message", map[string]string{"body": "Is my prescription ready?"})
	inboxAPI(t, owner, "POST", "/api/v1/items/"+item+"/messages", map[string]any{"body": "Yes, it is at the pharmacy."}, nil)
	if got := waitMails(t, smtp, "rosa@example.com", 1, 20*time.Second); len(got) != 1 {
		t.Fatalf("the reply email before the fault: %d emails", len(got))
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(itemEvents(frames())) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	before := len(itemEvents(frames()))
	if before < 2 {
		t.Fatalf("the staff socket heard %d events before the fault, want the message and the reply", before)
	}

	setFault(t, fault, "eio")
	status, page := rosa.get("/new?type=message")
	if status != 200 {
		t.Fatalf("GET /new with the disk refusing writes: %d", status)
	}
	code, final, body := rosa.post("/new", page, url.Values{"type": {"message"}, "body": {"Canary Quixotic: please call me"}})
	if code != http.StatusServiceUnavailable || strings.HasPrefix(final, "/t/") || !strings.Contains(body, "Your message was NOT sent") ||
		!strings.Contains(body, "555-201-0000") {
		t.Fatalf("a patient's message the disk refused: %d at %s\n%.1000s", code, final, body)
	}
	code, b, err := owner.do("POST", "/api/v1/items/"+item+"/messages", map[string]any{"body": "Canary Quixotic reply"})
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(string(b), `"code":"storage_failed"`) {
		t.Fatalf("a staff reply the disk refused: %d %v %s", code, err, b)
	}
	h := getHealth(t, in)
	if h.Status != "degraded" || h.Fault != "storage_failed" || !strings.Contains(h.Reason, "the disk refused a write") {
		t.Fatalf("/healthz while the disk refuses writes: %+v", h)
	}
	var status2 struct {
		Health healthz `json:"health"`
	}
	inboxAPI(t, owner, "GET", "/api/v1/backup/status", nil, &status2)
	if status2.Health.Fault != "storage_failed" {
		t.Fatalf("the owner's status does not show the fault: %+v", status2.Health)
	}
	got := waitMails(t, smtp, "owner@maple.test", 1, 20*time.Second)
	if len(got) != 1 || !strings.Contains(got[0], "the disk refused a write") || strings.Contains(got[0], "Quixotic") || strings.Contains(got[0], "Rosa") {
		t.Fatalf("the owner's email about the disk: %q", got)
	}
	// The outbox sends every 5 s: give a refused reply's email time to
	// (wrongly) go out, then check that nothing was alerted.
	time.Sleep(7 * time.Second)
	if n := len(mailsTo(smtp, "rosa@example.com")); n != 1 {
		t.Fatalf("%d emails to the patient: the refused reply was emailed", n)
	}
	if ev := itemEvents(frames()); len(ev) != before {
		t.Fatalf("the staff socket heard of refused writes: %q", ev[before:])
	}

	setFault(t, fault, "")
	recoverHealth(t, in, owner, "/api/v1/items/"+item, 40*time.Second)
	if n := len(mailsTo(smtp, "owner@maple.test")); n != 1 {
		t.Fatalf("%d emails to the owner about one episode, want 1", n)
	}
	var items struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	inboxAPI(t, owner, "GET", "/api/v1/items", nil, &items)
	if len(items.Items) != 1 || items.Items[0].ID != item {
		t.Fatalf("requests after the fault: %+v, want only %s", items.Items, item)
	}
	var thread struct {
		Messages []struct {
			Body string `json:"body"`
		} `json:"messages"`
	}
	inboxAPI(t, owner, "GET", "/api/v1/items/"+item, nil, &thread)
	for _, m := range thread.Messages {
		if strings.Contains(m.Body, "Quixotic") {
			t.Fatalf("a refused reply is in the thread")
		}
	}
	in.stop()
	if out, err := hearth(t, "", "verify", "--data", in.data); err != nil {
		t.Fatalf("verify after refused commits: %v\n%s", err, out)
	}
}

// TestDiskFullRefusesWritesAndRecovers (checklist 6): the data folder on
// a 4 MiB tmpfs that is then filled. Writes go on while bbolt still has
// pages it freed earlier, then one is refused: 507 storage_full, never an
// acknowledgement. /healthz says storage is full, and the owner gets one
// email. After space returns every acknowledged write is there, the
// refused one is not, health recovers, and `hearth verify` (bbolt's
// tx.Check) passes. Where a tmpfs cannot be mounted (not root), the
// store's failpoint stands in for the full disk, except on CI, which runs
// as root and must mount.
func TestDiskFullRefusesWritesAndRecovers(t *testing.T) {
	dir := t.TempDir()
	fault := filepath.Join(dir, "commit-fault")
	useFaultBinary(t, fault)
	disk := filepath.Join(dir, "disk")
	if err := os.Mkdir(disk, 0o700); err != nil {
		t.Fatal(err)
	}
	tmpfs := true
	if err := mountTmpfs(disk, "4m"); err != nil {
		if testenv.Required(testenv.CI) {
			t.Fatalf("mounting a 4 MiB tmpfs: %v (CI runs as root and must be able to)", err)
		}
		t.Logf("no tmpfs (%v): the store's failpoint stands in for the full disk", err)
		tmpfs = false
	} else {
		t.Cleanup(func() {
			if err := unmount(disk); err != nil {
				t.Errorf("unmount %s: %v", disk, err)
			}
		})
	}
	in := clinicAt(t, filepath.Join(disk, "data"))
	in.start()
	owner := in.owner()
	smtp := withMail(t, owner)
	type ack struct{ id, name string }
	var acked []ack
	newPatient := func(i int) (int, []byte) {
		name := fmt.Sprintf("Quota Patient%04d", i)
		code, b, err := owner.do("POST", "/api/v1/patients", map[string]string{"name": name, "dob": "1980-01-02", "phone": "555-0100",
			"lang": "en", "email": fmt.Sprintf("p%04d@example.com", i)})
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if code == 201 {
			var id string
			if !jsonID(b, &id) {
				t.Fatalf("write %d: 201 without an id: %s", i, b)
			}
			acked = append(acked, ack{id, name})
		}
		return code, b
	}
	for i := 0; i < 3; i++ {
		if code, b := newPatient(i); code != 201 {
			t.Fatalf("a write before the disk filled: %d %s", code, b)
		}
	}

	filler := filepath.Join(disk, "filler")
	fill := func() {
		if !tmpfs {
			setFault(t, fault, "enospc")
			return
		}
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, 64<<10)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
		if err := f.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatal(err)
		}
	}
	free := func() {
		if !tmpfs {
			setFault(t, fault, "")
			return
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}

	fill()
	before := len(acked)
	refused := ""
	for i := before; i < before+400 && refused == ""; i++ {
		switch code, b := newPatient(i); {
		case code == 201:
		case code == http.StatusInsufficientStorage && strings.Contains(string(b), `"code":"storage_full"`):
			refused = fmt.Sprintf("Quota Patient%04d", i)
		default:
			t.Fatalf("write %d on a full disk: %d %s (want 201, or 507 storage_full)", i, code, b)
		}
	}
	if refused == "" {
		t.Fatalf("400 writes went through on a full disk")
	}
	t.Logf("%d writes went through on the full disk before one was refused", len(acked)-before)
	h := getHealth(t, in)
	if h.Status != "degraded" || h.Fault != "storage_full" || !strings.Contains(h.Reason, "storage is full") {
		t.Fatalf("/healthz on a full disk: %+v", h)
	}
	got := waitMails(t, smtp, "owner@maple.test", 1, 20*time.Second)
	if len(got) != 1 || !strings.Contains(got[0], "the disk is full") || strings.Contains(got[0], "Quota") {
		t.Fatalf("the owner's email about the full disk: %q", got)
	}

	free()
	recoverHealth(t, in, owner, "/api/v1/patients/"+acked[0].id, 40*time.Second)
	for _, a := range acked {
		var p struct{ Name string }
		if code := owner.json("GET", "/api/v1/patients/"+a.id, nil, &p); code != 200 || p.Name != a.name {
			t.Fatalf("acknowledged patient %s lost on a full disk (status %d)", a.id, code)
		}
	}
	var found struct {
		Patients []struct {
			Name string `json:"name"`
		} `json:"patients"`
	}
	inboxAPI(t, owner, "GET", "/api/v1/patients?q="+url.QueryEscape(refused), nil, &found)
	for _, p := range found.Patients {
		if p.Name == refused {
			t.Fatalf("the refused write (%s) was kept", refused)
		}
	}
	if n := len(mailsTo(smtp, "owner@maple.test")); n != 1 {
		t.Fatalf("%d emails to the owner about one full disk, want 1", n)
	}
	in.stop()
	if out, err := hearth(t, "", "verify", "--data", in.data); err != nil {
		t.Fatalf("verify after a full disk: %v\n%s", err, out)
	}
	in.start()
	if h := getHealth(t, in); h.Status != "ok" {
		t.Fatalf("/healthz after a restart: %+v", h)
	}
}
