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
