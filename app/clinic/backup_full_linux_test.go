package clinic

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hearth/app/testenv"
)

// TestFullBackupTargetIsRetriedAndShown (checklist 57): a backup folder
// that fills up (a real 256 KiB tmpfs, full) or goes away (the USB drive
// unplugged): the scheduled backup fails loudly (its error is the status
// the console shows, and the audit trail has it), the last good backup's
// time stays on show, the good backups already there are kept and no half
// file is left among them; it is tried again every ten minutes whatever
// the hour, and the first try after space returns succeeds and clears the
// error; after that, backups are due once a day again.
func TestFullBackupTargetIsRetriedAndShown(t *testing.T) {
	c, _ := newTestClinic(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700"); err != nil {
		if testenv.Required(testenv.CI) {
			t.Fatalf("mounting a 256 KiB tmpfs: %v (CI runs as root and must be able to)", err)
		}
		testenv.Missing(t, "no tmpfs without root: "+err.Error())
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		testenv.Missing(t, "no time zone data: "+err.Error())
	}
	clock := time.Date(2026, 11, 2, 2, 0, 0, 0, loc) // the default backup hour, 2 am
	c.now = func() time.Time { return clock }
	const hour = 2
	status := func() BackupStatus { return c.BackupStatus(ctx) }
	due := func() bool { st := status(); return BackupDue(clock, hour, st.LastOK, st.LastError) }

	if !due() {
		t.Fatal("no backup is due at the backup hour with none on record")
	}
	if err := c.RunScheduledBackup(ctx, dir, 3, "test", "bbolt"); err != nil {
		t.Fatal(err)
	}
	good := status().LastOK
	names, err := backupNames(dir)
	if err != nil || len(names) != 1 {
		t.Fatalf("the first backup: %v %v", names, err)
	}
	goodBytes, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}

	// The next night the drive is full.
	clock = clock.Add(24 * time.Hour)
	var free syscall.Statfs_t
	if err := syscall.Statfs(dir, &free); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "someone-elses-files")
	if err := os.WriteFile(filler, make([]byte, int64(free.Bavail)*free.Bsize-1024), 0o600); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	if !due() {
		t.Fatal("the next night's backup is not due")
	}
	err = c.RunScheduledBackup(ctx, dir, 3, "test", "bbolt")
	if err == nil || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a backup onto a full drive: %v, want no space left", err)
	}
	st := status()
	if st.LastOK != good || !strings.Contains(st.LastError, "no space left") {
		t.Fatalf("status after the full drive: %+v (last good %s)", st, good)
	}
	if names, err := backupNames(dir); err != nil || len(names) != 1 {
		t.Fatalf("after the failed backup the folder holds %v (%v)", names, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, names[0])); err != nil || string(b) != string(goodBytes) {
		t.Fatalf("the last good backup changed: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("a half-written backup was left: %s", e.Name())
		}
	}
	var failed int
	log, err := c.AuditLog(ctx, Actor{Kind: ActorStaff, Role: RoleOwner}, auditFilterAction("backup.scheduled"), false, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range log {
		if ev.Outcome == "failed" {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d failed-backup audit events, want 1", failed)
	}

	// Retried every ten minutes, past the backup hour.
	clock = clock.Add(5 * time.Minute)
	if due() {
		t.Error("retried after 5 minutes")
	}
	clock = clock.Add(5 * time.Minute)
	if !due() {
		t.Error("not retried after 10 minutes")
	}
	if err := c.RunScheduledBackup(ctx, dir, 3, "test", "bbolt"); err == nil {
		t.Fatal("still full, yet the backup worked")
	}
	clock = clock.Add(3 * time.Hour) // 5 am: outside the backup hour
	if !due() {
		t.Error("a failed backup is not retried outside the backup hour")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := c.RunScheduledBackup(ctx, dir, 3, "test", "bbolt"); err != nil {
		t.Fatalf("with room again: %v", err)
	}
	st = status()
	if st.LastError != "" || st.LastOK != clock.UTC().Format(time.RFC3339) {
		t.Fatalf("status after the retry worked: %+v", st)
	}
	if names, _ := backupNames(dir); len(names) != 2 {
		t.Fatalf("backups after the retry: %v", names)
	}
	clock = clock.Add(10 * time.Minute)
	if due() {
		t.Error("due again right after a good backup")
	}

	// The drive is unplugged: the same, loudly, and retried.
	if err := c.RunScheduledBackup(ctx, filepath.Join(dir, "unplugged"), 3, "test", "bbolt"); err == nil {
		t.Fatal("a backup into a missing folder succeeded")
	}
	if st := status(); st.LastError == "" || st.LastOK == "" {
		t.Fatalf("status after the unplugged drive: %+v", st)
	}
	clock = clock.Add(10 * time.Minute)
	if !due() {
		t.Error("the unplugged drive's backup is not retried")
	}
}
