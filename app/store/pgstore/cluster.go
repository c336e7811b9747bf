package pgstore

// The store.Cluster half of pgstore: what lets several Hearth nodes on one
// database act as one clinic. Notifications (LISTEN/NOTIFY) tell the other
// nodes to look again after a commit, a session advisory lock elects the one
// node that runs singleton jobs, and an UNLOGGED table (002_cluster.sql)
// holds the rate-limit counters that every node must share.
//
// None of it runs inside the write transactions or takes writeLockKey: a
// notification, a leadership check or a throttle hit never waits for the
// clinic's writes. Listen and Lead hold a dedicated connection of their own
// (not one of the pool's) for as long as they run, because LISTEN and a
// session advisory lock belong to one server session.

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/pocketbase/dbx"

	"hearth/app/store"
)

var _ store.Cluster = (*Store)(nil)

const (
	// maxPayload keeps a notification well under PostgreSQL's limit of
	// 8000 bytes. Payloads are sequence numbers and ids, never data.
	maxPayload = 7000
	// maxThrottleKey bounds a throttle key: callers pass a hash.
	maxThrottleKey = 256

	// Reconnection backoff of Listen and Lead: doubling from minBackoff to
	// maxBackoff, so a node whose database is down tries a few times a
	// second at first and then every two seconds, never in a hot loop.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second

	// leadPoll is how often a node that does not lead tries to take the
	// lock, and so most of the takeover time once the lock is free.
	leadPoll = time.Second
	// leadCheck is how often the leader confirms, with a query, that its
	// session still holds the lock; leadCheckTimeout is how long that query
	// may take before the leader counts its connection as lost. Together
	// they bound how long a leader cut off from the server goes on
	// believing it leads (about 3 s), which must stay well under the time
	// the server takes to end its session and free the lock (keepalive
	// below, about 11 s).
	leadCheck        = time.Second
	leadCheckTimeout = 2 * time.Second
	// leadGrace is how long a node that has just taken the lock waits
	// before running fn. When the server ends the old leader's session
	// (pg_terminate_backend, a restart), that leader learns it at once from
	// its connection, but needs a moment for its fn to return; the grace
	// keeps the two from overlapping.
	leadGrace = 250 * time.Millisecond

	// Dedicated connections: a connection attempt gives up after
	// dialTimeout, and TCP keepalives on both ends find a peer that has
	// vanished (host crash, network cut) after about keepIdle + keepCount
	// × keepInterval = 11 s without an answer. On the server's side this is
	// what frees a vanished leader's lock; on ours it is what makes a
	// silent Listen notice a dead server.
	dialTimeout  = 10 * time.Second
	keepIdle     = 5 * time.Second
	keepInterval = 2 * time.Second
	keepCount    = 3
	// userTimeout (TCP_USER_TIMEOUT on the server's socket) covers the case
	// keepalives do not: the server was sending (a notification, a query's
	// answer) when the peer vanished, so the socket is not idle and the
	// kernel would otherwise retransmit for a quarter of an hour.
	userTimeout = 10 * time.Second

	// throttleSweep is the chance (1 in throttleSweep) that a Hit also
	// deletes the windows that have ended, so hearth_throttle stays as
	// small as the set of keys seen recently.
	throttleSweep = 1000
)

// Notify sends payload on channel to every listening node, this one
// included, through the pool (it needs no session of its own). channel is
// 1 to 63 characters of a-z, 0-9 and '_' (PostgreSQL would silently cut a
// longer name); payload is at most 7000 bytes of UTF-8 text.
//
// It runs outside any transaction, so the notification goes out at once;
// callers notify after their commit, never before.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if !validChannel(channel) {
		return fmt.Errorf("pgstore: notify: channel %q: %w", channel, store.ErrBadName)
	}
	if len(payload) > maxPayload {
		return fmt.Errorf("pgstore: notify: payload of %d bytes is over the limit of %d", len(payload), maxPayload)
	}
	if !pgText(payload) {
		return errors.New("pgstore: notify: payload is not UTF-8 text without NUL bytes")
	}
	_, err := s.db.NewQuery(`SELECT pg_notify({:channel}, {:payload})`).
		Bind(dbx.Params{"channel": channel, "payload": payload}).
		WithContext(ctx).Execute()
	if err != nil {
		return Scrub(fmt.Errorf("pgstore: notify: %w", err), s.dsn)
	}
	return nil
}

// Listen calls fn(channel, payload) for every notification on channels
// until ctx ends, then returns nil. fn is called from Listen's own
// goroutine, one call at a time; while it runs, notifications wait.
//
// It LISTENs on a dedicated connection (application_name hearth-listen).
// When that connection fails, Listen reconnects with a backoff of 100 ms
// doubling to 2 s, and after every successful connection it calls
// fn(channel, "") once for each channel before anything else: whatever was
// notified while it was away is lost, so callers must look again. A silent
// server that has vanished is noticed by TCP keepalives within about 11 s.
//
// The only errors are those of the arguments (a bad channel name) and of
// the connection string; connection failures are retried, never returned.
func (s *Store) Listen(ctx context.Context, channels []string, fn func(channel, payload string)) error {
	if len(channels) == 0 {
		return errors.New("pgstore: listen: no channels")
	}
	var chans []string
	for _, ch := range channels {
		if !validChannel(ch) {
			return fmt.Errorf("pgstore: listen: channel %q: %w", ch, store.ErrBadName)
		}
		if !slices.Contains(chans, ch) {
			chans = append(chans, ch)
		}
	}
	cfg, err := s.sessionConfig("hearth-listen")
	if err != nil {
		return fmt.Errorf("pgstore: listen: %w", err)
	}
	var b reconnectBackoff
	for {
		if conn, err := listenSession(ctx, cfg, chans); err == nil {
			up := time.Now()
			for _, ch := range chans {
				fn(ch, "")
			}
			for {
				n, err := conn.WaitForNotification(ctx)
				if err != nil {
					break
				}
				fn(n.Channel, n.Payload)
			}
			closeSession(conn)
			// A connection that lasted a while earns a quick reconnect;
			// one that keeps failing as soon as it is made keeps backing
			// off.
			if time.Since(up) >= maxBackoff {
				b.reset()
			}
		}
		if !b.wait(ctx) {
			return nil
		}
	}
}

// listenSession connects and LISTENs on every channel.
func listenSession(ctx context.Context, cfg *pgx.ConnConfig, channels []string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var sql strings.Builder
	for _, ch := range channels {
		sql.WriteString("LISTEN " + pgx.Identifier{ch}.Sanitize() + ";")
	}
	if _, err := conn.Exec(ctx, sql.String()); err != nil {
		closeSession(conn)
		return nil, err
	}
	return conn, nil
}

// Lead runs fn whenever this node holds the leadership called name, and
// returns nil when ctx ends (after fn has returned). name follows the
// channel rule of Notify.
//
// Leadership is the session advisory lock pg_try_advisory_lock(key), key a
// 64-bit FNV-1a hash of "hearth:"+name, taken on a dedicated connection
// (application_name hearth-lead). A node that does not lead tries again
// every second. Once it holds the lock it waits leadGrace (250 ms), then
// runs fn with a context that is cancelled when ctx ends or the lock's
// session is lost: at once when the server ends the session, otherwise at
// the latest when the check it makes every second, a 2-second query that
// confirms in pg_locks that its session still holds the lock, fails. Lead
// waits for fn to return and releases the lock (or drops the connection,
// which frees it). Then it competes again: after a second when fn returned on
// its own, after two when the lock was lost, so that a healthy node (which
// tries every second) takes over first.
//
// Takeover time, from the leader's death to another node running fn:
//   - its process dies (crash, kill -9) on a host that stays up: the kernel
//     closes the socket, the server ends the session at once, and the next
//     poll takes the lock: at most leadPoll + leadGrace, about 1.25 s;
//   - its host or network vanishes: the server frees the lock when TCP
//     keepalives (5 s idle, then 3 probes 2 s apart, set on the session) or
//     TCP_USER_TIMEOUT (10 s) give up, so about 11 s + 1.25 s, and at most
//     about 13 s. The cut-off leader has cancelled fn's context within
//     about 3 s, well before.
//
// At most one node runs fn at a time provided fn returns promptly once its
// context ends: Lead cannot stop an fn that ignores it.
func (s *Store) Lead(ctx context.Context, name string, fn func(ctx context.Context)) error {
	if !validChannel(name) {
		return fmt.Errorf("pgstore: lead: name %q: %w", name, store.ErrBadName)
	}
	cfg, err := s.sessionConfig("hearth-lead")
	if err != nil {
		return fmt.Errorf("pgstore: lead: %w", err)
	}
	key := leadKey(name)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeSession(conn)
		}
	}()
	var b reconnectBackoff
	for {
		if conn == nil {
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				if !b.wait(ctx) {
					return nil
				}
				continue
			}
			conn = c
		}
		var held bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&held); err != nil {
			closeSession(conn)
			conn = nil
			if !b.wait(ctx) {
				return nil
			}
			continue
		}
		b.reset()
		wait := leadPoll
		if held && !holdLead(ctx, conn, key, fn) {
			closeSession(conn) // frees the lock if the session still holds it
			conn = nil
			// Leadership was lost, perhaps through trouble on this node's
			// side: sit out one full poll so that a healthy node, which
			// tries every leadPoll, takes over first.
			wait = 2 * leadPoll
		}
		if !sleepCtx(ctx, wait) {
			return nil
		}
	}
}

// holdLead runs fn while conn's session holds the lock, and releases the lock.
// It reports whether conn is still usable (false also when ctx ended: Lead
// then closes it, which releases the lock too).
func holdLead(ctx context.Context, conn *pgx.Conn, key int64, fn func(ctx context.Context)) bool {
	if !sleepCtx(ctx, leadGrace) || !holdsLead(conn, key) {
		return false
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel() // fn returned on its own: stop watching
		fn(fctx)
	}()
	ok := watchLead(fctx, conn, key)
	cancel()
	<-done
	if !ok || ctx.Err() != nil {
		return false
	}
	uctx, ucancel := context.WithTimeout(context.Background(), leadCheckTimeout)
	defer ucancel()
	var released bool
	err := conn.QueryRow(uctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&released)
	return err == nil && released
}

// watchLead returns true when ctx ends, or false as soon as conn's session is
// lost or no longer holds the lock. Between checks it blocks reading conn,
// so a session the server ends (its error message, or the socket closing)
// is seen at once rather than at the next check.
func watchLead(ctx context.Context, conn *pgx.Conn, key int64) bool {
	for {
		wctx, cancel := context.WithTimeout(ctx, leadCheck)
		_, err := conn.WaitForNotification(wctx)
		timedOut := wctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return true
		case err == nil:
			// A notification: nobody LISTENs on this session, so ignore it.
		case !timedOut:
			return false
		case !holdsLead(conn, key):
			return false
		}
	}
}

// holdsLead reports whether conn's session answers within leadCheckTimeout and
// still holds the advisory lock key (a bigint lock shows in pg_locks as
// classid = high 32 bits, objid = low 32 bits, objsubid = 1).
func holdsLead(conn *pgx.Conn, key int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), leadCheckTimeout)
	defer cancel()
	var held bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
		AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1)`,
		int64(uint64(key)>>32), int64(uint64(key)&0xffffffff)).Scan(&held)
	return err == nil && held
}

// leadKey is the advisory lock key of a leadership name. The "hearth:"
// prefix keeps it apart from other applications' keys on a shared server;
// the fixed keys of pgstore.go (writeLockKey, migrateLockKey) are not
// hashes, so a collision with them has a chance of about 2^-63.
func leadKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("hearth:" + name))
	return int64(h.Sum64())
}

// Hit counts one event against key and returns the count in key's current
// window. A window starts at the first Hit and ends window later; the first
// Hit after it ends starts a new one at 1. It is one upsert statement, so
// concurrent Hits from any number of nodes all count, and window ends are
// judged by the database server's clock, on which all nodes agree.
//
// key is a hash made by the caller (1 to 256 bytes of UTF-8, never PHI);
// it is bound as a parameter like every value. About one Hit in 1000 also
// deletes every window that has ended, which keeps the table small.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (int, error) {
	if err := checkThrottle(key, window); err != nil {
		return 0, fmt.Errorf("pgstore: hit: %w", err)
	}
	// now() is the statement's start, the same in every expression. In
	// DO UPDATE, t is the row as it was, so all three CASEs agree on
	// whether its window had ended.
	var hits int
	err := s.db.NewQuery(`INSERT INTO hearth_throttle AS t (key, started, expires, hits)
		VALUES ({:key}, now(), now() + make_interval(secs => {:w1}::float8), 1)
		ON CONFLICT (key) DO UPDATE SET
			started = CASE WHEN t.started <= now() - make_interval(secs => {:w2}::float8)
				THEN excluded.started ELSE t.started END,
			expires = CASE WHEN t.started <= now() - make_interval(secs => {:w3}::float8)
				THEN excluded.expires ELSE t.started + make_interval(secs => {:w4}::float8) END,
			hits = CASE WHEN t.started <= now() - make_interval(secs => {:w5}::float8)
				THEN 1 ELSE least(t.hits, 2147483646) + 1 END
		RETURNING hits`).
		Bind(windowParams(key, window, 5)).WithContext(ctx).Row(&hits)
	if err != nil {
		return 0, Scrub(fmt.Errorf("pgstore: hit: %w", err), s.dsn)
	}
	if rand.IntN(throttleSweep) == 0 {
		// The count stands whatever happens here; a failed sweep is
		// simply left to a later Hit.
		_, _ = s.db.NewQuery(`DELETE FROM hearth_throttle WHERE expires < now()`).WithContext(ctx).Execute()
	}
	return hits, nil
}

// HitBoth counts one event against first and, when first's count is then
// at most max, one against second: Hit(first) and, only if it was within
// max, Hit(second) (the two budgets a patient's write spends, its own and
// its address's). It returns both counts; second's is 0 when it was not
// counted. first and second must differ.
//
// HitBoths that arrive while one runs are grouped into the next statement
// (hitgroup.go), so a busy clinic spends one round trip for many requests,
// not one each; every caller gets exactly the counts it would have got
// alone, in some order of the concurrent callers. If the statement fails,
// every caller in it gets the error and none of their hits is counted.
func (s *Store) HitBoth(ctx context.Context, first string, max int, second string, window time.Duration) (int, int, error) {
	for _, k := range []string{first, second} {
		if err := checkThrottle(k, window); err != nil {
			return 0, 0, fmt.Errorf("pgstore: hit both: %w", err)
		}
	}
	if first == second {
		return 0, 0, errors.New("pgstore: hit both: the two keys are the same")
	}
	return s.hitBoth(ctx, first, max, second, window)
}

// Hits returns key's count in its current window, or 0 when the window has
// ended (or key was never hit).
func (s *Store) Hits(ctx context.Context, key string, window time.Duration) (int, error) {
	if err := checkThrottle(key, window); err != nil {
		return 0, fmt.Errorf("pgstore: hits: %w", err)
	}
	var hits int
	err := s.db.NewQuery(`SELECT coalesce((SELECT hits FROM hearth_throttle
		WHERE key = {:key} AND started > now() - make_interval(secs => {:w1}::float8)), 0)`).
		Bind(windowParams(key, window, 1)).WithContext(ctx).Row(&hits)
	if err != nil {
		return 0, Scrub(fmt.Errorf("pgstore: hits: %w", err), s.dsn)
	}
	return hits, nil
}

// ResetHits forgets key's count (after a successful sign-in, say).
func (s *Store) ResetHits(ctx context.Context, key string) error {
	if err := checkThrottle(key, time.Second); err != nil {
		return fmt.Errorf("pgstore: reset hits: %w", err)
	}
	_, err := s.db.NewQuery(`DELETE FROM hearth_throttle WHERE key = {:key}`).
		Bind(dbx.Params{"key": key}).WithContext(ctx).Execute()
	if err != nil {
		return Scrub(fmt.Errorf("pgstore: reset hits: %w", err), s.dsn)
	}
	return nil
}

func checkThrottle(key string, window time.Duration) error {
	if len(key) == 0 || len(key) > maxThrottleKey || !pgText(key) {
		return errors.New("bad throttle key: want 1 to 256 bytes of UTF-8 text without NUL bytes")
	}
	if window <= 0 {
		return fmt.Errorf("bad throttle window %v: want more than 0", window)
	}
	return nil
}

// windowParams binds key and the window in seconds as w1…wn: dbx gives
// every placeholder its own parameter, and each needs its own cast.
func windowParams(key string, window time.Duration, n int) dbx.Params {
	p := dbx.Params{"key": key}
	for i := 1; i <= n; i++ {
		p[fmt.Sprintf("w%d", i)] = window.Seconds()
	}
	return p
}

// sessionConfig is the pgx configuration of a connection (the pool's, or a
// dedicated one): the Store's connection string, an application_name that
// tells operators (and the tests) which session is which, a connection
// timeout, and keepalives on both ends so that a peer that vanished is
// noticed in seconds.
func (s *Store) sessionConfig(app string) (*pgx.ConnConfig, error) {
	return sessionConfig(s.dsn, app)
}

func sessionConfig(dsn, app string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// Not wrapped: pgx's message quotes parts of the connection
		// string. Open has parsed it already, so this is unexpected.
		return nil, errors.New("cannot parse the connection string")
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > dialTimeout {
		cfg.ConnectTimeout = dialTimeout
	}
	d := &net.Dialer{
		Timeout: cfg.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable:   true,
			Idle:     keepIdle,
			Interval: keepInterval,
			Count:    keepCount,
		},
	}
	cfg.DialFunc = d.DialContext
	// Sent in the startup packet, so they cost no round trip. The server
	// ignores them on a Unix socket, where there is no peer to lose.
	cfg.RuntimeParams["application_name"] = app
	cfg.RuntimeParams["tcp_keepalives_idle"] = fmt.Sprint(keepIdle.Seconds())
	cfg.RuntimeParams["tcp_keepalives_interval"] = fmt.Sprint(keepInterval.Seconds())
	cfg.RuntimeParams["tcp_keepalives_count"] = fmt.Sprint(keepCount)
	cfg.RuntimeParams["tcp_user_timeout"] = fmt.Sprint(userTimeout.Milliseconds())
	return cfg, nil
}

// closeSession closes a dedicated connection without waiting long for a
// server that may be gone; closing ends the session, which drops its
// LISTENs and frees its advisory locks.
func closeSession(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// validChannel reports whether s can name a notification channel or a
// leadership: 1 to 63 characters (PostgreSQL's identifier limit) of a-z,
// 0-9 and '_', so it needs no case folding and quotes the same everywhere.
func validChannel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// pgText reports whether s can be a PostgreSQL text value.
func pgText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// reconnectBackoff spaces reconnection attempts: minBackoff, doubling to maxBackoff.
type reconnectBackoff struct{ next time.Duration }

// wait sleeps for the next delay and reports false if ctx ended first.
func (b *reconnectBackoff) wait(ctx context.Context) bool {
	if b.next == 0 {
		b.next = minBackoff
	}
	d := b.next
	b.next = min(2*b.next, maxBackoff)
	return sleepCtx(ctx, d)
}

func (b *reconnectBackoff) reset() { b.next = 0 }

// sleepCtx waits d and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
