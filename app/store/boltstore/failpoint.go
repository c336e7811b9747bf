package boltstore

import (
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
)

// The commit failpoint: tests make a commit fail the way a failing disk
// makes bbolt's commit fail (its page write or fdatasync returns EIO, or
// ENOSPC), to show that such a write is never acknowledged. A faulted
// Update has run its function in a real transaction, which is then rolled
// back; the error is the *fs.PathError bbolt would have returned.
//
// Two switches, neither reachable in a clinic's build:
//   - in this package's tests, commitFault (setCommitFault);
//   - in the binary the whole-program tests build, a file: testFaults is
//     set only at link time (-X hearth/app/store/boltstore.testFaults=on),
//     and then the file named by HEARTH_TEST_COMMIT_FAULT is read at each
//     commit: "eio" or "enospc" makes it fail, anything else lets it pass.

// testFaults, set only by the linker, enables the fault file.
var testFaults string

// FaultFileEnv names the fault file a test binary reads (see testFaults).
const FaultFileEnv = "HEARTH_TEST_COMMIT_FAULT"

// commitFault, when set, is the errno every commit fails with.
var commitFault atomic.Pointer[syscall.Errno]

// faultFile is the fault file's path, fixed at Open ("" when disabled).
func faultFile() string {
	if testFaults != "on" {
		return ""
	}
	return os.Getenv(FaultFileEnv)
}

// injectedFault returns the error this commit must fail with, or nil.
func (s *Store) injectedFault() error {
	if e := commitFault.Load(); e != nil {
		return &fs.PathError{Op: "write", Path: s.path, Err: *e}
	}
	if s.faults == "" {
		return nil
	}
	b, err := os.ReadFile(s.faults)
	if err != nil {
		return nil // no file: no fault
	}
	switch strings.TrimSpace(string(b)) {
	case "eio":
		return &fs.PathError{Op: "write", Path: s.path, Err: syscall.EIO}
	case "enospc":
		return &fs.PathError{Op: "write", Path: s.path, Err: syscall.ENOSPC}
	}
	return nil
}
