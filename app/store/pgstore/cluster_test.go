package pgstore

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pocketbase/dbx"

	"hearth/app/store"
	"hearth/app/store/pgstore/pgtest"
)

// clusterNodes opens n Stores on one fresh database: n Hearth nodes of one
// clinic group.
func clusterNodes(t *testing.T, n int) (string, []*Store) {
	t.Helper()
	dsn := pgtest.DSN(t)
	var nodes []*Store
	for range n {
		s, err := Open(context.Background(), dsn, Options{Migrations: os.DirFS("../../../embed/migrations")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		nodes = append(nodes, s)
	}
	return dsn, nodes
}

// terminate ends, as an administrator would, the sessions that query (run
// on the test database) selects by pid, and returns how many it ended.
func terminate(t *testing.T, dsn, query string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := conn.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (`+query+`) s`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type note struct{ node, channel, payload string }

// listenAll runs Listen on every node, forwarding what fn sees, and returns
// the stream and a stop function that waits for every Listen to return nil.
func listenAll(t *testing.T, nodes map[string]*Store, channels ...string) (<-chan note, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	notes := make(chan note, 100)
	errs := make(chan error, len(nodes))
	for name, s := range nodes {
		go func() {
			errs <- s.Listen(ctx, channels, func(ch, payload string) {
				notes <- note{name, ch, payload}
			})
		}()
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		for range nodes {
			select {
			case err := <-errs:
				if err != nil {
					t.Errorf("Listen returned %v when its ctx ended, want nil", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("Listen did not return within 3 s of its ctx ending")
			}
		}
	}
	t.Cleanup(stop)
	return notes, stop
}

// expectNotes waits up to within for exactly the notes in want, in any
// order.
func expectNotes(t *testing.T, notes <-chan note, within time.Duration, want ...note) {
	t.Helper()
	deadline := time.After(within)
	left := slices.Clone(want)
	for len(left) > 0 {
		select {
		case n := <-notes:
			i := slices.Index(left, n)
			if i < 0 {
				t.Fatalf("unexpected notification %+v (still waiting for %+v)", n, left)
			}
			left = slices.Delete(left, i, i+1)
		case <-deadline:
			t.Fatalf("within %v, still waiting for %+v", within, left)
		}
	}
}

// TestClusterNotify: a notification sent by one node reaches every node
// listening, the sender included, intact and at once; every Listen first
// reports "you may have missed something".
func TestClusterNotify(t *testing.T) {
	t.Parallel()
	_, nodes := clusterNodes(t, 2)
	a, b := nodes[0], nodes[1]
	notes, stop := listenAll(t, map[string]*Store{"a": a, "b": b}, "hearth_events", "hearth_jobs")
	expectNotes(t, notes, 5*time.Second,
		note{"a", "hearth_events", ""}, note{"a", "hearth_jobs", ""},
		note{"b", "hearth_events", ""}, note{"b", "hearth_jobs", ""})

	ctx := context.Background()
	payload := "seq=42 item=01JX7Q ü " + strings.Repeat("x", maxPayload-40)
	if err := a.Notify(ctx, "hearth_events", payload); err != nil {
		t.Fatal(err)
	}
	expectNotes(t, notes, time.Second, note{"a", "hearth_events", payload}, note{"b", "hearth_events", payload})
	if err := b.Notify(ctx, "hearth_jobs", "7"); err != nil {
		t.Fatal(err)
	}
	expectNotes(t, notes, time.Second, note{"a", "hearth_jobs", "7"}, note{"b", "hearth_jobs", "7"})
	// Nobody listens on this one: it goes nowhere, and is not an error.
	if err := a.Notify(ctx, "hearth_other", "1"); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ channel, payload string }{
		{"", "1"},
		{"Hearth_events", "1"},
		{"hearth-events", "1"},
		{"hearth events; DROP TABLE hearth_records", "1"},
		{strings.Repeat("a", 64), "1"},
		{"hearth_events", strings.Repeat("x", maxPayload+1)},
		{"hearth_events", "nul\x00byte"},
		{"hearth_events", "\xff"},
	} {
		if err := a.Notify(ctx, c.channel, c.payload); err == nil {
			t.Errorf("Notify(%.20q, %.20q) succeeded, want an error", c.channel, c.payload)
		}
	}
	if err := a.Notify(ctx, "Bad", ""); !errors.Is(err, store.ErrBadName) {
		t.Errorf("Notify on a bad channel: %v, want store.ErrBadName", err)
	}
	if err := a.Listen(ctx, []string{"hearth_events", "Bad"}, func(string, string) {}); !errors.Is(err, store.ErrBadName) {
		t.Errorf("Listen on a bad channel: %v, want store.ErrBadName", err)
	}
	if err := a.Listen(ctx, nil, func(string, string) {}); err == nil {
		t.Error("Listen on no channels succeeded")
	}

	stop()
	select {
	case n := <-notes:
		t.Errorf("stray notification %+v", n)
	default:
	}
}

// TestClusterListenReconnects: when the listening session is killed,
// Listen reconnects, says again that something may have been missed, and
// goes on receiving.
func TestClusterListenReconnects(t *testing.T) {
	t.Parallel()
	dsn, nodes := clusterNodes(t, 2)
	a, b := nodes[0], nodes[1]
	notes, _ := listenAll(t, map[string]*Store{"b": b}, "hearth_events", "hearth_jobs")
	expectNotes(t, notes, 5*time.Second, note{"b", "hearth_events", ""}, note{"b", "hearth_jobs", ""})

	for range 2 {
		killed := terminate(t, dsn, `SELECT pid FROM pg_stat_activity
			WHERE application_name = 'hearth-listen' AND datname = current_database()`)
		if killed != 1 {
			t.Fatalf("terminated %d listening sessions, want 1", killed)
		}
		expectNotes(t, notes, 2*time.Second, note{"b", "hearth_events", ""}, note{"b", "hearth_jobs", ""})
		if err := a.Notify(context.Background(), "hearth_jobs", "after"); err != nil {
			t.Fatal(err)
		}
		expectNotes(t, notes, time.Second, note{"b", "hearth_jobs", "after"})
	}
}

// TestClusterBackoff: reconnection attempts are spaced 100 ms, doubling to
// 2 s, so a node never spins while its database is down.
func TestClusterBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // wait returns at once but still advances
	var b reconnectBackoff
	var got []time.Duration
	for range 7 {
		got = append(got, max(b.next, minBackoff))
		if b.wait(ctx) {
			t.Fatal("wait reported success on an ended ctx")
		}
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	b.reset()
	if b.next != 0 {
		t.Errorf("after reset the next delay is %v, want the minimum", b.next)
	}
}

// TestClusterNoHotLoop: while the database refuses every session, Listen
// and Lead retry with backoff (100 ms, 200 ms, 400 ms, 800 ms, ...) rather
// than spinning, never call fn, and still return nil when ctx ends.
func TestClusterNoHotLoop(t *testing.T) {
	t.Parallel()
	for _, what := range []string{"listen", "lead"} {
		t.Run(what, func(t *testing.T) {
			t.Parallel()
			// A "server" that reads the startup message and hangs up. It
			// counts sessions asked for, not the cancel requests pgx may
			// send after a failed attempt (code 80877102).
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := ln.Close(); err != nil {
					t.Error(err)
				}
			}()
			var attempts atomic.Int32
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						// A fake server that only counts attempts and hangs
						// up: nothing waits for its close to succeed.
						defer func() { _ = c.Close() }()
						var head [8]byte
						if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
							return
						}
						if _, err := io.ReadFull(c, head[:]); err == nil && binary.BigEndian.Uint32(head[4:]) != 80877102 {
							attempts.Add(1)
						}
					}()
				}
			}()
			s := &Store{dsn: "postgres://hearth:secret@" + ln.Addr().String() + "/hearth?sslmode=disable"}
			ctx, cancel := context.WithTimeout(context.Background(), 1600*time.Millisecond)
			defer cancel()
			var called atomic.Bool
			var err2 error
			if what == "listen" {
				err2 = s.Listen(ctx, []string{"hearth_events"}, func(string, string) { called.Store(true) })
			} else {
				err2 = s.Lead(ctx, "hearth_jobs", func(context.Context) { called.Store(true) })
			}
			if err2 != nil {
				t.Errorf("returned %v when ctx ended, want nil", err2)
			}
			if called.Load() {
				t.Error("fn was called without a connection")
			}
			// Attempts at about 0, 0.1, 0.3, 0.7 and 1.5 s.
			if n := attempts.Load(); n < 3 || n > 6 {
				t.Errorf("%d connection attempts in 1.6 s, want about 5", n)
			}
		})
	}
}

// TestClusterSessionSettings: the dedicated sessions carry their
// application_name and the server-side keepalive settings that bound how
// long a vanished leader keeps its lock.
func TestClusterSessionSettings(t *testing.T) {
	t.Parallel()
	_, nodes := clusterNodes(t, 1)
	cfg, err := nodes[0].sessionConfig("hearth-lead")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := conn.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	for setting, want := range map[string]string{
		"application_name":        "hearth-lead",
		"tcp_keepalives_idle":     "5",
		"tcp_keepalives_interval": "2",
		"tcp_keepalives_count":    "3",
		"tcp_user_timeout":        "10000",
	} {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	bad := &Store{dsn: "postgres://hearth:s3cret@127.0.0.1:5432/hearth?connect_timeout=nope"}
	if _, err := bad.sessionConfig("x"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("sessionConfig of a bad DSN: %v, want an error that does not quote it", err)
	}
}

// leaderLog records which node runs fn, and whether two ever ran at once.
type leaderLog struct {
	running atomic.Int32
	overlap atomic.Bool
	events  chan string // "start a", "stop a", ...
}

func (l *leaderLog) fn(node string) func(ctx context.Context) {
	return func(ctx context.Context) {
		if l.running.Add(1) > 1 {
			l.overlap.Store(true)
		}
		l.events <- "start " + node
		<-ctx.Done()
		l.running.Add(-1)
		l.events <- "stop " + node
	}
}

func (l *leaderLog) next(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case e := <-l.events:
		return e
	default:
	}
	select {
	case e := <-l.events:
		return e
	case <-time.After(within):
		t.Fatalf("no leadership change within %v", within)
		return ""
	}
}

// TestClusterLead: of two nodes competing for one leadership exactly one
// runs fn; when the leader's session dies its fn's ctx is cancelled and the
// other node takes over within seconds; ending ctx makes Lead return, after
// fn.
func TestClusterLead(t *testing.T) {
	t.Parallel()
	dsn, nodes := clusterNodes(t, 2)
	log := &leaderLog{events: make(chan string, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 2)
	for i, s := range nodes {
		name := string(rune('a' + i))
		go func() { errs <- s.Lead(ctx, "hearth_jobs", log.fn(name)) }()
	}

	first := log.next(t, 3*time.Second)
	leader := strings.TrimPrefix(first, "start ")
	other := map[string]string{"a": "b", "b": "a"}[leader]
	select {
	case e := <-log.events:
		t.Fatalf("%q while %s leads undisturbed", e, leader)
	case <-time.After(1500 * time.Millisecond):
	}

	killedAt := time.Now()
	killed := terminate(t, dsn, `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'hearth-lead'
		AND a.datname = current_database()`)
	if killed != 1 {
		t.Fatalf("terminated %d leader sessions, want 1", killed)
	}
	if e := log.next(t, time.Second); e != "stop "+leader {
		t.Fatalf("after the leader's session died: %q, want %q", e, "stop "+leader)
	}
	t.Logf("old leader's fn stopped %v after its session was terminated", time.Since(killedAt).Round(time.Millisecond))
	if e := log.next(t, 3*time.Second); e != "start "+other {
		t.Fatalf("after the leader's session died: %q, want %q", e, "start "+other)
	}
	t.Logf("takeover: %v from terminating the leader's session to the other node running fn", time.Since(killedAt).Round(time.Millisecond))

	cancel()
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("Lead returned %v when its ctx ended, want nil", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("Lead did not return within 3 s of its ctx ending")
		}
	}
	if e := log.next(t, 0); e != "stop "+other {
		t.Errorf("when ctx ended: %q, want %q", e, "stop "+other)
	}
	if n := log.running.Load(); n != 0 {
		t.Errorf("%d fn still running after Lead returned", n)
	}
	if log.overlap.Load() {
		t.Error("two nodes ran fn at the same time")
	}
}

// TestClusterLeadKilled: when the leader's process is killed (SIGKILL, no
// chance to clean up), another node takes over within leadPoll + leadGrace.
func TestClusterLeadKilled(t *testing.T) {
	t.Parallel()
	dsn, nodes := clusterNodes(t, 1)
	// The first leader is this test binary run again as a separate process
	// (TestClusterLeaderProcess), so it can be killed outright.
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterLeaderProcess$")
	cmd.Env = append(os.Environ(), "HEARTH_TEST_LEADER_DSN="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	leading := make(chan struct{})
	go func() {
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			if lines.Text() == "leading" {
				close(leading)
			}
		}
	}()
	select {
	case <-leading:
	case <-time.After(10 * time.Second):
		t.Fatal("the leader process did not lead within 10 s")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan time.Time, 1)
	done := make(chan error, 1)
	go func() {
		done <- nodes[0].Lead(ctx, "hearth_jobs", func(ctx context.Context) {
			started <- time.Now()
			<-ctx.Done()
		})
	}()
	select {
	case <-started:
		t.Fatal("a second node leads while the first is alive")
	case <-time.After(1500 * time.Millisecond):
	}
	killedAt := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-started:
		t.Logf("takeover: %v from SIGKILL of the leader's process to the other node running fn", at.Sub(killedAt).Round(time.Millisecond))
	case <-time.After(leadPoll + leadGrace + time.Second):
		t.Fatal("no takeover within leadPoll + leadGrace + 1 s of the leader being killed")
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestClusterLeaderProcess is the first leader of TestClusterLeadKilled,
// run in a process of its own; it does nothing in a normal test run.
func TestClusterLeaderProcess(t *testing.T) {
	dsn := os.Getenv("HEARTH_TEST_LEADER_DSN")
	if dsn == "" {
		t.Skip("only run as a helper process by TestClusterLeadKilled")
	}
	s, err := Open(context.Background(), dsn, Options{Migrations: os.DirFS("../../../embed/migrations")})
	if err != nil {
		t.Fatal(err)
	}
	// Bounded, so that it cannot outlive a parent test that crashed.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.Lead(ctx, "hearth_jobs", func(ctx context.Context) {
		fmt.Println("leading")
		<-ctx.Done()
	})
}

// TestClusterLeadAgain: a leader whose fn returns on its own releases the
// lock and competes again on the same connection; leaderships of different
// names are independent.
func TestClusterLeadAgain(t *testing.T) {
	t.Parallel()
	_, nodes := clusterNodes(t, 1)
	s := nodes[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Each run records the pid of the session holding the lock: the same
	// one every time if the lock was released rather than the connection
	// dropped.
	key := uint64(leadKey("hearth_sweep"))
	var runs atomic.Int32
	var mu sync.Mutex
	pids := map[int]bool{}
	var wg sync.WaitGroup
	wg.Go(func() {
		err := s.Lead(ctx, "hearth_sweep", func(ctx context.Context) {
			var pid int
			if err := s.db.NewQuery(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
				AND classid::bigint = {:hi} AND objid::bigint = {:lo} AND objsubid = 1`).
				Bind(dbx.Params{"hi": int64(key >> 32), "lo": int64(key & 0xffffffff)}).
				WithContext(ctx).Row(&pid); err != nil {
				t.Errorf("while leading, the lock is not held: %v", err)
			}
			mu.Lock()
			pids[pid] = true
			mu.Unlock()
			runs.Add(1)
		})
		if err != nil {
			t.Error(err)
		}
	})
	other := make(chan struct{})
	wg.Go(func() {
		if err := s.Lead(ctx, "hearth_mail", func(ctx context.Context) { close(other); <-ctx.Done() }); err != nil {
			t.Error(err)
		}
	})
	select {
	case <-other:
	case <-time.After(3 * time.Second):
		t.Fatal("a second leadership name was not granted")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runs.Load(); n < 2 {
		t.Fatalf("fn ran %d times, want it to lead again after returning", n)
	}
	cancel()
	wg.Wait()
	if len(pids) != 1 {
		t.Errorf("the lock was held by sessions %v, want one session throughout", pids)
	}
	if err := s.Lead(context.Background(), "Bad Name", func(context.Context) {}); !errors.Is(err, store.ErrBadName) {
		t.Errorf("Lead with a bad name: %v, want store.ErrBadName", err)
	}
}

// TestClusterThrottle: counters are shared by all nodes, windows end and
// restart by the database's clock, ResetHits forgets, and concurrent hits
// from several nodes are all counted.
func TestClusterThrottle(t *testing.T) {
	t.Parallel()
	dsn, nodes := clusterNodes(t, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	hit := func(s *Store, key string, window time.Duration, want int) {
		t.Helper()
		if n, err := s.Hit(ctx, key, window); err != nil || n != want {
			t.Fatalf("Hit(%q) = %d, %v; want %d", key, n, err, want)
		}
	}
	hits := func(s *Store, key string, window time.Duration, want int) {
		t.Helper()
		if n, err := s.Hits(ctx, key, window); err != nil || n != want {
			t.Fatalf("Hits(%q) = %d, %v; want %d", key, n, err, want)
		}
	}

	hits(a, "login:9f86d081", time.Minute, 0)
	hit(a, "login:9f86d081", time.Minute, 1)
	hit(b, "login:9f86d081", time.Minute, 2)
	hit(a, "login:9f86d081", time.Minute, 3)
	hits(b, "login:9f86d081", time.Minute, 3)
	hits(a, "login:other", time.Minute, 0)
	if err := b.ResetHits(ctx, "login:9f86d081"); err != nil {
		t.Fatal(err)
	}
	hits(a, "login:9f86d081", time.Minute, 0)
	hit(a, "login:9f86d081", time.Minute, 1)
	if err := a.ResetHits(ctx, "never:hit"); err != nil {
		t.Fatalf("ResetHits of a key never hit: %v", err)
	}

	// A short window ends, and the next hit starts a new one.
	const short = 700 * time.Millisecond
	hit(a, "ip:abc", short, 1)
	hit(b, "ip:abc", short, 2)
	hits(a, "ip:abc", short, 2)
	time.Sleep(short + 100*time.Millisecond)
	hits(a, "ip:abc", short, 0)
	hit(b, "ip:abc", short, 1)
	hits(a, "ip:abc", short, 1)

	// The row records when its window expires, for the sweep in Hit.
	conn := pgtest.Conn(t, dsn)
	var span time.Duration
	if err := conn.QueryRow(ctx, `SELECT expires - started FROM hearth_throttle WHERE key = 'login:9f86d081'`).Scan(&span); err != nil {
		t.Fatal(err)
	}
	if span != time.Minute {
		t.Errorf("expires - started = %v, want the window, 1m", span)
	}

	// Twenty concurrent hits from two nodes: each gets its own count.
	var wg sync.WaitGroup
	got := make(chan int, 20)
	for i := range 20 {
		s := nodes[i%2]
		wg.Go(func() {
			n, err := s.Hit(ctx, "burst", time.Minute)
			if err != nil {
				t.Error(err)
			}
			got <- n
		})
	}
	wg.Wait()
	close(got)
	var counts []int
	for n := range got {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	for i, n := range counts {
		if n != i+1 {
			t.Fatalf("concurrent hits returned %v, want 1 to 20 once each", counts)
		}
	}
	hits(b, "burst", time.Minute, 20)

	// HitBoth spends two budgets in one statement, the second only while
	// the first is within its max, on the same counts Hit and Hits see.
	both := func(s *Store, max, want1, want2 int) {
		t.Helper()
		n1, n2, err := s.HitBoth(ctx, "pitems:p1", max, "client:c1", time.Minute)
		if err != nil || n1 != want1 || n2 != want2 {
			t.Fatalf("HitBoth = %d, %d, %v; want %d, %d", n1, n2, err, want1, want2)
		}
	}
	hit(a, "client:c1", time.Minute, 1)
	both(a, 2, 1, 2)
	both(b, 2, 2, 3)
	both(a, 2, 3, 0) // over its own budget: the address is not charged
	hits(b, "client:c1", time.Minute, 3)
	hits(a, "pitems:p1", time.Minute, 3)
	if _, _, err := a.HitBoth(ctx, "same", 5, "same", time.Minute); err == nil {
		t.Error("HitBoth with one key twice succeeded, want an error")
	}

	for _, c := range []struct {
		key    string
		window time.Duration
	}{
		{"", time.Minute},
		{strings.Repeat("k", 257), time.Minute},
		{"nul\x00", time.Minute},
		{"k", 0},
		{"k", -time.Second},
	} {
		if _, err := a.Hit(ctx, c.key, c.window); err == nil {
			t.Errorf("Hit(%.20q, %v) succeeded, want an error", c.key, c.window)
		}
		if _, err := a.Hits(ctx, c.key, c.window); err == nil {
			t.Errorf("Hits(%.20q, %v) succeeded, want an error", c.key, c.window)
		}
		if _, _, err := a.HitBoth(ctx, "fine", 1, c.key, c.window); err == nil {
			t.Errorf("HitBoth(fine, %.20q, %v) succeeded, want an error", c.key, c.window)
		}
	}
}
