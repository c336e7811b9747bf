package tests

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestServerWritesNoCoreDumps (checklist 64): the running `hearth serve`
// has a core file size limit of zero, soft and hard, even when started
// from a shell that allows core dumps, so a crash cannot leave the
// clinic's key or an opened record in a core file. It reads the limit the
// kernel applies, /proc/<pid>/limits of the real binary.
func TestServerWritesNoCoreDumps(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &old); err != nil {
		t.Fatal(err)
	}
	// The server inherits this process's limit: allow cores here, so the
	// zero can only come from the server itself.
	allow := syscall.Rlimit{Cur: old.Max, Max: old.Max}
	if allow.Max == 0 {
		allow = syscall.Rlimit{Cur: 1 << 30, Max: 1 << 30} // root may raise it; anyone else fails here
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &allow); err != nil {
		t.Fatalf("cannot allow core dumps for the test (the server would inherit a zero and prove nothing): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &old); err != nil {
			t.Errorf("restoring the core limit: %v", err)
		}
	})
	in := newClinic(t)
	in.start()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", in.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Max core file size") {
			line = l
		}
	}
	f := strings.Fields(strings.TrimPrefix(line, "Max core file size"))
	if len(f) < 2 {
		t.Fatalf("no core limit in /proc/<pid>/limits:\n%s", b)
	}
	if f[0] != "0" || f[1] != "0" {
		t.Errorf("hearth serve may write core files: soft %s, hard %s (the test allowed %d)", f[0], f[1], allow.Cur)
	}
}
