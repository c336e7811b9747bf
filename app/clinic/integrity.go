package clinic

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"hearth/app/audit"
	"hearth/app/store"
)

// Integrity at run time: the audit head is checked against the audit key at
// every start and unlock, and the store's page structure once right after
// start (CheckStore). What either finds is shown to the owner: an audit
// head that does not fit becomes a high-severity audit event; a damaged
// store puts the server into a degraded state (Damaged) in which staff
// screens are refused with a page saying how to restore.

// metaAuditFinding keeps the time and sequence of the newest integrity
// finding, so the console can show it without walking the chain. The
// finding itself is the chained event, which cannot be removed.
const metaAuditFinding = "audit_finding_last"

// checkAuditAtStart checks the audit head once the schema is current. It
// needs the key, so in sealed mode it waits for Unlock. A failure is
// logged, never fatal: the server still starts.
func (c *Clinic) checkAuditAtStart(ctx context.Context) {
	key, err := c.v.AuditKey()
	if err != nil {
		return // locked: Unlock checks
	}
	err = c.st.Update(ctx, func(tx store.Tx) error { return c.checkAuditHeadTx(tx, key) })
	if err != nil {
		c.log.Error("checking the audit trail's head failed", "err", err)
	}
}

// checkAuditHeadTx authenticates a head from before the upgrade, then
// checks that the head carries the key's MAC and names the newest event.
// If not, the newest events may have been cut off: that is recorded as a
// high-severity event (which then chains on from the head as found) and
// logged. Only a store error is returned.
func (c *Clinic) checkAuditHeadTx(tx store.Tx, key []byte) error {
	var ce *audit.ChainError
	var err error
	if c.schemaVer >= 4 {
		sealed, serr := audit.SealLegacyHead(tx, key, c.now())
		switch {
		case errors.As(serr, &ce):
			err = serr
		case serr != nil:
			return serr
		case sealed:
			c.log.Info("the audit trail's head is now authenticated with the audit key (one-time upgrade)")
			return nil
		}
	}
	if err == nil {
		err = audit.CheckHead(tx, key)
	}
	var seq uint64
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		seq = ce.Seq
	case errors.Is(err, audit.ErrHeadUnsealed):
	default:
		return err
	}
	c.log.Error("AUDIT TRAIL: the head does not carry the audit key's MAC; the newest audit events may have been cut off. Run `hearth verify` against your latest backup", "at_event", seq)
	e, aerr := audit.Append(tx, key, audit.Event{At: c.now(), Actor: "system", Action: audit.ActionIntegrity,
		Object: "audit:head", Severity: audit.High, Outcome: "failed"})
	if aerr != nil {
		return aerr
	}
	return tx.Put(MetaBucket, metaAuditFinding, []byte(strconv.FormatUint(e.Seq, 10)+" "+e.At.Format(time.RFC3339)))
}

// AuditHeadInfo is the audit chain's head as the owner's console shows it,
// to be written down: the newest event's number and a short fingerprint of
// its MAC. LastFinding is "" or "SEQ TIME" of the newest integrity finding.
type AuditHeadInfo struct {
	Seq         uint64 `json:"seq"`
	Fingerprint string `json:"fingerprint"`
	LastFinding string `json:"last_finding,omitempty"`
}

// AuditHead reads the audit chain's head.
func (c *Clinic) AuditHead(ctx context.Context) (AuditHeadInfo, error) {
	var out AuditHeadInfo
	err := c.st.View(ctx, func(tx store.Tx) error {
		h, err := audit.CurrentHead(tx)
		if err != nil {
			return err
		}
		finding, err := getMeta(tx, metaAuditFinding)
		if err != nil {
			return err
		}
		out = AuditHeadInfo{Seq: h.Seq, Fingerprint: h.Fingerprint(), LastFinding: finding}
		return nil
	})
	return out, err
}

// CheckAnchor checks that the live audit chain still holds the event an
// anchor names (a backup's, or a head the owner wrote down): the event at
// a.AuditSeq exists and its MAC begins with the anchor's MAC or
// fingerprint. It returns "" when it does, or the problem in plain words.
func (c *Clinic) CheckAnchor(ctx context.Context, a Anchor) (string, error) {
	if a.AuditSeq == 0 {
		return "", nil // the clinic had no audit events yet
	}
	want := a.AuditMAC
	if want == "" {
		want = a.AuditFingerprint
	}
	var problem string
	err := c.st.View(ctx, func(tx store.Tx) error {
		e, err := audit.FindEvent(tx, a.AuditSeq)
		switch {
		case errors.Is(err, store.ErrNotFound):
			h, herr := audit.CurrentHead(tx)
			if herr != nil {
				return herr
			}
			problem = fmt.Sprintf("the audit trail no longer holds event %d, which %s saw (the trail now ends at event %d): its newest events were cut off",
				a.AuditSeq, a.when(), h.Seq)
			return nil
		case err != nil:
			var ce *audit.ChainError
			if errors.As(err, &ce) {
				problem = fmt.Sprintf("audit event %d, which %s saw, is unreadable", a.AuditSeq, a.when())
				return nil
			}
			return err
		}
		if !audit.MatchesFingerprint(e.MAC, want) {
			problem = fmt.Sprintf("audit event %d is not the one %s saw (its MAC differs): the audit trail was rewritten from there on or before",
				a.AuditSeq, a.when())
		}
		return nil
	})
	return problem, err
}

func (a Anchor) when() string {
	if a.Created.IsZero() {
		return "the head written down"
	}
	return "the anchor of " + a.Created.UTC().Format(time.RFC3339)
}

// anchorNow reads the audit head for a backup's anchor.
func (c *Clinic) anchorNow(ctx context.Context) (Anchor, error) {
	var a Anchor
	err := c.st.View(ctx, func(tx store.Tx) error {
		h, err := audit.CurrentHead(tx)
		a = Anchor{Created: c.now().UTC(), AuditSeq: h.Seq, AuditFingerprint: h.Fingerprint(), AuditMAC: hex.EncodeToString(h.MAC)}
		return err
	})
	return a, err
}

// Damage says why the store failed its structure check, with what the
// degraded pages show: the clinic's name and phone from the plain settings
// copy when it could still be read, and the backup folder.
type Damage struct {
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
	ClinicName string    `json:"-"`
	Phone      string    `json:"-"`
	Emergency  string    `json:"-"`
	BackupDir  string    `json:"-"`
}

// Damaged returns the store's damage, or nil while it is sound (or not yet
// checked).
func (c *Clinic) Damaged() *Damage { return c.damage.Load() }

// CheckStore runs the store's structure check (bbolt's consistency check
// over every page; PostgreSQL's own). On damage the clinic becomes
// degraded (Damaged) and the problem is logged; the error is returned too.
func (c *Clinic) CheckStore(ctx context.Context) error {
	err := c.st.Check(ctx)
	if err == nil || !errors.Is(err, store.ErrCorrupt) {
		return err
	}
	d := &Damage{Reason: "the database file is damaged: its structure check failed", At: c.now().UTC()}
	if s, serr := c.plainSettings(ctx); serr == nil {
		d.ClinicName, d.Phone, d.Emergency, d.BackupDir = s.ClinicName, s.Phone, s.EmergencyNumber, s.BackupDir
	}
	c.damage.Store(d)
	c.log.Error("THE DATABASE IS DAMAGED: staff screens are closed until it is restored from a backup (run `hearth verify` for details)", "err", err)
	return err
}

// RecoveredPanics is how many times the store turned a panic on a damaged
// page into an error (0 for stores that never panic).
func (c *Clinic) RecoveredPanics() int64 {
	if p, ok := c.st.(interface{ RecoveredPanics() int64 }); ok {
		return p.RecoveredPanics()
	}
	return 0
}

// PlainBackupDir is the backup folder from the plain settings copy ("" if
// unset or unreadable), for messages that say where backups are.
func (c *Clinic) PlainBackupDir(ctx context.Context) string {
	s, err := c.plainSettings(ctx)
	if err != nil {
		return ""
	}
	return s.BackupDir
}
