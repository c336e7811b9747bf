package clinic

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hearth/app/vault"
)

// Environment of the child process TestKilledBackupLeavesTheLastGoodOne
// runs and kills.
const (
	backupChildTarget = "HEARTH_TEST_BACKUP_TARGET" // the backup file to replace
	backupChildSource = "HEARTH_TEST_BACKUP_SOURCE" // the bytes the child writes, half of them
	backupChildReady  = "HEARTH_TEST_BACKUP_READY"  // a file the child creates once half is on disk
)

// TestKilledBackupLeavesTheLastGoodOne (checklist 56): a process killed
// with SIGKILL in the middle of writing a backup over the last good one
// (half the new backup written and flushed into its temporary file) leaves
// the last good backup in place, byte for byte, and it restores; the
// half-written temporary file is never taken for a backup, and the next
// backup replaces the old one cleanly. The writing process is this test
// binary run again, so the kill is a real kill -9 of a real process
// inside WriteFileAtomic.
func TestKilledBackupLeavesTheLastGoodOne(t *testing.T) {
	if target := os.Getenv(backupChildTarget); target != "" {
		backupChild(t, target)
		return
	}
	dir := t.TempDir()
	v, recovery, err := vault.Create(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newTestClinic(t)
	c.v = v
	ctx := context.Background()
	backups := filepath.Join(dir, "backups")
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(backups, BackupPrefix+"20261124-020000.backup")
	if err := WriteFileAtomic(target, func(w io.Writer) error { return c.Backup(ctx, w, "test", "bbolt") }); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	// The next backup: more data, written by a process that is killed.
	if _, err := c.CreatePatient(ctx, Actor{Kind: ActorStaff, Role: RoleOwner}, PatientInput{Name: "Nora Newer", DOB: "1981-01-01"}); err != nil {
		t.Fatal(err)
	}
	var next bytes.Buffer
	if err := c.Backup(ctx, &next, "test", "bbolt"); err != nil {
		t.Fatal(err)
	}
	source := filepath.Join(dir, "next.bin")
	if err := os.WriteFile(source, next.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledBackupLeavesTheLastGoodOne$", "-test.count=1")
	cmd.Env = append(os.Environ(), backupChildTarget+"="+target, backupChildSource+"="+source, backupChildReady+"="+ready)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the backup process ended before it was killed: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backup process never got half way:\n%s", out.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the backup process was not killed: %v", err)
	}

	// The temporary file holds half the new backup; the last good one is untouched.
	var tmp string
	ents, err := os.ReadDir(backups)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			tmp = filepath.Join(backups, e.Name())
		}
	}
	if b, err := os.ReadFile(tmp); tmp == "" || err != nil || len(b) == 0 || len(b) >= next.Len() {
		t.Fatalf("the killed process left no half-written temporary file (%q, %v)", tmp, err)
	}
	now, err := os.ReadFile(target)
	if err != nil || !bytes.Equal(now, good) {
		t.Fatalf("the last good backup changed after the kill (%v)", err)
	}
	if _, r, err := ReadBackup(recovery, bytes.NewReader(now)); err != nil {
		t.Fatalf("the last good backup does not open: %v", err)
	} else if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("the last good backup does not read to its end: %v", err)
	}
	if newest, err := NewestBackup(backups); err != nil || newest != target {
		t.Fatalf("the newest backup is %q (%v), want the last good one", newest, err)
	}
	if names, err := backupNames(backups); err != nil || len(names) != 1 {
		t.Fatalf("scheduled backups seen: %v (%v)", names, err)
	}
	// The next backup replaces it whole.
	if err := WriteFileAtomic(target, func(w io.Writer) error { _, err := w.Write(next.Bytes()); return err }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(target); err != nil || !bytes.Equal(b, next.Bytes()) {
		t.Fatalf("the next backup did not replace the old one: %v", err)
	}
}

// backupChild writes half of the source over target through
// WriteFileAtomic, flushes it to the temporary file, says so, and waits to
// be killed.
func backupChild(t *testing.T, target string) {
	src, err := os.ReadFile(os.Getenv(backupChildSource))
	if err != nil {
		t.Fatal(err)
	}
	err = WriteFileAtomic(target, func(w io.Writer) error {
		if _, err := w.Write(src[:len(src)/2]); err != nil {
			return err
		}
		if err := w.(*bufio.Writer).Flush(); err != nil {
			return err
		}
		if err := os.WriteFile(os.Getenv(backupChildReady), nil, 0o600); err != nil {
			return err
		}
		time.Sleep(time.Minute) // killed long before
		return nil
	})
	t.Fatalf("the backup child was not killed: %v", err)
}
