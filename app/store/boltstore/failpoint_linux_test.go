package boltstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"hearth/app/store"
	"hearth/app/testenv"
)

// A real full disk: a 1 MiB tmpfs. bbolt's own commit fails with ENOSPC
// (the error reaches the caller unflattened), nothing is half-kept, and
// once space returns the file opens, checks clean and takes writes.
func TestFullDiskRefusesCommitsAndRecovers(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		testenv.Missing(t, "mounting a tmpfs needs root ("+err.Error()+")", testenv.CI)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	ctx := context.Background()
	path := filepath.Join(dir, "hearth.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	value := make([]byte, 3000)
	acked := 0
	var full error
	for i := 0; i < 2000 && full == nil; i++ {
		err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("things", fmt.Sprintf("%06d", i), value) })
		switch {
		case err == nil:
			acked++
		case errors.Is(err, syscall.ENOSPC):
			full = err
		default:
			t.Fatalf("write %d: %v (want success or ENOSPC)", i, err)
		}
	}
	if full == nil {
		t.Fatal("the 1 MiB disk never filled")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Space returns (here: the disk grows); the file is sound and holds
	// exactly what was acknowledged.
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=8m"); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("after a full disk: %v", err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		n, err := tx.Count("things")
		if err == nil && n != acked {
			err = fmt.Errorf("%d records, %d acknowledged", n, acked)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("things", "after", value) }); err != nil {
		t.Fatalf("a write after space returned: %v", err)
	}
}
