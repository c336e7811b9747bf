//go:build linux

package boltstore

import (
	"bytes"
	"os"
	"strconv"

	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMap takes the first size bytes of the database's memory map out
// of the process's resident set (madvise MADV_DONTNEED). The map is of the
// file and read-only (bbolt writes with pwrite), so nothing is lost: the
// pages stay in the kernel's page cache, and the next read of one maps it
// again. The caller holds a transaction, so the map cannot move meanwhile.
func releaseMap(db *bbolt.DB, size int64) {
	info := db.Info()
	if info == nil || info.Data == 0 || size <= 0 {
		return
	}
	// Advice only: if the kernel refuses it, the pages stay mapped, as
	// they were.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), unix.MADV_DONTNEED)
}

// fileResident is how much of the process's resident memory is mapped from
// files (the database map and the program's own pages): statm's third
// field, in pages. It is -1 when it cannot be read.
func fileResident() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return -1
	}
	n, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return -1
	}
	return n * int64(os.Getpagesize())
}
