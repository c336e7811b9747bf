package cli

import "syscall"

// prSetDumpable is prctl's PR_SET_DUMPABLE (linux/prctl.h).
const prSetDumpable = 4

// noCoreDumps keeps this process's memory (the clinic's key, opened
// records, a typed passphrase) out of core files and away from other
// processes of the same user: the core size limit is set to zero, hard
// and soft, so no crash writes one and no child can raise it, and the
// process is marked not dumpable, which also refuses a debugger's attach
// and reading /proc/<pid>/mem to anyone but root.
func noCoreDumps() error {
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0}); err != nil {
		return err
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
