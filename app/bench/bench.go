// Package bench drives a real Hearth server the way patients and staff do,
// over loopback HTTP and websockets, and measures the figures clinic owners
// ask about: acknowledged messages per second, the delay until staff
// browsers hear of a new item, inbox and search latency, start-up time,
// memory and disk use.
//
// It talks to the server only through its public interfaces (the patient
// pages, the staff API and the websocket), as an outside client would. It
// never prints PHI: the data it drives is synthetic.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Config says what to drive.
type Config struct {
	Bin       string // the hearth binary to run as the server
	Data      string // a data folder made by `hearth bench` (owner credentials in bench.json)
	Store     string // "" or postgres://...
	Sockets   int    // staff websockets held open (default 500)
	Writers   int    // concurrent patients posting (default 64)
	IngestFor time.Duration
	// The round-trip phase: how long (default IngestFor), and how many of
	// the staff sockets listen during it (default 200, at most Sockets).
	RoundTripFor     time.Duration
	RoundTripSockets int
	Messages         int // messages stored before the run (for bytes per message)
	SizeBytes        func() (int64, error)
	SearchSamples    []string // queries for search: name prefixes, birth dates, phones
	Out              io.Writer
	JSON             bool
	Log              func(format string, a ...any)
}

// Creds are the bench clinic's owner sign-in, kept in DATA/bench.json.
type Creds struct {
	Email    string   `json:"email"`
	Password string   `json:"password"`
	Messages int      `json:"messages"`
	Samples  []string `json:"samples"`
}

// CredsPath is where the bench remembers how to sign in to its own clinic.
func CredsPath(data string) string { return filepath.Join(data, "bench.json") }

// Latency summarises samples in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	N   int     `json:"n"`
}

func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) float64 {
		i := int(float64(len(d)-1) * p)
		return float64(d[i].Microseconds()) / 1000
	}
	return Latency{q(0.50), q(0.95), q(0.99), len(d)}
}

// Machine describes where the figures were measured.
type Machine struct {
	Cores     int     `json:"cores"`
	GoVersion string  `json:"go_version"`
	OS        string  `json:"os"`
	FsyncMs   float64 `json:"fsync_ms"`
	CPU       string  `json:"cpu,omitempty"`
}

// Result is every figure, with its target.
type Result struct {
	IngestPerS float64 `json:"ingest_per_s"`
	// CPUusPerMessage is the server process's user + system CPU time
	// during the ingest phase divided by the messages it acknowledged: a
	// figure that other work on the machine barely moves.
	CPUusPerMessage float64 `json:"cpu_us_per_message"`
	// DBCPUusPerMessage is the same for a PostgreSQL server on this
	// machine (all its processes); 0 for bbolt.
	DBCPUusPerMessage   float64 `json:"db_cpu_us_per_message"`
	RoundTripPerS       float64 `json:"roundtrip_per_s"`
	RoundTripAlertP50Ms float64 `json:"roundtrip_alert_p50_ms"`
	RoundTripAlertP99Ms float64 `json:"roundtrip_alert_p99_ms"`
	AlertP99Ms          float64 `json:"alert_p99_ms"`
	InboxP99MsWarm      float64 `json:"inbox_p99_ms_warm"`
	InboxP99MsCold      float64 `json:"inbox_p99_ms_cold"`
	SearchP99Ms         float64 `json:"search_p99_ms"`
	StartupS            float64 `json:"startup_s"`
	RSSMB               float64 `json:"rss_mb"`
	BytesPerMessage     float64 `json:"bytes_per_message"`
	Machine             Machine `json:"machine"`
	Detail              struct {
		Alert       Latency `json:"alert"`
		InboxWarm   Latency `json:"inbox_warm"`
		InboxCold   Latency `json:"inbox_cold"`
		Search      Latency `json:"search"`
		Ingest      Latency `json:"ingest_ack"`
		Acked       int     `json:"ingest_acked"`
		Refused     int     `json:"ingest_refused"`
		Sockets     int     `json:"sockets"`
		Messages    int     `json:"messages_stored"`
		DBBytes     int64   `json:"db_bytes"`
		Throttled   int     `json:"throttled"`
		AlertMissed int     `json:"alert_missed"`
		RSSAnonMB   float64 `json:"rss_anon_mb"`
		RSSFileMB   float64 `json:"rss_file_mb"`
		RSSDBMB     float64 `json:"rss_db_mb"` // of RSSFileMB: the database file's pages (bbolt's map); the rest is the program itself

		RoundTrip      Latency `json:"roundtrip"`       // start → acknowledgement page read
		RoundTripAlert Latency `json:"roundtrip_alert"` // start → frame at each socket
		// What the round-trip alert is made of, per item: start → its POST
		// sent (a new connection, the compose page); POST sent → the first
		// socket's frame (the seal, the grouped commit, the hub); the first
		// socket's frame → the last's (the fan-out).
		RoundTripCompose   Latency `json:"roundtrip_compose"`
		RoundTripFirst     Latency `json:"roundtrip_alert_first"`
		RoundTripSpread    Latency `json:"roundtrip_alert_spread"`
		RoundTrips         int     `json:"roundtrips"`
		RoundTripThrottled int     `json:"roundtrip_throttled"`
		RoundTripFailed    int     `json:"roundtrip_failed"`
		RoundTripSockets   int     `json:"roundtrip_sockets"`
		RoundTripMissed    int     `json:"roundtrip_alert_missed"`
		RoundTripRSSMB     float64 `json:"roundtrip_rss_mb"` // resident memory at the end of the round trips
		RSSPeakMB          float64 `json:"rss_peak_mb"`      // the peak from the sockets' opening to the end of ingest
		CPUusPerRoundTrip  float64 `json:"cpu_us_per_roundtrip"`
		DBCPUusPerRT       float64 `json:"db_cpu_us_per_roundtrip"`
		// The bench process's own user + system CPU (the load generator:
		// the phones' HTTP clients and the staff sockets' readers), per
		// round trip and per acknowledged message of the ingest phase. It
		// runs on the same cores as the server.
		BenchCPUusPerRT  float64 `json:"bench_cpu_us_per_roundtrip"`
		BenchCPUusPerMsg float64 `json:"bench_cpu_us_per_message"`
		CPUSource        string  `json:"cpu_source"`
		// CheckedS is how long after start the server's structure check
		// of the database ended. On bbolt its last part (bbolt's own page
		// check) holds the write lock; before it, and on PostgreSQL
		// throughout, writers go on. The bench measures after it.
		CheckedS float64 `json:"checked_s"`
	} `json:"detail"`
}

type target struct {
	name, unit string
	get        func(Result) float64
	limit      float64
	atLeast    bool
}

var targets = []target{
	{"patient messages acknowledged per second (64 patients, durable)", "/s", func(r Result) float64 { return r.IngestPerS }, 3000, true},
	{"new item -> staff websocket frame, p99", "ms", func(r Result) float64 { return r.AlertP99Ms }, 50, false},
	{"patient round trips per second (compose, send, acknowledgement)", "/s", func(r Result) float64 { return r.RoundTripPerS }, 1000, true},
	{"new item -> staff frame during the round trips, p99", "ms", func(r Result) float64 { return r.RoundTripAlertP99Ms }, 50, false},
	{"inbox page (50 items), p99 warm", "ms", func(r Result) float64 { return r.InboxP99MsWarm }, 20, false},
	{"inbox page, first load after start", "ms", func(r Result) float64 { return r.InboxP99MsCold }, 100, false},
	{"patient search, p99", "ms", func(r Result) float64 { return r.SearchP99Ms }, 30, false},
	{"start to serving", "s", func(r Result) float64 { return r.StartupS }, 2, false},
	{"resident memory with the sockets open", "MB", func(r Result) float64 { return r.RSSMB }, 200, false},
	{"bytes on disk per stored message", "B", func(r Result) float64 { return r.BytesPerMessage }, 2048, false},
}

// server is the child `hearth serve` process.
type server struct {
	cmd     *exec.Cmd
	addr    string
	done    chan struct{} // closed when the process has exited
	exit    error         // how it exited (cmd.Wait), once done is closed
	log     *os.File
	stopped bool
	started time.Time
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

func (c Config) start(ctx context.Context) (*server, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	lf, err := os.CreateTemp("", "hearth-bench-log-")
	if err != nil {
		return nil, 0, fmt.Errorf("the server's log file: %w", err)
	}
	args := []string{"serve", "--data", c.Data, "--addr", addr}
	if c.Store != "" {
		args = append(args, "--store", c.Store)
	}
	s := &server{addr: addr, done: make(chan struct{}), log: lf}
	s.cmd = exec.CommandContext(ctx, c.Bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = lf, lf
	s.cmd.Env = append(os.Environ(), "HEARTH_DATA=", "HEARTH_ADDR=")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	s.started = start
	if err := s.cmd.Start(); err != nil {
		return nil, 0, err
	}
	go func() { s.exit = s.cmd.Wait(); close(s.done) }()
	hc := &http.Client{Timeout: time.Second}
	for time.Since(start) < 60*time.Second {
		select {
		case <-s.done:
			b, err := os.ReadFile(lf.Name())
			if err != nil {
				return nil, 0, fmt.Errorf("the server exited (%v), and its log cannot be read: %w", s.exit, err)
			}
			return nil, 0, fmt.Errorf("the server exited (%v): %s", s.exit, lastLines(string(b), 3))
		default:
		}
		if resp, err := hc.Get("http://" + addr + "/healthz"); err == nil {
			if err := resp.Body.Close(); err == nil && resp.StatusCode == 200 {
				return s, time.Since(start), nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil, 0, errors.Join(errors.New("the server did not answer within 60 s"), s.stop())
}

// waitChecked waits until the server's log says its structure check of
// the database has ended, and returns how long after start that was.
func (s *server) waitChecked(ctx context.Context, within time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		b, err := os.ReadFile(s.log.Name())
		if err != nil {
			return 0, err
		}
		switch {
		case strings.Contains(string(b), "database structure checked"):
			return time.Since(s.started), nil
		case strings.Contains(string(b), "structure check could not run"), strings.Contains(string(b), "DAMAGED"):
			return 0, fmt.Errorf("the server's structure check failed: %s", lastLines(string(b), 3))
		}
		select {
		case <-s.done:
			return 0, fmt.Errorf("the server exited (%v): %s", s.exit, lastLines(string(b), 3))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return 0, errors.Join(ctx.Err(), fmt.Errorf("the server's structure check did not end within %v", within))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// stop ends the server (SIGTERM, then SIGKILL to its process group after
// 20 s) and removes its log. A second call does nothing.
func (s *server) stop() error {
	if s == nil || s.cmd.Process == nil || s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		errs = append(errs, fmt.Errorf("stopping the server: %w", err))
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			errs = append(errs, fmt.Errorf("killing the server: %w", err))
		}
		<-s.done
	}
	errs = append(errs, s.log.Close(), os.Remove(s.log.Name()))
	return errors.Join(errs...)
}

// memMB reads the server's resident memory: all of it (VmRSS), the part
// that is its own heap and stacks (RssAnon), and the part mapped from files
// (RssFile), which the kernel can drop at will; of that, db is the database
// file's pages (bbolt maps hearth.db), the rest is the program's own code.
func (s *server) memMB() (rss, anon, file, db float64) {
	db = s.dbMappedMB()
	rss, anon, file = s.statusMB()
	if rss == 0 {
		return 0, 0, 0, 0
	}
	return rss, anon, file, db
}

// statusMB is memMB without the database file's part: /proc/PID/status is
// cheap to read, where smaps makes the kernel walk every mapping's pages.
func (s *server) statusMB() (rss, anon, file float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "RssAnon:":
			anon = kb / 1024
		case "RssFile:":
			file = kb / 1024
		}
	}
	return rss, anon, file
}

// peakMem samples the server's resident memory every 250 ms and keeps the
// reading with the largest total.
type peakMem struct {
	mu   sync.Mutex
	max  [4]float64 // rss, anon, file, db
	quit chan struct{}
	done chan struct{}
}

func startPeak(s *server) *peakMem {
	p := &peakMem{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			// smaps (the database's part) only for a new peak: reading
			// it costs the bench (this process, on the server's cores)
			// the kernel's walk of all the server's pages.
			rss, anon, file := s.statusMB()
			p.mu.Lock()
			if rss > p.max[0] {
				p.max = [4]float64{rss, anon, file, s.dbMappedMB()}
			}
			p.mu.Unlock()
			select {
			case <-p.quit:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// take returns the peak so far and starts a new one.
func (p *peakMem) take() (rss, anon, file, db float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.max
	p.max = [4]float64{}
	return m[0], m[1], m[2], m[3]
}

// stop ends the sampling and returns the peak since the last take.
func (p *peakMem) stop() (rss, anon, file, db float64) {
	close(p.quit)
	<-p.done
	return p.take()
}

// dbMappedMB sums the resident pages of the server's mappings of hearth.db.
func (s *server) dbMappedMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	var kb float64
	inDB := false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			inDB = len(f) >= 6 && strings.HasSuffix(f[len(f)-1], "hearth.db")
		case inDB && len(f) >= 2 && f[0] == "Rss:":
			v, _ := strconv.ParseFloat(f[1], 64)
			kb += v
		}
	}
	return kb / 1024
}

// client is one browser: cookies, and the source address it speaks from
// (patients come from many addresses, as they do in life; the whole
// 127.0.0.0/8 block is loopback).
type client struct {
	base string
	hc   *http.Client
	csrf string
}

func newClient(base string, src net.IP) *client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return newClientVia(base, &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute})
}

// newClientVia is a browser with its own cookies over a shared transport
// (several people behind one address share its connections).
func newClientVia(base string, tr *http.Transport) *client {
	jar, _ := cookiejar.New(nil)
	return &client{base: base, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, body io.Reader, ctype string) (int, []byte, http.Header, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Origin", c.base)
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return resp.StatusCode, b, resp.Header, err
}

func (c *client) json(method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = strings.NewReader(string(b))
	}
	code, b, _, err := c.do(method, path, body, "application/json")
	if err != nil {
		return 0, err
	}
	if out != nil && code < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return code, fmt.Errorf("%s %s: %v", method, path, err)
		}
	}
	return code, nil
}

func (c *client) login(email, password string) error {
	var out struct {
		CSRF string `json:"csrf"`
	}
	code, err := c.json("POST", "/api/v1/login", map[string]string{"email": email, "password": password}, &out)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("staff sign-in answered %d", code)
	}
	c.csrf = out.CSRF
	return nil
}

var hiddenRe = regexp.MustCompile(`(?is)<input[^>]*type=["']?hidden["']?[^>]*>`)
var nameRe = regexp.MustCompile(`(?is)\sname=["']?([^"'\s>]+)`)
var valueRe = regexp.MustCompile(`(?is)\svalue=["']?([^"'>]*)`)

// hidden collects a page's hidden inputs, as a browser submits them.
func hidden(page []byte) url.Values {
	v := url.Values{}
	for _, tag := range hiddenRe.FindAll(page, -1) {
		n := nameRe.FindSubmatch(tag)
		if n == nil {
			continue
		}
		val := ""
		if m := valueRe.FindSubmatch(tag); m != nil {
			val = strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'").Replace(string(m[1]))
		}
		v.Set(string(n[1]), val)
	}
	return v
}

// form GETs page and POSTs its hidden inputs plus fields to action.
func (c *client) form(page, action string, fields url.Values) (int, http.Header, error) {
	code, b, _, err := c.do("GET", page, nil, "")
	if err != nil {
		return 0, nil, err
	}
	if code != 200 {
		return code, nil, fmt.Errorf("GET %s answered %d", page, code)
	}
	v := hidden(b)
	for k, vs := range fields {
		v[k] = vs
	}
	code, _, h, err := c.do("POST", action, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
	return code, h, err
}

// Run starts the server on cfg.Data, drives it, and reports.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	if cfg.Sockets == 0 {
		cfg.Sockets = 500
	}
	if cfg.Writers == 0 {
		cfg.Writers = 64
	}
	if cfg.IngestFor == 0 {
		cfg.IngestFor = 10 * time.Second
	}
	if cfg.RoundTripFor == 0 {
		cfg.RoundTripFor = cfg.IngestFor
	}
	if cfg.RoundTripSockets == 0 {
		cfg.RoundTripSockets = 200
	}
	cfg.RoundTripSockets = min(cfg.RoundTripSockets, cfg.Sockets)
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var creds Creds
	b, err := os.ReadFile(CredsPath(cfg.Data))
	if err != nil {
		return res, fmt.Errorf("%s was not made by `hearth bench` (no bench.json): %w", cfg.Data, err)
	}
	if err := json.Unmarshal(b, &creds); err != nil {
		return res, fmt.Errorf("%s is damaged: %w", CredsPath(cfg.Data), err)
	}
	res.Machine = machine(cfg.Data, logf)

	// Start-up time, and the inbox's first load after it.
	logf("starting the server")
	srv, startup, err := cfg.start(ctx)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, srv.stop()) }()
	res.StartupS = startup.Seconds()
	logf("waiting for the server's structure check of the database")
	checked, err := srv.waitChecked(ctx, 15*time.Minute)
	if err != nil {
		return res, err
	}
	res.Detail.CheckedS = checked.Seconds()
	base := "http://" + srv.addr
	meter := cpuMeter{pid: srv.cmd.Process.Pid}
	res.Detail.CPUSource = "the server child process (/proc/PID/stat user+system)"
	if cfg.Store != "" {
		if meter.db, err = findDB(ctx, cfg.Store); err != nil {
			logf("the database's CPU is not measured: %v", err)
		} else {
			res.Detail.CPUSource += " + the local PostgreSQL server's processes"
		}
	}
	owner := newClient(base, nil)
	if err := owner.login(creds.Email, creds.Password); err != nil {
		return res, err
	}
	var cold []time.Duration
	queues := []string{"limit=50", "queue=frontdesk&limit=50", "queue=refills&limit=50", "queue=clinical&limit=50", "status=new&limit=50"}
	for _, q := range queues {
		t := time.Now()
		if code, err := owner.json("GET", "/api/v1/items?"+q, nil, nil); err != nil || code != 200 {
			return res, fmt.Errorf("inbox answered %d: %v", code, err)
		}
		cold = append(cold, time.Since(t))
	}
	res.Detail.InboxCold = summarize(cold)
	res.InboxP99MsCold = res.Detail.InboxCold.P99

	// Warm inbox: staff refreshing their queues.
	logf("measuring the inbox")
	var warm []time.Duration
	for i := 0; i < 400; i++ {
		t := time.Now()
		code, err := owner.json("GET", "/api/v1/items?"+queues[i%len(queues)], nil, nil)
		if err != nil || code != 200 {
			return res, fmt.Errorf("inbox answered %d: %v", code, err)
		}
		warm = append(warm, time.Since(t))
	}
	res.Detail.InboxWarm = summarize(warm)
	res.InboxP99MsWarm = res.Detail.InboxWarm.P99

	// Search.
	logf("measuring patient search")
	var search []time.Duration
	samples := append(cfg.SearchSamples, creds.Samples...)
	if len(samples) == 0 {
		samples = []string{"mar", "gar", "lop"}
	}
	for i := 0; i < 400; i++ {
		q := samples[i%len(samples)]
		t := time.Now()
		code, err := owner.json("GET", "/api/v1/patients?q="+url.QueryEscape(q), nil, nil)
		if err != nil || code != 200 {
			return res, fmt.Errorf("search answered %d: %v", code, err)
		}
		search = append(search, time.Since(t))
	}
	res.Detail.Search = summarize(search)
	res.SearchP99Ms = res.Detail.Search.P99

	// Patients with remembered devices, each speaking from its own address.
	// Enough patients that none reaches the per-patient limit on new
	// requests (10 per 15 minutes) during the run, as in a real clinic.
	patients := cfg.Writers * 100
	logf("signing in %d patients through invite letters", patients)
	devs, err := enrolPatients(ctx, owner, base, patients, cfg.Writers)
	if err != nil {
		return res, err
	}

	// Staff sockets.
	logf("opening %d staff websockets", cfg.Sockets)
	// Resident memory is sampled from here on: its peak while all the
	// sockets are open is the memory figure (one reading at one moment
	// could fall just after the server returned its map's pages).
	peak := startPeak(srv)
	sessions := make([]*client, 0, 20)
	for i := 0; i < 20 && i < cfg.Sockets; i++ {
		c := newClient(base, nil)
		if err := c.login(creds.Email, creds.Password); err != nil {
			return res, err
		}
		sessions = append(sessions, c)
	}
	hub := newListener()
	rtLog := newArrivals(cfg.RoundTripSockets)
	var conns []*websocket.Conn
	defer func() { err = errors.Join(err, closeSockets(conns)) }()
	for i := 0; i < cfg.Sockets; i++ {
		c, err := dialWS(base, sessions[i%len(sessions)])
		if err != nil {
			return res, fmt.Errorf("websocket %d: %w", i, err)
		}
		conns = append(conns, c)
		go readFrames(c, i, hub, rtLog)
	}
	res.Detail.Sockets = len(conns)
	time.Sleep(200 * time.Millisecond)

	// Alert latency at a steady clinic-busy rate (50 messages/s).
	logf("measuring new-item alerts to %d sockets", len(conns))
	var alerts []time.Duration
	var missed int
	for i := 0; i < 100 && ctx.Err() == nil; i++ {
		d := devs[i%len(devs)]
		t := time.Now()
		id, err := d.send("Alert test message number " + strconv.Itoa(i))
		if err != nil {
			continue
		}
		ds, miss := hub.wait(id, t, len(conns), 3*time.Second)
		alerts = append(alerts, ds...)
		missed += miss
		time.Sleep(20 * time.Millisecond)
	}
	res.Detail.Alert = summarize(alerts)
	res.Detail.AlertMissed = missed
	res.AlertP99Ms = res.Detail.Alert.P99
	if missed > 0 {
		res.AlertP99Ms = 1e9 // an alert that never came is a failure, not a fast figure
	}
	res.RSSMB, res.Detail.RSSAnonMB, res.Detail.RSSFileMB, res.Detail.RSSDBMB = peak.take()

	// The whole round trip of a patient's phone, with RoundTripSockets of
	// the staff sockets listening (the rest close first: every socket
	// costs a frame per item on both sides of the loopback).
	if err := closeSockets(conns[cfg.RoundTripSockets:]); err != nil {
		return res, err
	}
	conns = conns[:cfg.RoundTripSockets]
	logf("measuring patient round trips: %d patients at once for %v, %d sockets listening", cfg.Writers, cfg.RoundTripFor, len(conns))
	c0, err := meter.read()
	if err != nil {
		return res, err
	}
	rt := runRoundTrips(ctx, devs, cfg.Writers, cfg.RoundTripFor, rtLog, len(conns))
	c1, err := meter.read()
	if err != nil {
		return res, err
	}
	if rt.done == 0 && rt.firstErr != nil {
		return res, fmt.Errorf("no round trip went through: %w", rt.firstErr)
	}
	res.Detail.RoundTripRSSMB, _, _, _ = srv.memMB()
	res.RoundTripPerS = float64(rt.done) / cfg.RoundTripFor.Seconds()
	res.Detail.RoundTrip, res.Detail.RoundTripAlert = summarize(rt.lat), summarize(rt.alerts)
	res.Detail.RoundTripCompose, res.Detail.RoundTripFirst, res.Detail.RoundTripSpread = summarize(rt.compose), summarize(rt.first), summarize(rt.spread)
	res.Detail.RoundTrips, res.Detail.RoundTripThrottled, res.Detail.RoundTripFailed = rt.done, rt.throttled, rt.failed
	res.Detail.RoundTripSockets, res.Detail.RoundTripMissed = len(conns), rt.missed
	res.RoundTripAlertP50Ms, res.RoundTripAlertP99Ms = res.Detail.RoundTripAlert.P50, res.Detail.RoundTripAlert.P99
	if rt.missed > 0 {
		res.RoundTripAlertP99Ms = 1e9 // as above: a frame that never came is a failure
	}
	res.Detail.CPUusPerRoundTrip = perUnit(c0.server, c1.server, rt.done)
	res.Detail.DBCPUusPerRT = perUnit(c0.db, c1.db, rt.done)
	res.Detail.BenchCPUusPerRT = perUnit(c0.bench, c1.bench, rt.done)

	// The sockets close before the ingest run: fanning every one of 2,000
	// new items a second out to 500 browsers is a different question (how
	// fast the hub writes frames), and the ingest figure is about durable
	// acknowledgement. With them open, each item also costs one frame write
	// per socket.
	if err := closeSockets(conns); err != nil {
		return res, err
	}
	conns = nil

	// Ingest: 64 patients posting as fast as the server acknowledges.
	logf("measuring ingest: %d patients for %v", cfg.Writers, cfg.IngestFor)
	var acked, refused, throttled atomic.Int64
	var mu sync.Mutex
	var ackLat []time.Duration
	c0, err = meter.read()
	if err != nil {
		return res, err
	}
	stop := time.Now().Add(cfg.IngestFor)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var local []time.Duration
			for i := w; time.Now().Before(stop) && ctx.Err() == nil; i += cfg.Writers {
				d := devs[i%len(devs)]
				t := time.Now()
				_, err := d.send("I need a refill of my blood pressure medicine, the pharmacy says the prescription ran out. " + strconv.Itoa(i))
				switch {
				case err == nil:
					acked.Add(1)
					local = append(local, time.Since(t))
				case err == errThrottled:
					throttled.Add(1)
				default:
					refused.Add(1)
				}
			}
			mu.Lock()
			ackLat = append(ackLat, local...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	c1, err = meter.read()
	if err != nil {
		return res, err
	}
	res.IngestPerS = float64(acked.Load()) / cfg.IngestFor.Seconds()
	res.CPUusPerMessage = perUnit(c0.server, c1.server, int(acked.Load()))
	res.DBCPUusPerMessage = perUnit(c0.db, c1.db, int(acked.Load()))
	res.Detail.BenchCPUusPerMsg = perUnit(c0.bench, c1.bench, int(acked.Load()))
	res.Detail.Acked, res.Detail.Refused, res.Detail.Throttled = int(acked.Load()), int(refused.Load()), int(throttled.Load())
	res.Detail.Ingest = summarize(ackLat)
	later, _, _, _ := peak.stop()
	res.Detail.RSSPeakMB = max(later, res.RSSMB)
	if err := srv.stop(); err != nil {
		return res, err
	}

	res.Detail.Messages = creds.Messages + 100 + rt.done + int(acked.Load())
	if cfg.SizeBytes != nil {
		if n, err := cfg.SizeBytes(); err == nil {
			res.Detail.DBBytes = n
			res.BytesPerMessage = float64(n) / float64(res.Detail.Messages)
		}
	}
	return res, nil
}

// device is one signed-in patient browser.
type device struct {
	c *client
}

var errThrottled = fmt.Errorf("throttled")
var threadRe = regexp.MustCompile(`/t/([0-9a-f-]{36})`)

// send posts a message the way the compose form does. The hidden inputs are
// fetched once per device and reused, as a browser tab would.
func (d *device) send(body string) (string, error) {
	if d.c.csrf == "" {
		if err := d.compose(); err != nil {
			return "", err
		}
	}
	form := d.c.csrf + "&" + url.Values{"type": {"message"}, "body": {body}}.Encode()
	req, _ := http.NewRequest("POST", d.c.base+"/new", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", d.c.base)
	resp, err := d.c.hc.Do(req)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if err := errors.Join(err, resp.Body.Close()); err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return "", errThrottled
	}
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("POST /new answered %d", resp.StatusCode)
	}
	m := threadRe.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		return "", fmt.Errorf("POST /new: no thread in %q", resp.Header.Get("Location"))
	}
	return m[1], nil
}

// compose loads the compose page and keeps its hidden inputs.
func (d *device) compose() error {
	code, b, _, err := d.c.do("GET", "/new?type=message", nil, "")
	if err != nil || code != 200 {
		return fmt.Errorf("compose page: %d %v", code, err)
	}
	d.c.csrf = hiddenFast(b).Encode()
	return nil
}

// enrolPatients creates n patients with invites and walks each invite with
// the birth date, from many loopback addresses.
func enrolPatients(ctx context.Context, owner *client, base string, n, par int) ([]*device, error) {
	devs := make([]*device, n)
	// 1,000 source addresses, each shared by a few patients, as phones
	// share carrier addresses; enough that no address reaches the
	// per-address write limit (120 per 15 minutes) during the run.
	transports := make([]*http.Transport, 1000)
	for i := range transports {
		d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: srcAddr(i)}}
		transports[i] = &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}
	}
	errs := make(chan error, par)
	var next atomic.Int64
	// Each run's patients have names of their own: a reused data folder
	// already holds the last run's, and the same name and birth date again
	// is refused as a likely duplicate (as it should be).
	run := strconv.FormatInt(time.Now().Unix(), 36)
	var wg sync.WaitGroup
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				dob := time.Date(1950+i%50, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
				var p struct {
					ID string `json:"id"`
				}
				code, err := owner.json("POST", "/api/v1/patients", map[string]string{"name": fmt.Sprintf("Bench Patient %s %05d", run, i), "dob": dob, "phone": "555-010-" + fmt.Sprintf("%04d", i%10000), "lang": "en"}, &p)
				if err != nil || code != 201 {
					errs <- fmt.Errorf("create patient: %d %v", code, err)
					return
				}
				var inv struct {
					Code string `json:"code"`
				}
				code, err = owner.json("POST", "/api/v1/patients/"+p.ID+"/invites", nil, &inv)
				if err != nil || code != 201 {
					errs <- fmt.Errorf("invite: %d %v", code, err)
					return
				}
				c := newClientVia(base, transports[i%len(transports)])
				code, _, err = c.form("/i/"+inv.Code, "/i/"+inv.Code, url.Values{"dob": {dob}})
				if err != nil || code != http.StatusSeeOther {
					errs <- fmt.Errorf("invite sign-in answered %d: %v", code, err)
					return
				}
				// The patient opens the compose page once, as a phone's
				// tab does; the ingest phase then times the sends alone
				// (the round-trip phase times the whole of it).
				d := &device{c: c}
				if err := d.compose(); err != nil {
					errs <- err
					return
				}
				devs[i] = d
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return devs, nil
}

// srcAddr spreads patients over 127.0.0.2 – 127.0.255.254.
func srcAddr(i int) net.IP {
	n := i%65000 + 2
	return net.IPv4(127, 0, byte(n>>8), byte(n&0xff))
}

func dialWS(base string, c *client) (*websocket.Conn, error) {
	hdr := http.Header{"Origin": {base}}
	u, _ := url.Parse(base)
	for _, ck := range c.hc.Jar.Cookies(u) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/v1/ws", hdr)
	return conn, err
}

// listener collects when each socket heard of each item.
type listener struct {
	mu  sync.Mutex
	got map[string][]time.Time
}

func newListener() *listener { return &listener{got: map[string][]time.Time{}} }

// heard records that one socket heard of item id at now.
func (l *listener) heard(id string, now time.Time) {
	l.mu.Lock()
	l.got[id] = append(l.got[id], now)
	l.mu.Unlock()
}

// wait returns the delays from start until each socket heard of id.
func (l *listener) wait(id string, start time.Time, sockets int, within time.Duration) ([]time.Duration, int) {
	deadline := time.Now().Add(within)
	for {
		l.mu.Lock()
		n := len(l.got[id])
		l.mu.Unlock()
		if n >= sockets || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for _, t := range l.got[id] {
		out = append(out, t.Sub(start))
	}
	delete(l.got, id)
	return out, sockets - len(out)
}

// closeSockets closes the staff sockets.
func closeSockets(conns []*websocket.Conn) error {
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// machine measures what the figures depend on. A failed disk probe leaves
// FsyncMs at 0 and says why through logf.
func machine(dir string, logf func(string, ...any)) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, v, _ := strings.Cut(l, ":")
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	ms, err := fsyncMs(dir)
	if err != nil {
		logf("could not measure the disk's fsync time: %v", err)
	}
	m.FsyncMs = ms
	return m
}

// fsyncMs is the median time of 50 fsyncs of a freshly written 4 KiB page
// in dir.
func fsyncMs(dir string) (float64, error) {
	f, err := os.CreateTemp(dir, ".fsync-probe-")
	if err != nil {
		return 0, err
	}
	ds, err := fsyncTimes(f)
	if err := errors.Join(err, f.Close(), os.Remove(f.Name())); err != nil {
		return 0, err
	}
	return summarize(ds).P50, nil
}

func fsyncTimes(f *os.File) ([]time.Duration, error) {
	buf := make([]byte, 4096)
	var ds []time.Duration
	for i := 0; i < 50; i++ {
		rand.Shuffle(len(buf), func(a, b int) { buf[a], buf[b] = buf[b], buf[a] })
		if _, err := f.WriteAt(buf, int64(i)*4096); err != nil {
			return nil, err
		}
		t := time.Now()
		if err := f.Sync(); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t))
	}
	return ds, nil
}

// Print writes the table (or JSON) with a verdict per figure, and returns
// the first write error.
func Print(w io.Writer, r Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	p := &printer{w: w}
	p.printf("machine: %d cores, %s, %s, %s, fsync p50 %.2f ms\n", r.Machine.Cores, r.Machine.CPU, r.Machine.GoVersion, r.Machine.OS, r.Machine.FsyncMs)
	p.printf("store: %d messages, %d bytes; %d staff sockets\n\n", r.Detail.Messages, r.Detail.DBBytes, r.Detail.Sockets)
	p.printf("%-64s %12s %12s  %s\n", "figure", "measured", "target", "verdict")
	for _, t := range targets {
		v := t.get(r)
		ok := v <= t.limit
		cmp := "≤"
		if t.atLeast {
			ok, cmp = v >= t.limit, "≥"
		}
		verdict := "PASS"
		if !ok {
			verdict = "MISS"
		}
		prec := 1
		if v < 10 {
			prec = 2
		}
		p.printf("%-64s %10.*f%-2s %s%9.0f%-2s  %s\n", t.name, prec, v, t.unit, cmp, t.limit, t.unit, verdict)
	}
	d := r.Detail
	p.printf("\nlatencies (ms)          p50      p95      p99        n\n")
	for _, l := range []struct {
		n string
		l Latency
	}{{"ingest ack", d.Ingest}, {"alert", d.Alert}, {"round trip", d.RoundTrip}, {"round-trip alert", d.RoundTripAlert},
		{"  start -> POST", d.RoundTripCompose}, {"  POST -> 1st frame", d.RoundTripFirst}, {"  1st -> last frame", d.RoundTripSpread},
		{"inbox warm", d.InboxWarm}, {"inbox cold", d.InboxCold}, {"search", d.Search}} {
		p.printf("%-18s %8.2f %8.2f %8.2f %8d\n", l.n, l.l.P50, l.l.P95, l.l.P99, l.l.N)
	}
	p.printf("\ningest: %d acknowledged, %d refused, %d throttled; alerts missed: %d\n", d.Acked, d.Refused, d.Throttled, d.AlertMissed)
	p.printf("round trips: %d complete, %d throttled, %d failed; %d sockets listening, frames missed: %d; %.0f MB resident at the end (peak of the whole run %.0f MB)\n",
		d.RoundTrips, d.RoundTripThrottled, d.RoundTripFailed, d.RoundTripSockets, d.RoundTripMissed, d.RoundTripRSSMB, d.RSSPeakMB)
	p.printf("CPU (%s): %.0f µs per acknowledged message", d.CPUSource, r.CPUusPerMessage)
	if r.DBCPUusPerMessage > 0 {
		p.printf(" + %.0f µs in the database", r.DBCPUusPerMessage)
	}
	p.printf("; %.0f µs per round trip", d.CPUusPerRoundTrip)
	if d.DBCPUusPerRT > 0 {
		p.printf(" + %.0f µs in the database", d.DBCPUusPerRT)
	}
	p.printf("\nCPU of the bench itself (the load generator, on the same cores): %.0f µs per acknowledged message; %.0f µs per round trip\n",
		d.BenchCPUusPerMsg, d.BenchCPUusPerRT)
	p.printf("the database's structure check ended %.2f s after start (bbolt's holds the write lock: until then no write is acknowledged)\n", d.CheckedS)
	p.printf("memory: peak %.0f MB resident with all the sockets open = %.0f MB heap and stacks + %.0f MB of database pages mapped from the file + %.0f MB of the program's own code\n",
		r.RSSMB, d.RSSAnonMB, d.RSSDBMB, d.RSSFileMB-d.RSSDBMB)
	return p.err
}

// printer writes formatted lines until one fails, and keeps that error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}
