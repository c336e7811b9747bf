package clinic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hearth/app/vault"
)

func TestScheduledBackupKeepsTheNewestAndRecordsStatus(t *testing.T) {
	c, _ := newTestClinic(t)
	ctx := context.Background()
	dir := t.TempDir()
	clock := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return clock }
	for i := 0; i < 5; i++ {
		if err := c.RunScheduledBackup(ctx, dir, 3, "test", "bbolt"); err != nil {
			t.Fatal(err)
		}
		if got := c.BackupStatus(ctx); got.LastOK != clock.Format(time.RFC3339) || got.LastError != "" {
			t.Fatalf("status after a good backup: %+v", got)
		}
		clock = clock.Add(24 * time.Hour)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	// Each backup has its plain audit anchor beside it, and a pruned
	// backup's anchor goes with it.
	want := []string{"hearth-20261103-020000.backup", "hearth-20261103-020000.backup.anchor",
		"hearth-20261104-020000.backup", "hearth-20261104-020000.backup.anchor",
		"hearth-20261105-020000.backup", "hearth-20261105-020000.backup.anchor"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("kept %v, want the newest 3 with their anchors", names)
	}
	// A folder that is gone (the USB drive was unplugged) is loud.
	err := c.RunScheduledBackup(ctx, filepath.Join(dir, "unplugged"), 3, "test", "bbolt")
	if err == nil {
		t.Fatal("a backup into a missing folder succeeded")
	}
	st := c.BackupStatus(ctx)
	if st.LastError == "" || st.LastOK == "" {
		t.Fatalf("a failed backup did not set the flag (or lost the last good time): %+v", st)
	}
}

func TestBackupReadsOnlyWithTheRecoveryKey(t *testing.T) {
	dir := t.TempDir()
	v, recovery, err := vault.Create(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newTestClinic(t)
	c.v = v // seal the backup to this vault's recovery key
	var buf bytes.Buffer
	if err := c.Backup(context.Background(), &buf, "test", "bbolt"); err != nil {
		t.Fatal(err)
	}
	h, r, err := ReadBackup(recovery, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if h.ClinicIdentity == "" || h.Store != "bbolt" {
		t.Fatalf("header %+v", h)
	}
	if n, err := io.Copy(io.Discard, r); err != nil || n == 0 {
		t.Fatalf("snapshot: %d %v", n, err)
	}
	clinicID, _ := v.ClinicIdentity()
	if _, _, err := ReadBackup(clinicID, bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrBackupDamaged) {
		t.Fatalf("the clinic's own key opened its backup: %v", err)
	}
	cut := buf.Bytes()[:buf.Len()-100]
	_, r, err = ReadBackup(recovery, bytes.NewReader(cut))
	if err == nil {
		_, err = io.Copy(io.Discard, r)
	}
	if !errors.Is(err, ErrBackupDamaged) || strings.Contains(err.Error(), "AGE-SECRET") {
		t.Fatalf("a cut backup: %v", err)
	}
}
