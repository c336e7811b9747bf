//go:build !linux

package tests

import "errors"

// mountTmpfs: tmpfs mounts are made here only on Linux; elsewhere the
// tests that want one use the store's failpoint instead.
func mountTmpfs(dir, size string) error {
	return errors.New("mounting a tmpfs is supported on Linux only")
}

// unmount is never reached where mountTmpfs always fails.
func unmount(dir string) error { return errors.New("unmounting is supported on Linux only") }
