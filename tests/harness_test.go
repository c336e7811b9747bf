// Package tests holds Hearth's whole-program tests: they build the real
// binary, run it on real data folders, and speak to it over real HTTP, the
// way a clinic's browsers and scripts do.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"hearth/app/store/pgstore/pgtest"
)

var binPath string

// testCosts links cheap passphrase (scrypt 2^10) and password-hash
// (argon2id 64 KiB, 1 pass) costs into the binary the tests drive, so that a
// race-built binary on a busy machine unlocks and signs in within a browser
// step. Only a link-time -X reaches them (vault.testScryptLogN,
// clinic.testArgon2): a clinic's build never has them. The production costs
// have their own tests in app/vault and app/clinic. cli.testTick runs the
// periodic work (reminders, overdue alerts) and the outbox every second
// rather than every minute and five seconds, so the text-message tests see
// a reminder within their patience.
const testCosts = "-X hearth/app/vault.testScryptLogN=10 -X hearth/app/clinic.testArgon2=m=64,t=1,p=1 -X hearth/app/cli.testTick=1s"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hearth-bin-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "hearth")
	args := []string{"build", "-race", "-ldflags", testCosts, "-o", binPath, "."}
	if os.Getenv("HEARTH_TEST_NORACE") != "" {
		args = []string{"build", "-ldflags", testCosts, "-o", binPath, "."}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.Stop()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(os.Stderr, "removing the test binary: %v\n", err)
	}
	os.Exit(code)
}

const ownerPassword = "Correct-Horse-Battery-9"

var recoveryRe = regexp.MustCompile(`AGE-SECRET-KEY-1[0-9A-Z]+`)

// hearth runs a command of the binary and returns its combined output.
func hearth(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "HEARTH_DATA=", "HEARTH_ADDR=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// instance is one data folder and, while running, one server process.
type instance struct {
	t        *testing.T
	data     string
	addr     string
	recovery string
	cmd      *exec.Cmd
	log      *syncBuffer
	done     chan struct{} // closed when the process has exited
	exit     error         // how it exited (cmd.Wait), once done is closed
	// extra serve flags and the HTTP client that reaches the server (for TLS).
	extra  []string
	scheme string
	hc     *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newClinic sets up a fresh data folder with `hearth setup`.
func newClinic(t *testing.T) *instance {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	out, err := hearth(t, ownerPassword+"\n"+ownerPassword+"\n", "setup", "--data", data,
		"--clinic", "Maple Street Family Clinic", "--owner-name", "Olive Owner", "--owner-email", "owner@maple.test")
	if err != nil {
		t.Fatalf("hearth setup: %v\n%s", err, out)
	}
	rk := recoveryRe.FindString(out)
	if rk == "" {
		t.Fatalf("setup printed no recovery key:\n%s", out)
	}
	return &instance{t: t, data: data, recovery: rk}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func (in *instance) base() string {
	if in.scheme != "" {
		return in.scheme + "://" + in.addr
	}
	return "http://" + in.addr
}

func (in *instance) httpClient() *http.Client {
	if in.hc != nil {
		return in.hc
	}
	return http.DefaultClient
}

// start runs `hearth serve` and waits for /healthz.
func (in *instance) start() {
	in.t.Helper()
	if err := in.tryStart(); err != nil {
		in.t.Fatal(err)
	}
}

func (in *instance) tryStart() error {
	if in.addr == "" {
		in.addr = freeAddr(in.t)
	}
	in.log = &syncBuffer{}
	in.cmd = exec.Command(binPath, append([]string{"serve", "--data", in.data, "--addr", in.addr}, in.extra...)...)
	in.cmd.Env = append(os.Environ(), "HEARTH_DATA=", "HEARTH_ADDR=")
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := in.cmd.Start(); err != nil {
		return err
	}
	in.done = make(chan struct{})
	go func() { in.exit = in.cmd.Wait(); close(in.done) }()
	in.t.Cleanup(in.kill)
	// A failed test shows what the server said (its log carries no PHI).
	log := in.log
	in.t.Cleanup(func() {
		if in.t.Failed() {
			in.t.Logf("hearth serve log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-in.done:
			return fmt.Errorf("hearth serve exited (%v): %s", in.exit, in.log.String())
		default:
		}
		resp, err := in.httpClient().Get(in.base() + "/healthz")
		if err == nil {
			if err := resp.Body.Close(); err != nil {
				return err
			}
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("hearth serve did not answer within 30 s: %s", in.log.String())
}

func (in *instance) kill() {
	if in.cmd != nil && in.cmd.Process != nil {
		// ESRCH: the process group is gone already.
		if err := syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			in.t.Errorf("kill hearth serve: %v", err)
		}
		<-in.done
		in.cmd = nil
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() {
	in.t.Helper()
	if in.cmd == nil {
		return
	}
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		in.t.Errorf("signal hearth serve: %v", err)
	}
	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
		in.t.Errorf("hearth serve did not stop within 20 s of SIGTERM")
		in.kill()
	}
	in.cmd = nil
}

// client is one browser or API user.
type client struct {
	in   *instance
	hc   *http.Client
	csrf string
}

func (in *instance) newClient() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		in.t.Fatal(err)
	}
	// The instance's transport, so a server under TLS is reached the same way.
	return &client{in: in, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: in.httpClient().Transport}}
}

func (c *client) do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.in.base()+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.in.base())
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return resp.StatusCode, b, err
}

func (c *client) json(method, path string, body, out any) int {
	c.in.t.Helper()
	code, b, err := c.do(method, path, body)
	if err != nil {
		c.in.t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && code < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.in.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return code
}

func (in *instance) login(email, password string) *client {
	in.t.Helper()
	c := in.newClient()
	var out struct {
		CSRF string `json:"csrf"`
	}
	if code := c.json("POST", "/api/v1/login", map[string]string{"email": email, "password": password}, &out); code != 200 {
		in.t.Fatalf("login as %s: %d", email, code)
	}
	c.csrf = out.CSRF
	return c
}

func (in *instance) owner() *client { return in.login("owner@maple.test", ownerPassword) }

// dataFiles returns every regular file under the data folder; a folder it
// cannot read fails the test rather than hiding its files.
func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	return out
}

// staffSocket opens the staff websocket of c's session, the way the
// console does (same origin, the session cookie); it closes with the test.
func staffSocket(t *testing.T, in *instance, c *client) *websocket.Conn {
	t.Helper()
	hdr := http.Header{}
	hdr.Set("Origin", in.base())
	base, err := url.Parse(in.base())
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.hc.Jar.Cookies(base) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(in.base(), "http")+"/api/v1/ws", hdr)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("staff websocket on %s: %v (HTTP %d)", in.base(), err, code)
	}
	t.Cleanup(func() {
		if err := ws.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("close the staff websocket: %v", err)
		}
	})
	return ws
}

// screenshot takes a picture of the page; it must not be empty. README
// pictures in assets/screenshots are written only on request
// (HEARTH_SCREENSHOTS=1), so a test run leaves the working tree as it was.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(shot) == 0 {
		t.Fatalf("screenshot %s is empty", name)
	}
	if os.Getenv("HEARTH_SCREENSHOTS") == "" {
		return
	}
	dir := filepath.Join("..", "assets", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeTestFile writes b to path (mode 0600); a failure fails the test.
func writeTestFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// readBody reads and closes resp's body; a failure fails the test.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBinaryLinksTestCosts: the binary the tests drive carries testCosts.
// The linker ignores -X for a name that does not exist, so without this a
// renamed variable would quietly put production crypto back into every
// browser step.
func TestBinaryLinksTestCosts(t *testing.T) {
	out, err := hearth(t, "", "version")
	if err != nil {
		t.Fatalf("hearth version: %v\n%s", err, out)
	}
	if !strings.Contains(out, "passphrase scrypt 2^10") || !strings.Contains(out, "password argon2id m=64,t=1,p=1") {
		t.Fatalf("hearth version does not report the linked test costs:\n%s", out)
	}
}
