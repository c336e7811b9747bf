package cli

import (
	"syscall"
	"testing"
)

// prGetDumpable is prctl's PR_GET_DUMPABLE (linux/prctl.h).
const prGetDumpable = 3

// TestNoCoreDumpsMarksTheProcess (checklist 64): after noCoreDumps the
// process may write no core file and is not dumpable (no debugger attach,
// no /proc/<pid>/mem for other processes of the same user).
func TestNoCoreDumpsMarksTheProcess(t *testing.T) {
	if err := noCoreDumps(); err != nil {
		t.Fatal(err)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur != 0 || l.Max != 0 {
		t.Errorf("core limit %d/%d, want 0/0", l.Cur, l.Max)
	}
	d, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetDumpable, 0, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if d != 0 {
		t.Errorf("the process is still dumpable (%d)", d)
	}
}
