package clinic

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"hearth/app/store"
)

// Session lifetimes for staff. A session locks after the clinic's idle-lock
// minutes (the screen blanks; the password resumes it), expires after
// SessionIdleExpiry without any request, and ends SessionAbsolute after
// sign-in whatever happens: about one working shift.
const (
	SessionIdleExpiry = 8 * time.Hour
	SessionAbsolute   = 12 * time.Hour
	// clockSkew is how far the clock may step back (an NTP correction)
	// before a session or sign-in link made after that moment counts as
	// made in the future, and so as over.
	clockSkew         = 2 * time.Minute
	sessionTouchEvery = 30 * time.Second
)

// Staff sessions (bucketSessions) are kept in the clear: they carry ids and
// times, no PHI, and are keyed by the SHA-256 of the cookie token, so a
// copied database holds no usable session. The CSRF token is not stored at
// all: it is derived from the cookie token (csrfFor), so only the browser
// holding the cookie can know it, and the console can ask for it again
// after a reload.

// ErrSessionEnded means the cookie names no live session.
var ErrSessionEnded = errors.New("clinic: session ended")

// Session is one signed-in browser.
type Session struct {
	ID         string    `json:"-"` // hash of the token
	StaffID    string    `json:"staff_id"`
	Generation int       `json:"generation"`
	Created    time.Time `json:"created"`
	LastSeen   time.Time `json:"last_seen"`
	CSRF       string    `json:"-"` // derived from the cookie token, never stored
	Locked     bool      `json:"locked,omitempty"`
}

// sessionCache keeps live sessions in memory so a request costs no disk read.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]*Session
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// csrfLabel separates the CSRF derivation from the record key (the plain
// SHA-256 of the token): neither can be computed from the other.
const csrfLabel = "hearth staff session csrf v1\x00"

// csrfFor is the CSRF token of the session whose cookie token is token:
// SHA-256 over a label and the token. The token is 32 random bytes that
// only the cookie holder has, so the result is as unguessable as a random
// token; it is worked out on each request and never written down.
func csrfFor(token string) string {
	h := sha256.Sum256([]byte(csrfLabel + token))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// RandomToken is 32 random bytes, URL-safe.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StartSession signs s in on a new session and returns the cookie token. A
// token set before sign-in is never reused (no fixation).
func (c *Clinic) StartSession(ctx context.Context, s Staff) (string, Session, error) {
	token := RandomToken()
	now := c.now().UTC()
	sess := Session{ID: tokenHash(token), StaffID: s.ID, Generation: s.Generation, Created: now, LastSeen: now, CSRF: csrfFor(token)}
	b, _ := json.Marshal(sess)
	err := c.st.Update(ctx, func(tx store.Tx) error { return tx.Put(bucketSessions, sess.ID, b) })
	if err != nil {
		return "", Session{}, err
	}
	c.sessions.mu.Lock()
	c.sessions.m[sess.ID] = &sess
	c.sessions.mu.Unlock()
	return token, sess, nil
}

// SessionFor checks a cookie token and returns its session and staff
// member. touch marks activity (a websocket frame does not). A session past
// its idle lock comes back Locked; one past its expiry, or whose account was
// disabled or changed, is ended.
func (c *Clinic) SessionFor(ctx context.Context, token string, touch bool) (Session, Staff, error) {
	if token == "" {
		return Session{}, Staff{}, ErrSessionEnded
	}
	id := tokenHash(token)
	c.sessions.mu.Lock()
	sp := c.sessions.m[id]
	c.sessions.mu.Unlock()
	if sp == nil {
		var sess Session
		var legacy struct {
			CSRF *string `json:"csrf"`
		}
		err := c.st.View(ctx, func(tx store.Tx) error {
			b, err := tx.Get(bucketSessions, id)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &legacy); err != nil {
				return err
			}
			return json.Unmarshal(b, &sess)
		})
		if err != nil {
			return Session{}, Staff{}, ErrSessionEnded
		}
		if legacy.CSRF != nil {
			// A session from before CSRF tokens were derived: its
			// browser holds a token that is no longer the one checked.
			// It ends (sign in again), and its record, with the token in
			// it, goes.
			if err := c.EndSession(ctx, token); err != nil {
				c.log.Warn("a session from before derived CSRF tokens could not be removed", "staff", sess.StaffID, "err", err)
			}
			return Session{}, Staff{}, ErrSessionEnded
		}
		sess.ID = id
		c.sessions.mu.Lock()
		if cur := c.sessions.m[id]; cur != nil {
			sp = cur
		} else {
			c.sessions.m[id] = &sess
			sp = &sess
		}
		c.sessions.mu.Unlock()
	}
	// Every read of the shared record is a copy taken under the lock:
	// concurrent requests of one session update it (*sp = sess below).
	c.sessions.mu.Lock()
	sess := *sp
	c.sessions.mu.Unlock()
	st, err := c.staffCached(ctx, sess.StaffID)
	if err != nil {
		return Session{}, Staff{}, err
	}
	now := c.now().UTC()
	// A session made "in the future" means the clock went back: it ends, so
	// a backward jump never stretches a session past its absolute limit.
	if now.Sub(sess.Created) > SessionAbsolute || now.Sub(sess.LastSeen) > SessionIdleExpiry || sess.Created.Sub(now) > clockSkew ||
		st.Disabled || st.Generation != sess.Generation {
		// The session is over whether or not its record goes: this check
		// ends it again on its next use, so a record left behind is
		// cleanup that failed, not a way back in.
		if err := c.EndSession(ctx, token); err != nil {
			c.log.Warn("an ended session's record could not be removed", "staff", sess.StaffID, "err", err)
		}
		return Session{}, Staff{}, ErrSessionEnded
	}
	settings, _ := c.Settings(ctx)
	idle := time.Duration(settings.IdleLockMinutes) * time.Minute
	persist := false
	if !sess.Locked && now.Sub(sess.LastSeen) > idle {
		sess.Locked = true
		persist = true
	}
	if touch && !sess.Locked {
		if now.Sub(sess.LastSeen) > sessionTouchEvery {
			persist = true
		}
		sess.LastSeen = now
	}
	c.sessions.mu.Lock()
	*sp = sess
	c.sessions.mu.Unlock()
	sess.CSRF = csrfFor(token)
	if persist {
		// This node already holds the new state; the record only carries
		// it across restarts and to other nodes. If it is lost, the idle
		// lock is worked out again from LastSeen on the next check (so the
		// session locks anyway), and the next refresh tries again.
		if err := c.saveSession(ctx, sess); err != nil {
			c.log.Warn("a session's idle lock or activity time was not saved", "staff", sess.StaffID, "err", err)
		}
	}
	return sess, st, nil
}

func (c *Clinic) saveSession(ctx context.Context, sess Session) error {
	b, _ := json.Marshal(sess)
	err := c.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(bucketSessions, sess.ID); err != nil {
			return nil // ended meanwhile: do not bring it back
		}
		return tx.Put(bucketSessions, sess.ID, b)
	})
	if err == nil {
		c.changed(ChangedSession, sess.ID)
	}
	return err
}

// LockSession locks a session now (the browser's idle timer or a "lock" click).
func (c *Clinic) LockSession(ctx context.Context, token string) error {
	sess, _, err := c.SessionFor(ctx, token, false)
	if err != nil {
		return err
	}
	sess.Locked = true
	c.sessions.mu.Lock()
	if sp := c.sessions.m[sess.ID]; sp != nil {
		sp.Locked = true
	}
	c.sessions.mu.Unlock()
	return c.saveSession(ctx, sess)
}

// UnlockSession resumes a locked session with its owner's password or PIN.
func (c *Clinic) UnlockSession(ctx context.Context, token, password, pin, client string) error {
	sess, st, err := c.SessionFor(ctx, token, false)
	if err != nil {
		return err
	}
	ok := password != "" && checkPassword(st.PasswordHash, password) || pin != "" && c.checkPIN(st, pin)
	if !ok {
		c.auditFailure(ctx, Actor{Kind: ActorStaff, ID: st.ID, Client: client}, AuditEvent{Action: "session.unlock", Object: "staff:" + st.ID, Outcome: "failed"})
		return ErrBadCredential
	}
	// The unlock is audited before the session opens: if the event cannot
	// be written, the session stays locked and the caller gets the error.
	if err := c.Audit(ctx, Actor{Kind: ActorStaff, ID: st.ID, Role: st.Role, Client: client}, AuditEvent{Action: "session.unlock", Object: "staff:" + st.ID}); err != nil {
		return err
	}
	sess.Locked = false
	sess.LastSeen = c.now().UTC()
	c.sessions.mu.Lock()
	if sp := c.sessions.m[sess.ID]; sp != nil {
		*sp = sess
	}
	c.sessions.mu.Unlock()
	return c.saveSession(ctx, sess)
}

// EndSession signs a session out.
func (c *Clinic) EndSession(ctx context.Context, token string) error {
	id := tokenHash(token)
	c.sessions.mu.Lock()
	delete(c.sessions.m, id)
	c.sessions.mu.Unlock()
	err := c.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(bucketSessions, id) })
	if err == nil {
		c.changed(ChangedSession, id)
	}
	return err
}

// staffCached reads a staff record through a small in-memory cache; every
// change to a staff record drops its entry.
func (c *Clinic) staffCached(ctx context.Context, id string) (Staff, error) {
	c.staffMu.Lock()
	s, ok := c.staffCache[id]
	c.staffMu.Unlock()
	if ok {
		return s, nil
	}
	s, err := c.Staff(ctx, id)
	if err != nil {
		return s, err
	}
	c.staffMu.Lock()
	c.staffCache[id] = s
	c.staffMu.Unlock()
	return s, nil
}

func (c *Clinic) forgetStaff(id string) {
	c.Forget(ChangedStaff, id)
	c.changed(ChangedStaff, id)
}
