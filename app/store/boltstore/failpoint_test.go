package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"hearth/app/store"
	"hearth/app/testenv"
)

// setCommitFault makes every commit fail with e until the test ends.
func setCommitFault(t *testing.T, e syscall.Errno) {
	t.Helper()
	commitFault.Store(&e)
	t.Cleanup(func() { commitFault.Store(nil) })
}

// A commit the disk refuses returns the disk's error (errors.Is finds the
// errno through the store's wrapping), keeps nothing of the transaction,
// and leaves the file sound: the next commit works and the check passes.
func TestFailedCommitKeepsNothing(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("things", "a", []byte("kept")) }); err != nil {
		t.Fatal(err)
	}
	for _, e := range []syscall.Errno{syscall.EIO, syscall.ENOSPC} {
		t.Run(e.Error(), func(t *testing.T) {
			setCommitFault(t, e)
			// Concurrent writers go through bbolt's Batch, which retries a
			// failed function alone: every one must fail, none be kept.
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = s.Update(ctx, func(tx store.Tx) error {
						if err := tx.Put("things", fmt.Sprintf("%s-%d", e, i), []byte("lost")); err != nil {
							return err
						}
						_, err := tx.NextSeq("things")
						return err
					})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if !errors.Is(err, e) {
					t.Fatalf("writer %d: got %v, want an error wrapping %v", i, err, e)
				}
			}
			err := s.View(ctx, func(tx store.Tx) error {
				n, err := tx.Count("things")
				if err == nil && n != 1 {
					err = fmt.Errorf("%d records after failed commits, want the 1 committed before", n)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		n, err := tx.NextSeq("things")
		if err == nil && n != 1 {
			return fmt.Errorf("the counter is %d: a failed commit moved it", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// Without the linker's switch the fault file is ignored, whatever the
// environment says: a clinic's build cannot be made to fail commits.
func TestFaultFileNeedsTheLinkSwitch(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fault")
	if err := os.WriteFile(p, []byte("eio"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(FaultFileEnv, p)
	s := openTemp(t)
	if s.faults != "" {
		t.Fatalf("the fault file is read without the link-time switch")
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.Put("things", "a", []byte("x")) }); err != nil {
		t.Fatal(err)
	}
}

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
