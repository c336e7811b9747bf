package clinic

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"hearth/app/vault"
)

// A backup file is one age file sealed to the recovery recipient. Inside: a
// magic line, a JSON header line (which carries the clinic identity, so that
// the recovery key alone restores everything), then the store's own
// snapshot. age authenticates every chunk and the end of the stream, so a
// flipped byte or a truncated file is an error, never a partial restore.
const backupMagic = "HEARTH-BACKUP 1\n"

// BackupHeader describes a backup. AuditSeq and AuditMAC are the audit
// chain's head when the backup was taken: an anchor outside the database
// that `hearth verify --against` checks the live chain against.
type BackupHeader struct {
	Created           time.Time `json:"created"`
	Version           string    `json:"version"`
	Store             string    `json:"store"`
	ClinicIdentity    string    `json:"clinic_identity"`
	RecoveryRecipient string    `json:"recovery_recipient"`
	AuditSeq          uint64    `json:"audit_seq,omitempty"`
	AuditMAC          string    `json:"audit_mac,omitempty"` // hex
}

// Anchor is the audit chain's head a backup saw, kept beside the backup in
// a small plain file (AnchorSuffix) because the backup itself opens only
// with the recovery key. It holds a sequence number and a MAC: no PHI, and
// nothing that helps anyone forge events.
type Anchor struct {
	Created          time.Time `json:"created"`
	AuditSeq         uint64    `json:"audit_seq"`
	AuditFingerprint string    `json:"audit_fingerprint"`
	AuditMAC         string    `json:"audit_mac,omitempty"` // hex, the whole MAC
}

// AnchorSuffix names a backup's anchor file: BACKUP.anchor.
const AnchorSuffix = ".anchor"

// Anchor returns the anchor a backup header carries.
func (h BackupHeader) Anchor() Anchor {
	a := Anchor{Created: h.Created, AuditSeq: h.AuditSeq, AuditMAC: h.AuditMAC}
	if len(h.AuditMAC) >= 16 {
		x := h.AuditMAC
		a.AuditFingerprint = x[0:4] + "-" + x[4:8] + "-" + x[8:12] + "-" + x[12:16]
	}
	return a
}

// WriteAnchor writes a's plain anchor file beside the backup at path.
func WriteAnchor(path string, a Anchor) error {
	b, _ := json.MarshalIndent(a, "", "  ")
	return WriteFileAtomic(path+AnchorSuffix, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// ReadAnchor reads an anchor file.
func ReadAnchor(path string) (Anchor, error) {
	var a Anchor
	b, err := os.ReadFile(path)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil || (a.AuditSeq > 0 && a.AuditMAC == "" && a.AuditFingerprint == "") {
		return a, fmt.Errorf("%s is not a Hearth backup anchor", path)
	}
	return a, nil
}

// NewestBackup returns the newest scheduled backup in dir ("" if none).
func NewestBackup(dir string) (string, error) {
	names, err := backupNames(dir)
	if err != nil || len(names) == 0 {
		return "", err
	}
	return filepath.Join(dir, names[len(names)-1]), nil
}

// ErrBackupDamaged means the file is not a whole, untampered Hearth backup,
// or the recovery key is not the one it was sealed to.
var ErrBackupDamaged = errors.New("clinic: the backup file is damaged, incomplete, or sealed to another recovery key")

// Backup writes a backup of the whole clinic to w, sealed to the recovery
// recipient. Writers go on meanwhile.
func (c *Clinic) Backup(ctx context.Context, w io.Writer, version, storeKind string) error {
	_, err := c.BackupAnchored(ctx, w, version, storeKind)
	return err
}

// BackupAnchored is Backup, returning the audit head the backup recorded
// in its header (read just before the snapshot, so the snapshot holds it).
func (c *Clinic) BackupAnchored(ctx context.Context, w io.Writer, version, storeKind string) (Anchor, error) {
	id, err := c.v.ClinicIdentity()
	if err != nil {
		return Anchor{}, ErrLocked
	}
	a, err := c.anchorNow(ctx)
	if err != nil {
		return a, err
	}
	sw, err := c.v.SealToRecovery(w)
	if err != nil {
		return a, err
	}
	hdr, _ := json.Marshal(BackupHeader{Created: a.Created, Version: version, Store: storeKind,
		ClinicIdentity: id, RecoveryRecipient: c.v.RecoveryRecipient(), AuditSeq: a.AuditSeq, AuditMAC: a.AuditMAC})
	if _, err := io.WriteString(sw, backupMagic+string(hdr)+"\n"); err != nil {
		return a, err
	}
	if _, err := c.st.Backup(ctx, sw); err != nil {
		return a, fmt.Errorf("clinic: backup: %w", err)
	}
	if err := sw.Close(); err != nil {
		return a, err
	}
	return a, c.Audit(ctx, System, AuditEvent{Action: "backup.write", Object: "backup"})
}

// ReadBackup opens a backup with the recovery identity and returns its
// header and a reader for the store snapshot. Reading that to its end is what
// proves the file whole: a damaged or cut file fails there with an error
// that wraps ErrBackupDamaged.
func ReadBackup(recoveryIdentity string, r io.Reader) (BackupHeader, io.Reader, error) {
	var h BackupHeader
	pr, err := vault.OpenWithIdentity(strings.TrimSpace(recoveryIdentity), r)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrBackupDamaged, err)
	}
	br := bufio.NewReaderSize(damagedReader{pr}, 64<<10)
	magic, err := br.ReadString('\n')
	if err != nil || magic != backupMagic {
		return h, nil, ErrBackupDamaged
	}
	line, err := br.ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &h) != nil || h.ClinicIdentity == "" {
		return h, nil, ErrBackupDamaged
	}
	return h, br, nil
}

type damagedReader struct{ r io.Reader }

func (d damagedReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %v", ErrBackupDamaged, err)
	}
	return n, err
}

// WriteFileAtomic writes path through a temporary file in the same folder,
// fsyncs it, renames it into place and fsyncs the folder: a crash leaves the
// old file or the new one, never half of one.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	// Once renamed, the temporary name is gone and this Remove fails with
	// "not exist"; before that, it cleans up a failed write. Either way
	// there is nothing more to do with its error.
	defer func() { _ = os.Remove(tmp.Name()) }()
	// fail closes the temporary file after a failed step. The step's error
	// is the one the caller needs; the file is being thrown away, so its
	// close cannot lose anything.
	fail := func(err error) error {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The rename is durable only once the folder is synced: without it a
	// crash can bring back the old file, or none. An error here means the
	// new file is in place but may not survive a power cut.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // read-only folder handle: the sync's error is the one that matters
		return err
	}
	return d.Close()
}

// Scheduled backups keep their status in meta, so the console can show it.
const (
	MetaBackupOK    = "backup_last_ok"    // RFC 3339 time of the last good scheduled backup
	MetaBackupError = "backup_last_error" // the last failure ("" when the last run worked)
)

// BackupPrefix names scheduled backup files: hearth-20261124-020000.backup.
const BackupPrefix = "hearth-"

// BackupRetry is how soon a failed scheduled backup is tried again.
const BackupRetry = 10 * time.Minute

// BackupDue reports whether a scheduled backup should run at now (in the
// clinic's zone): once a day in the owner's hour, and after a failure
// (lastError newer than lastOK, as RunScheduledBackup records them) again
// every BackupRetry until one works, whatever the hour: a drive that was
// full or unplugged at 2 am is retried through the day, not a day later.
func BackupDue(now time.Time, hour int, lastOK, lastError string) bool {
	ok, _ := time.Parse(time.RFC3339, lastOK) // "" or damaged: no good backup on record
	if at, _, found := strings.Cut(lastError, ": "); found {
		if failed, err := time.Parse(time.RFC3339, at); err == nil && failed.After(ok) {
			return now.Sub(failed) >= BackupRetry
		}
	}
	return now.Hour() == hour && now.Sub(ok) > 20*time.Hour
}

// RunScheduledBackup writes one backup into dir and keeps the newest keep.
// Its outcome is recorded in meta either way.
func (c *Clinic) RunScheduledBackup(ctx context.Context, dir string, keep int, version, storeKind string) error {
	now := c.now()
	if d := c.Damaged(); d != nil {
		// A backup of a damaged file would push the good ones out.
		err := errors.New("the database is damaged, so no backup was taken (the older, good backups are kept): " + d.Reason)
		if merr := c.SetMeta(ctx, MetaBackupError, now.UTC().Format(time.RFC3339)+": "+err.Error()); merr != nil {
			c.log.Error("the skipped scheduled backup could not be recorded in the backup status", "err", merr)
		}
		return err
	}
	name := filepath.Join(dir, BackupPrefix+now.UTC().Format("20060102-150405")+".backup")
	var a Anchor
	err := WriteFileAtomic(name, func(w io.Writer) error {
		var err error
		a, err = c.BackupAnchored(ctx, w, version, storeKind)
		return err
	})
	if err == nil {
		err = WriteAnchor(name, a)
	}
	if err == nil {
		err = pruneBackups(dir, keep)
	}
	if err != nil {
		// The backup's own error is what the caller reports; the status
		// and audit event that could not be written are logged beside it.
		if merr := c.SetMeta(ctx, MetaBackupError, now.UTC().Format(time.RFC3339)+": "+err.Error()); merr != nil {
			c.log.Error("the failed scheduled backup could not be recorded in the backup status", "err", merr)
		}
		if aerr := c.Audit(ctx, System, AuditEvent{Action: "backup.scheduled", Object: "backup", Outcome: "failed"}); aerr != nil {
			c.log.Error("the audit event of a failed scheduled backup was not written", "err", aerr)
		}
		return err
	}
	// The backup is written; a stale error left in the status is logged,
	// and the time of this good backup is still recorded below.
	if err := c.SetMeta(ctx, MetaBackupError, ""); err != nil {
		c.log.Error("the previous backup error could not be cleared from the backup status", "err", err)
	}
	return c.SetMeta(ctx, MetaBackupOK, now.UTC().Format(time.RFC3339))
}

func pruneBackups(dir string, keep int) error {
	names, err := backupNames(dir)
	if err != nil {
		return err
	}
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(dir, names[0]+AnchorSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		names = names[1:]
	}
	return nil
}

// backupNames lists the scheduled backups in dir, oldest first.
func backupNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, BackupPrefix) && strings.HasSuffix(n, ".backup") && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// BackupStatus is what the console shows about scheduled backups, with the
// audit chain's head for the owner to write down (it is what backups
// anchor).
type BackupStatus struct {
	LastOK    string         `json:"last_ok"`
	LastError string         `json:"last_error"`
	AuditHead *AuditHeadInfo `json:"audit_head,omitempty"`
}

// BackupStatus reads the scheduled-backup flags and the audit head. When
// the flags cannot be read, LastError says so (and the log says why), so
// the console shows a problem rather than a clean record.
func (c *Clinic) BackupStatus(ctx context.Context) BackupStatus {
	var b BackupStatus
	var err error
	if b.LastOK, err = c.Meta(ctx, MetaBackupOK); err == nil {
		b.LastError, err = c.Meta(ctx, MetaBackupError)
	}
	if err != nil {
		c.log.Error("the backup status could not be read", "err", err)
		b = BackupStatus{LastError: "the backup status could not be read; see the server log"}
	}
	if h, err := c.AuditHead(ctx); err == nil {
		b.AuditHead = &h
	} else {
		c.log.Error("the audit head could not be read", "err", err)
	}
	return b
}

// AnchorTrailer is the HTTP trailer in which the control socket sends a
// backup's anchor (Anchor.Trailer) after the backup itself.
const AnchorTrailer = "Hearth-Audit-Anchor"

// Trailer encodes a for AnchorTrailer: "SEQ MACHEX CREATED".
func (a Anchor) Trailer() string {
	mac := a.AuditMAC
	if mac == "" {
		mac = "-" // no events yet
	}
	return fmt.Sprintf("%d %s %s", a.AuditSeq, mac, a.Created.UTC().Format(time.RFC3339Nano))
}

// ParseAnchorTrailer reads what Trailer wrote.
func ParseAnchorTrailer(s string) (Anchor, error) {
	var a Anchor
	var created string
	if _, err := fmt.Sscanf(s, "%d %s %s", &a.AuditSeq, &a.AuditMAC, &created); err != nil {
		return a, errors.New("the audit anchor is missing or malformed")
	}
	t, err := time.Parse(time.RFC3339Nano, created)
	if err != nil {
		return a, errors.New("the audit anchor is missing or malformed")
	}
	a.Created = t
	if a.AuditMAC == "-" {
		a.AuditMAC = ""
	}
	a.AuditFingerprint = BackupHeader{AuditMAC: a.AuditMAC}.Anchor().AuditFingerprint
	return a, nil
}
