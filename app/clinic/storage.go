package clinic

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hearth/app/i18n"
	"hearth/app/mail"
	"hearth/app/store"
)

// Storage faults: a disk that is full, or that refuses a write (EIO, or a
// file system remounted read-only after errors). Hearth fails closed: a
// commit the disk refused is never acknowledged, and since reading PHI
// writes an audit event, most reads fail too. What this file adds is that
// the failure is said plainly. Every write goes through watchedStore, which
// recognises the disk's errors, wraps them in ErrStorageFull or
// ErrStorageFailed (the web layer's "storage_full" and "storage_failed"),
// and keeps a fault in memory (nothing can be written down) that /healthz
// and the console show. The owner is emailed once per episode, straight
// through the mail server: the outbox lives in the store that is full.
//
// An episode ends when writes have gone through for storageSettle after
// the last refusal (a full disk lets small writes into pages bbolt freed
// earlier, so successes and refusals interleave until there is space);
// EveryMinute probes with a small write so that it ends by itself. A new
// email needs storageEpisodeGap without any refusal.

// Errors a refused write is wrapped in; the disk's own error stays in the
// chain (errors.Is(err, syscall.ENOSPC) still holds).
var (
	ErrStorageFull   = errors.New("clinic: the disk is full, so nothing can be saved")
	ErrStorageFailed = errors.New("clinic: the disk refused a write, so nothing can be saved")
)

// The kinds of storage fault (StorageFault.Code), as the web layer's error
// codes name them.
const (
	StorageFull   = "storage_full"
	StorageFailed = "storage_failed"
)

const (
	storageSettle     = 10 * time.Second
	storageEpisodeGap = time.Hour
	// metaStorageMailed is when the owner was last emailed about the
	// disk: best effort (the write usually fails while the disk is full),
	// so that a restart in the same episode does not email again.
	metaStorageMailed = "storage_alert_mailed"
	metaStorageProbe  = "storage_probe"
)

// StorageFault is the disk trouble the server is in.
type StorageFault struct {
	Code     string    `json:"code"`   // StorageFull or StorageFailed
	Reason   string    `json:"reason"` // in plain words
	Since    time.Time `json:"since"`
	Last     time.Time `json:"last"`
	Refusals int64     `json:"refusals"` // writes refused since Since
}

// storageState is the clinic's memory of storage faults.
type storageState struct {
	faulted  atomic.Bool // fast path: no lock on a healthy write
	mu       sync.Mutex
	fault    *StorageFault
	lastFail time.Time // the newest refusal, even after the fault cleared
	mailed   bool      // the current episode's owner email is done or under way
	metaRead bool      // metaStorageMailed was read into lastFail
	mailWG   sync.WaitGroup
}

// watchedStore is the clinic's store with every write's outcome noted.
type watchedStore struct {
	store.Store
	c *Clinic
}

func (w watchedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return w.c.noteWrite(w.Store.Update(ctx, fn))
}

// RecoveredPanics passes the backend's count through (0 when it keeps none).
func (w watchedStore) RecoveredPanics() int64 {
	if p, ok := w.Store.(interface{ RecoveredPanics() int64 }); ok {
		return p.RecoveredPanics()
	}
	return 0
}

// storageFaultCode says whether err is the disk refusing a write.
func storageFaultCode(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return StorageFull
	case errors.Is(err, syscall.EIO), errors.Is(err, syscall.EROFS):
		return StorageFailed
	}
	// bbolt flattens some errors into text (growing the file: "file
	// resize error: %s"), and PostgreSQL reports its own disk's ("could
	// not extend file ...: No space left on device", SQLSTATE 53100).
	switch msg := strings.ToLower(err.Error()); {
	case strings.Contains(msg, "no space left on device"), strings.Contains(msg, "disk quota exceeded"):
		return StorageFull
	case strings.Contains(msg, "input/output error"), strings.Contains(msg, "read-only file system"):
		return StorageFailed
	}
	return ""
}

func storageReason(code string) string {
	if code == StorageFull {
		return "storage is full: the disk that holds Hearth's data folder has no space left, so nothing can be saved"
	}
	return "the disk refused a write (an input/output error), so nothing can be saved"
}

// noteWrite records a write's outcome and returns its error, wrapped when
// it is the disk's.
func (c *Clinic) noteWrite(err error) error {
	if err == nil {
		if c.storage.faulted.Load() {
			c.storageWorks()
		}
		return nil
	}
	code := storageFaultCode(err)
	if code == "" {
		return err
	}
	c.storageRefused(code, err)
	if code == StorageFull {
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	return fmt.Errorf("%w: %w", ErrStorageFailed, err)
}

func (c *Clinic) storageRefused(code string, err error) {
	s := &c.storage
	now := c.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.metaRead {
		s.metaRead = true
		// Reading works on a full disk. A failed read only means the
		// owner may be emailed twice.
		if v, merr := c.Meta(context.Background(), metaStorageMailed); merr == nil && v != "" {
			if t, perr := time.Parse(time.RFC3339, v); perr == nil && s.lastFail.Before(t) {
				s.lastFail, s.mailed = t, true // emailed before a restart
			}
		}
	}
	if s.mailed && now.Sub(s.lastFail) >= storageEpisodeGap {
		s.mailed = false // a new episode
	}
	s.lastFail = now
	if s.fault == nil || s.fault.Code != code {
		s.fault = &StorageFault{Code: code, Reason: storageReason(code), Since: now}
		c.log.Error("STORAGE: the disk refused a write; nothing is saved or acknowledged until it takes writes again (see docs/OPERATIONS.md)",
			"fault", code, "err", err)
	}
	s.fault.Last = now
	s.fault.Refusals++
	s.faulted.Store(true)
	if !s.mailed {
		s.mailed = true
		f := *s.fault
		s.mailWG.Add(1)
		go func() {
			defer s.mailWG.Done()
			c.mailOwnersStorage(f)
		}()
	}
}

// storageWorks ends the fault once writes have gone through for
// storageSettle after the last refusal.
func (c *Clinic) storageWorks() {
	s := &c.storage
	now := c.now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fault == nil || now.Sub(s.lastFail) < storageSettle {
		return
	}
	c.log.Info("STORAGE: the disk takes writes again", "fault", s.fault.Code, "since", s.fault.Since, "refused", s.fault.Refusals)
	s.fault = nil
	s.faulted.Store(false)
}

// StorageFault returns the current storage fault, or nil when writes go
// through.
func (c *Clinic) StorageFault() *StorageFault {
	if !c.storage.faulted.Load() {
		return nil
	}
	s := &c.storage
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fault == nil {
		return nil
	}
	f := *s.fault
	return &f
}

// probeStorage tries a small write while a fault is on, so that the fault
// ends by itself once the disk takes writes again (EveryMinute runs it).
func (c *Clinic) probeStorage(ctx context.Context) {
	if !c.storage.faulted.Load() {
		return
	}
	if err := c.SetMeta(ctx, metaStorageProbe, c.now().UTC().Format(time.RFC3339)); err != nil {
		c.log.Debug("the storage probe's write was refused", "err", err)
	}
}

// mailOwnersStorage emails every active owner about fault f, through the
// clinic's mail server (the settings held in memory) and never through
// the outbox. The email names the clinic and what to do, nothing else.
func (c *Clinic) mailOwnersStorage(f StorageFault) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := c.Settings(ctx)
	if err != nil {
		c.log.Error("STORAGE: the owner could not be emailed about the disk: the settings cannot be read", "err", err)
		return
	}
	if s.SMTPHost == "" || s.MailFrom == "" {
		c.log.Warn("STORAGE: no mail server is set up, so the owner was not emailed about the disk")
		return
	}
	staff, err := c.ListStaff(ctx, System)
	if err != nil {
		c.log.Error("STORAGE: the owner could not be emailed about the disk: the staff list cannot be read", "err", err)
		return
	}
	tr, err := c.mailTr(s, i18n.Default) // to the owner, who reads the console's language
	if err != nil {
		c.log.Error("STORAGE: the owner could not be emailed about the disk", "err", err)
		return
	}
	msg := mail.Message{Subject: tr.T("mail.storage.subject."+f.Code, "clinic", s.ClinicName),
		Body: tr.T("mail.storage.body."+f.Code, "clinic", s.ClinicName)}
	sent := 0
	for _, st := range staff {
		if st.Role != RoleOwner || st.Disabled || st.Email == "" {
			continue
		}
		msg.To = st.Email
		if err := mail.Send(ctx, s.MailConfig(), msg); err != nil {
			c.log.Error("STORAGE: emailing an owner about the disk failed", "staff", st.ID, "err", err)
			continue
		}
		sent++
	}
	if sent == 0 {
		return
	}
	c.log.Info("STORAGE: the owners were emailed about the disk", "owners", sent, "fault", f.Code)
	if err := c.SetMeta(ctx, metaStorageMailed, c.now().UTC().Format(time.RFC3339)); err != nil {
		c.log.Debug("the time of the storage email could not be saved (expected while the disk refuses writes)", "err", err)
	}
}
