package pgstore

// Grouped throttle hits. Every write a patient makes spends two budgets
// (HitBoth), and a statement of its own for each request was the one
// per-request round trip left on the busy path: PostgreSQL's CPU and the
// loopback's for every message. HitBoths are therefore queued like Updates
// (write.go): while one group statement runs, the calls that arrive wait,
// and the next statement counts them all.
//
// One INSERT … ON CONFLICT cannot touch a row twice, and two hits on one
// key must see each other's count. A group is therefore cut into rounds:
// a call goes into the first round after the last one that holds either of
// its keys, among those of its window, so the keys within a round are all
// different and each key's hits are counted in the order the calls
// arrived. Each round is one statement, the same upsert as Hit's for every
// key in it, so each caller gets exactly the counts that its HitBoth would
// have got alone with the calls one after another in that order. Calls on
// different keys (patients, addresses) share one round: a group is usually
// one statement.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pocketbase/dbx"
)

// maxHitGroup bounds how many HitBoths share one group.
const maxHitGroup = 256

// hitCall is one HitBoth waiting for, or in, a group statement.
type hitCall struct {
	ctx           context.Context
	first, second string
	max           int
	window        time.Duration

	n1, n2 int
	err    error
	done   chan struct{} // closed once n1, n2 and err are set
}

// hitBoth queues one HitBoth (its arguments already checked) and waits for
// its counts. The first caller to find no group running leads: it runs the
// group its own call is in, then hands any calls that arrived meanwhile to
// a new goroutine.
func (s *Store) hitBoth(ctx context.Context, first string, max int, second string, window time.Duration) (int, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	c := &hitCall{ctx: ctx, first: first, max: max, second: second, window: window, done: make(chan struct{})}
	s.hits.add(c, maxHitGroup, s.runHits)
	<-c.done
	return c.n1, c.n2, c.err
}

// runHits counts a group: a call whose context has already ended gets its
// error and is not counted; the others are counted round by round. When a
// round's statement fails, its callers and those of every later round get
// the error, and none of their hits is counted (a statement counts all of
// its rows or none).
func (s *Store) runHits(calls []*hitCall) {
	live := calls[:0:0]
	for _, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
		} else {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return
	}
	// The statement serves several callers, so it runs until the last of
	// their deadlines rather than under any one caller's context.
	ctx, cancel := groupContext(live)
	defer cancel()
	var failed error
	for _, r := range hitRounds(live) {
		if failed == nil {
			failed = s.hitRound(ctx, r)
		}
		for _, c := range r.calls {
			if failed != nil {
				c.err = Scrub(fmt.Errorf("pgstore: hit both: %w", failed), s.dsn)
			}
			close(c.done)
		}
	}
	// As in Hit: about one call in throttleSweep also deletes the windows
	// that have ended. The counts stand whatever happens here.
	if rand.IntN(throttleSweep) < len(live) {
		_, _ = s.db.NewQuery(`DELETE FROM hearth_throttle WHERE expires < now()`).WithContext(ctx).Execute()
	}
}

// groupContext ends at the latest of the calls' deadlines, or never when
// one of them has none.
func groupContext(calls []*hitCall) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, c := range calls {
		d, ok := c.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.Background())
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.Background(), latest)
}

// hitRound is calls of one window whose keys (first and second, over all
// of them) are all different: one statement counts them.
type hitRound struct {
	window time.Duration
	calls  []*hitCall
}

// hitRounds cuts calls into rounds: each call goes into the first round of
// its window after the last round holding either of its keys. Each key's
// hits are thus counted in the order of calls, and running the rounds one
// after another gives every call what running the calls one after another
// would.
func hitRounds(calls []*hitCall) []hitRound {
	var rounds []hitRound
	last := map[string]int{} // key → the last round that holds it
	for _, c := range calls {
		r := 0
		for _, k := range []string{c.first, c.second} {
			if i, ok := last[k]; ok && i+1 > r {
				r = i + 1
			}
		}
		for r < len(rounds) && rounds[r].window != c.window {
			r++
		}
		if r == len(rounds) {
			rounds = append(rounds, hitRound{window: c.window})
		}
		rounds[r].calls = append(rounds[r].calls, c)
		last[c.first], last[c.second] = r, r
	}
	return rounds
}

// hitRoundSQL counts a round: the first keys ({:ka}, with each call's max
// in {:mx}) are hit, then the second keys ({:kb}) of the calls whose first
// count is within their max, with Hit's upsert; it answers each first key
// with both counts (0 for a second key not hit). Rows go in key order, so
// two statements on shared keys (other nodes', or a single Hit) take their
// row locks in one order. The window is bound once per placeholder
// ({:wa1}…{:wb5}), since dbx gives each its own parameter.
var hitRoundSQL = `WITH r AS (
	SELECT * FROM unnest({:ka}::text[], {:mx}::bigint[], {:kb}::text[]) AS r(ka, mx, kb)),
a AS (` + upsertHits("a", `SELECT ka, now(), now() + make_interval(secs => {:wa1}::float8), 1 FROM r ORDER BY ka`) + `),
b AS (` + upsertHits("b", `SELECT r.kb, now(), now() + make_interval(secs => {:wb1}::float8), 1
		FROM r JOIN a ON a.key = r.ka WHERE a.hits <= r.mx ORDER BY r.kb`) + `)
SELECT r.ka, a.hits, coalesce(b.hits, 0) FROM r JOIN a ON a.key = r.ka LEFT JOIN b ON b.key = r.kb`

// upsertHits is Hit's upsert for the rows that rows selects (key, started,
// expires, 1), the window bound as {:wP2}…{:wP5}; it returns each row's
// key and count. In DO UPDATE, t is the row as it was, so the three CASEs
// agree on whether its window had ended; now() is the statement's start,
// the same in every expression.
func upsertHits(p, rows string) string {
	return `INSERT INTO hearth_throttle AS t (key, started, expires, hits)
		` + rows + `
		ON CONFLICT (key) DO UPDATE SET
			started = CASE WHEN t.started <= now() - make_interval(secs => {:w` + p + `2}::float8)
				THEN excluded.started ELSE t.started END,
			expires = CASE WHEN t.started <= now() - make_interval(secs => {:w` + p + `3}::float8)
				THEN excluded.expires ELSE t.started + make_interval(secs => {:w` + p + `4}::float8) END,
			hits = CASE WHEN t.started <= now() - make_interval(secs => {:w` + p + `5}::float8)
				THEN 1 ELSE least(t.hits, 2147483646) + 1 END
		RETURNING key, hits`
}

// hitRound counts one round in one statement, again if PostgreSQL aborted
// it as a deadlock or serialization failure (then nothing was counted).
func (s *Store) hitRound(ctx context.Context, r hitRound) error {
	ka := make([]string, len(r.calls))
	kb := make([]string, len(r.calls))
	mx := make([]int64, len(r.calls))
	for i, c := range r.calls {
		ka[i], kb[i], mx[i] = c.first, c.second, int64(c.max)
	}
	p := dbx.Params{"ka": ka, "kb": kb, "mx": mx}
	for _, k := range []string{"a", "b"} {
		for i := 1; i <= 5; i++ {
			p[fmt.Sprintf("w%s%d", k, i)] = r.window.Seconds()
		}
	}
	for try := 1; ; try++ {
		err := s.countRound(ctx, p, r.calls)
		if err == nil || !retryable(err) || try == maxRetries {
			return err
		}
		if !sleepCtx(ctx, time.Duration(try)*retryPause) {
			return err
		}
	}
}

// countRound runs hitRoundSQL and hands each call its counts.
func (s *Store) countRound(ctx context.Context, p dbx.Params, calls []*hitCall) error {
	rows, err := s.db.NewQuery(hitRoundSQL).Bind(p).WithContext(ctx).Rows()
	if err != nil {
		return err
	}
	got := make(map[string][2]int, len(calls))
	for rows.Next() {
		var k string
		var n [2]int
		if err := rows.Scan(&k, &n[0], &n[1]); err != nil {
			_ = rows.Close()
			return err
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, c := range calls {
		n, ok := got[c.first]
		if !ok {
			return fmt.Errorf("the statement gave no count for one of its %d keys", len(calls))
		}
		c.n1, c.n2 = n[0], n[1]
	}
	return nil
}
