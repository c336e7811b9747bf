package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Limits are the throttling budgets: how many failed tries each key gets in
// a window before further tries answer 429. Counters live on the server,
// keyed by account and by client address (never by cookie, which an attacker
// simply drops), and every window ends, so a flood against one account slows
// the flood without locking the real person out for good. An address that
// signed in to an account recently is held back only by its own tries at
// it, not by the account's shared budget (limiter.trusted).
type Limits struct {
	Window        time.Duration // default 15 minutes
	PerAccount    int           // failed sign-ins per account per window (default 10)
	PerClient     int           // failed sign-ins and code checks per client address (default 30)
	CodePerTarget int           // failed code/birth-date checks per invite or patient (default 5)

	// Uploads being received are held in memory (never in a temporary
	// file), so how many may be in flight, and how many bytes they may
	// declare, is bounded in total and per client address. A request over
	// a bound is refused before its body is read.
	Uploads              int   // multipart requests in flight, in total (default 16)
	UploadsPerClient     int   // multipart requests in flight per client address (default 4)
	UploadBytes          int64 // bytes those requests may declare, in total (default 160 MB)
	UploadBytesPerClient int64 // bytes per client address (default 64 MB)
}

func (l Limits) withDefaults() Limits {
	if l.Window == 0 {
		l.Window = 15 * time.Minute
	}
	if l.PerAccount == 0 {
		l.PerAccount = 10
	}
	if l.PerClient == 0 {
		l.PerClient = 30
	}
	if l.CodePerTarget == 0 {
		l.CodePerTarget = 5
	}
	if l.Uploads == 0 {
		l.Uploads = 16
	}
	if l.UploadsPerClient == 0 {
		l.UploadsPerClient = 4
	}
	if l.UploadBytes == 0 {
		l.UploadBytes = 160 << 20
	}
	if l.UploadBytesPerClient == 0 {
		l.UploadBytesPerClient = 64 << 20
	}
	return l
}

type window struct {
	start time.Time
	n     int
}

// Counters keeps throttling counts where every node of a clinic group sees
// them (PostgreSQL's shared table), so a flood spread over several nodes is
// counted once. Windows are timed by the shared server's clock. Keys reach
// it hashed: no address, email or id is stored.
type Counters interface {
	Hit(ctx context.Context, key string, window time.Duration) (int, error)
	Hits(ctx context.Context, key string, window time.Duration) (int, error)
	ResetHits(ctx context.Context, key string) error
}

// pairCounter is a Counters that can spend two budgets in one round trip
// (pgstore's HitBoth): one against first, and one against second only when
// first's count is then within max.
type pairCounter interface {
	HitBoth(ctx context.Context, first string, max int, second string, window time.Duration) (int, int, error)
}

type limiter struct {
	Limits
	now    func() time.Time
	shared Counters // nil on a single node: the counts live in m
	log    *slog.Logger
	mu     sync.Mutex
	m      map[string]*window
	// known remembers, for trustedFor, which client addresses signed in to
	// which account and when (in this process).
	known map[string]time.Time
}

func newLimiter(l Limits, now func() time.Time, shared Counters, log *slog.Logger) *limiter {
	return &limiter{Limits: l.withDefaults(), now: now, shared: shared, log: log, m: map[string]*window{}, known: map[string]time.Time{}}
}

// trustedFor is how long a client address that signed in to an account
// stays exempt from that account's shared budget: a flood of wrong tries
// from elsewhere does not keep staff out at their own desk.
const trustedFor = 30 * 24 * time.Hour

// remember notes that client signed in to acct just now.
func (l *limiter) remember(acct, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.known) > 100_000 {
		for k, t := range l.known {
			if now.Sub(t) > trustedFor {
				delete(l.known, k)
			}
		}
	}
	l.known[acct+"|"+client] = now
}

// trusted reports whether client signed in to acct within trustedFor.
func (l *limiter) trusted(acct, client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.known[acct+"|"+client]
	return ok && l.now().Sub(t) < trustedFor
}

// sharedKey hashes a throttling key for the shared table.
func sharedKey(key string) string {
	h := sha256.Sum256([]byte("hearth-throttle:" + key))
	return hex.EncodeToString(h[:16])
}

// sharedCtx bounds a shared counter's round trip. If the database cannot
// answer, the request itself cannot be served either, so an error counts as
// "not blocked" rather than locking everyone out.
func sharedCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

// blocked reports whether key has used up max failures in the current window.
func (l *limiter) blocked(key string, max int) bool {
	if l.shared != nil {
		ctx, cancel := sharedCtx()
		defer cancel()
		n, err := l.shared.Hits(ctx, sharedKey(key), l.Window)
		return err == nil && n >= max
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	return w != nil && l.now().Sub(w.start) < l.Window && w.n >= max
}

// fail counts one failure against key.
func (l *limiter) fail(key string) {
	if l.shared != nil {
		ctx, cancel := sharedCtx()
		defer cancel()
		if _, err := l.shared.Hit(ctx, sharedKey(key), l.Window); err != nil {
			// As in blocked: a database that cannot count cannot serve the
			// sign-in either. The key is not logged (it names an account).
			l.log.Warn("throttle: a failure was not counted", "err", err)
		}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.m[key]
	if w == nil || now.Sub(w.start) >= l.Window {
		if len(l.m) > 100_000 {
			l.sweep(now)
		}
		w = &window{start: now}
		l.m[key] = w
	}
	w.n++
}

// take counts one use of key's budget and reports whether it was within
// max (a use over budget is not allowed, and with shared counters is
// counted too: one round trip instead of two).
func (l *limiter) take(key string, max int) bool {
	if l.shared != nil {
		ctx, cancel := sharedCtx()
		defer cancel()
		n, err := l.shared.Hit(ctx, sharedKey(key), l.Window)
		return err != nil || n <= max
	}
	if l.blocked(key, max) {
		return false
	}
	l.fail(key)
	return true
}

// takeBoth is take(first, max1) && take(second, max2), with shared
// counters that can do it in one round trip instead of two.
func (l *limiter) takeBoth(first string, max1 int, second string, max2 int) bool {
	if pc, ok := l.shared.(pairCounter); ok && first != second {
		ctx, cancel := sharedCtx()
		defer cancel()
		n1, n2, err := pc.HitBoth(ctx, sharedKey(first), max1, sharedKey(second), l.Window)
		return err != nil || (n1 <= max1 && n2 <= max2)
	}
	return l.take(first, max1) && l.take(second, max2)
}

// reset forgets key's failures (after a success for that account).
func (l *limiter) reset(key string) {
	if l.shared != nil {
		ctx, cancel := sharedCtx()
		defer cancel()
		if err := l.shared.ResetHits(ctx, sharedKey(key)); err != nil {
			// The failures stay until their window ends: the person may be
			// held back longer than they should, never let in sooner.
			l.log.Warn("throttle: failures were not forgotten", "err", err)
		}
		return
	}
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

func (l *limiter) sweep(now time.Time) {
	for k, w := range l.m {
		if now.Sub(w.start) >= l.Window {
			delete(l.m, k)
		}
	}
}

// uploadGate admits multipart requests while they fit the in-flight
// bounds (Limits.Uploads...). Each admitted request holds a reservation of
// the bytes it declared until its handler has finished with them. The
// counts live in this process: they bound this process's memory.
type uploadGate struct {
	Limits
	mu     sync.Mutex
	n      int
	bytes  int64
	client map[string]*inflight
}

type inflight struct {
	n     int
	bytes int64
}

func newUploadGate(l Limits) *uploadGate {
	return &uploadGate{Limits: l.withDefaults(), client: map[string]*inflight{}}
}

// admit reserves size bytes for one request from client. It returns the
// function that gives them back (call it once), or errUploadsBusy when the
// request does not fit now.
func (g *uploadGate) admit(client string, size int64) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.client[client]
	if c == nil {
		c = &inflight{}
	}
	if g.n >= g.Uploads || g.bytes+size > g.UploadBytes || c.n >= g.UploadsPerClient || c.bytes+size > g.UploadBytesPerClient {
		return nil, errUploadsBusy
	}
	g.n++
	g.bytes += size
	c.n++
	c.bytes += size
	g.client[client] = c
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.n--
			g.bytes -= size
			c.n--
			c.bytes -= size
			if c.n == 0 {
				delete(g.client, client)
			}
		})
	}, nil
}

// declaredSize is what a request's reservation covers: its Content-Length,
// or, when it does not say (chunked), the most its route accepts.
func declaredSize(r *http.Request, max int64) int64 {
	if r.ContentLength >= 0 && r.ContentLength < max {
		return r.ContentLength
	}
	return max
}
