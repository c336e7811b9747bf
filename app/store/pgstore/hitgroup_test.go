package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"hearth/app/store/pgstore/pgtest"
)

// holdHits makes s queue its HitBoths, as if a group statement were
// running, until release runs the queue (as the lead in the test's
// goroutine). wait blocks until n calls are queued.
func holdHits(t *testing.T, s *Store) (wait func(n int), release func()) {
	t.Helper()
	g := &s.hits
	g.mu.Lock()
	if g.running {
		g.mu.Unlock()
		t.Fatal("a group is already running")
	}
	g.running = true
	g.mu.Unlock()
	wait = func(n int) {
		t.Helper()
		for {
			g.mu.Lock()
			queued := len(g.queue)
			g.mu.Unlock()
			if queued >= n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	return wait, func() { g.lead(maxHitGroup, s.runHits) }
}

// sqlExec runs statements on the store's database from a connection of its own.
func sqlExec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Conn(t, dsn)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

type hitArgs struct {
	first  string
	max    int
	second string
	window time.Duration
}

// TestHitGroupMatchesOneByOne: a group of HitBoths, with keys repeated,
// shared between calls as first and as second, over two windows and over
// windows that have ended, gives every call exactly the counts that the
// calls one after another (each Hit(first), then Hit(second) if within
// max) give on a copy of the same keys.
func TestHitGroupMatchesOneByOne(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	s := openDSN(t, dsn)
	ctx := context.Background()
	const w, w2 = time.Minute, 2 * time.Minute
	calls := []hitArgs{
		{"p1", 2, "a1", w},
		{"p1", 2, "a1", w},
		{"p1", 2, "a1", w}, // over p1's max: a1 is not charged
		{"p2", 5, "a1", w},
		{"a1", 10, "p3", w}, // a1 as the first key of another call
		{"p4", 0, "a2", w},  // a max of 0 never charges the second
		{"p5", 3, "a2", w2}, // another window, sharing keys
		{"p5", 3, "a3", w},
		{"old", 1, "a4", w},  // old's window has ended: it starts again at 1
		{"p6", 1, "aold", w}, // and aold's
		{"p6", 1, "aold", w},
		{"full", 3, "a5", w}, // full is over its max before the group
	}
	for i := range 20 { // distinct patients, two by two behind one address
		calls = append(calls, hitArgs{fmt.Sprintf("q%02d", i), 1, fmt.Sprintf("b%02d", i/2), w})
	}
	calls = append(calls, hitArgs{"p7", 1, "a6", w}, hitArgs{"p8", 9, "a6", w})
	// The same starting counts on both copies of the keys.
	for _, ns := range []string{"g:", "s:"} {
		for range 5 {
			for _, k := range []string{"old", "aold", "full", "a6"} {
				if _, err := s.Hit(ctx, ns+k, w); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	sqlExec(t, dsn, `UPDATE hearth_throttle SET started = started - interval '1 hour', expires = expires - interval '1 hour'
		WHERE key IN ('g:old', 's:old', 'g:aold', 's:aold')`)

	// One after another, on the s: copy.
	type counts struct{ n1, n2 int }
	var want []counts
	for _, c := range calls {
		n1, err := s.Hit(ctx, "s:"+c.first, c.window)
		if err != nil {
			t.Fatal(err)
		}
		n2 := 0
		if n1 <= c.max {
			if n2, err = s.Hit(ctx, "s:"+c.second, c.window); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, counts{n1, n2})
	}

	// As one group, on the g: copy.
	var group []*hitCall
	for _, c := range calls {
		group = append(group, &hitCall{ctx: ctx, first: "g:" + c.first, max: c.max, second: "g:" + c.second, window: c.window, done: make(chan struct{})})
	}
	rounds := hitRounds(group)
	if len(rounds) < 2 || len(rounds) > len(group)/2 {
		t.Errorf("%d calls in %d rounds: want keys repeated across rounds and most calls sharing one", len(group), len(rounds))
	}
	for _, r := range rounds {
		var keys []string
		for _, c := range r.calls {
			keys = append(keys, c.first, c.second)
			if c.window != r.window {
				t.Errorf("a call of window %v in a round of %v", c.window, r.window)
			}
		}
		slices.Sort(keys)
		if len(slices.Compact(keys)) != 2*len(r.calls) {
			t.Errorf("a round holds a key twice: %v", keys)
		}
	}
	s.runHits(group)
	for i, c := range group {
		<-c.done
		if c.err != nil || c.n1 != want[i].n1 || c.n2 != want[i].n2 {
			t.Errorf("call %d %+v: grouped %d, %d, %v; one by one %d, %d", i, calls[i], c.n1, c.n2, c.err, want[i].n1, want[i].n2)
		}
	}
	for _, k := range []string{"p1", "p2", "p3", "p4", "p5", "p6", "a1", "a2", "a3", "a4", "a5", "a6", "old", "aold", "full", "q07", "b03", "b09"} {
		for _, win := range []time.Duration{w, w2} {
			g, err1 := s.Hits(ctx, "g:"+k, win)
			o, err2 := s.Hits(ctx, "s:"+k, win)
			if err1 != nil || err2 != nil || g != o {
				t.Errorf("Hits(%s, %v): grouped %d (%v), one by one %d (%v)", k, win, g, err1, o, err2)
			}
		}
	}
}

// TestHitGroupConcurrent: forty concurrent HitBoths on two nodes, over
// four patients' keys and one shared address, queued into one group on
// each node: every patient's callers get 1 to 10 once each, the address
// is charged exactly for the calls within their patient's max, and those
// calls get 1 to 20 from it once each.
func TestHitGroupConcurrent(t *testing.T) {
	t.Parallel()
	_, nodes := clusterNodes(t, 2)
	ctx := context.Background()
	const perNode, max = 20, 5
	type res struct {
		first  string
		n1, n2 int
	}
	out := make(chan res, 2*perNode)
	var wg sync.WaitGroup
	var releases []func()
	for _, s := range nodes {
		wait, release := holdHits(t, s)
		for i := range perNode {
			first := fmt.Sprintf("patient:%d", i%4)
			wg.Go(func() {
				n1, n2, err := s.HitBoth(ctx, first, max, "address", time.Minute)
				if err != nil {
					t.Error(err)
				}
				out <- res{first, n1, n2}
			})
		}
		wait(perNode)
		releases = append(releases, release)
	}
	var lead sync.WaitGroup
	for _, release := range releases {
		lead.Go(release)
	}
	lead.Wait()
	wg.Wait()
	close(out)
	firsts := map[string][]int{}
	var seconds []int
	for r := range out {
		firsts[r.first] = append(firsts[r.first], r.n1)
		if (r.n2 > 0) != (r.n1 <= max) {
			t.Errorf("%s: counts %d, %d: the address is charged exactly when the patient's count is within %d", r.first, r.n1, r.n2, max)
		}
		if r.n2 > 0 {
			seconds = append(seconds, r.n2)
		}
	}
	want := func(n int) []int {
		var s []int
		for i := range n {
			s = append(s, i+1)
		}
		return s
	}
	for k, got := range firsts {
		slices.Sort(got)
		if !slices.Equal(got, want(10)) {
			t.Errorf("%s: counts %v, want 1 to 10 once each", k, got)
		}
	}
	if len(firsts) != 4 {
		t.Errorf("%d patients' keys answered, want 4", len(firsts))
	}
	slices.Sort(seconds)
	if !slices.Equal(seconds, want(4*max)) {
		t.Errorf("the address's counts %v, want 1 to %d once each", seconds, 4*max)
	}
	if n, err := nodes[1].Hits(ctx, "address", time.Minute); err != nil || n != 4*max {
		t.Errorf("Hits(address) = %d, %v; want %d", n, err, 4*max)
	}
}

// TestHitGroupFailure: when the group's statement fails, every caller in
// it (and in the rounds after it) gets the error and nothing of theirs is
// counted; a caller whose context ends while queued gets its context's
// error and is not counted, while the rest of its group is.
func TestHitGroupFailure(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	s := openDSN(t, dsn)
	ctx := context.Background()
	for range 3 {
		if _, err := s.Hit(ctx, "full", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// The server refuses any count over 3: one row of the statement fails,
	// so the whole statement does.
	sqlExec(t, dsn, `ALTER TABLE hearth_throttle ADD CONSTRAINT test_small CHECK (hits <= 3)`)
	args := []hitArgs{
		{"full", 10, "x1", time.Minute},
		{"fresh1", 10, "x2", time.Minute},
		{"fresh2", 10, "x3", time.Minute},
		{"fresh1", 10, "x4", time.Minute}, // a second round
	}
	errs := make([]error, len(args))
	var wg sync.WaitGroup
	wait, release := holdHits(t, s)
	for i, a := range args {
		wg.Go(func() {
			_, _, errs[i] = s.HitBoth(ctx, a.first, a.max, a.second, a.window)
		})
		wait(i + 1) // queued in this order
	}
	release()
	wg.Wait()
	for i, err := range errs {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23514" {
			t.Errorf("call %d: %v, want the statement's check violation (23514)", i, err)
		}
	}
	sqlExec(t, dsn, `ALTER TABLE hearth_throttle DROP CONSTRAINT test_small`)
	for k, want := range map[string]int{"full": 3, "fresh1": 0, "fresh2": 0, "x1": 0, "x2": 0, "x3": 0, "x4": 0} {
		if n, err := s.Hits(ctx, k, time.Minute); err != nil || n != want {
			t.Errorf("Hits(%s) = %d, %v after the failed group; want %d", k, n, err, want)
		}
	}

	// A caller whose context ends while it is queued.
	wait, release = holdHits(t, s)
	cctx, cancel := context.WithCancel(ctx)
	var cerr, oerr error
	var n1, n2 int
	wg.Go(func() { _, _, cerr = s.HitBoth(cctx, "gone", 10, "y1", time.Minute) })
	wait(1)
	wg.Go(func() { n1, n2, oerr = s.HitBoth(ctx, "stays", 10, "y2", time.Minute) })
	wait(2)
	cancel()
	release()
	wg.Wait()
	if !errors.Is(cerr, context.Canceled) {
		t.Errorf("the cancelled caller got %v, want context.Canceled", cerr)
	}
	if oerr != nil || n1 != 1 || n2 != 1 {
		t.Errorf("the other caller got %d, %d, %v; want 1, 1", n1, n2, oerr)
	}
	for k, want := range map[string]int{"gone": 0, "y1": 0, "stays": 1, "y2": 1} {
		if n, err := s.Hits(ctx, k, time.Minute); err != nil || n != want {
			t.Errorf("Hits(%s) = %d, %v; want %d", k, n, err, want)
		}
	}
}
