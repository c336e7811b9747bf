//go:build !linux

package cli

import "syscall"

// noCoreDumps keeps this process's memory (the clinic's key, opened
// records, a typed passphrase) out of core files: the core size limit is
// set to zero, hard and soft. (On Linux the process is also marked not
// dumpable.)
func noCoreDumps() error {
	return syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0})
}
