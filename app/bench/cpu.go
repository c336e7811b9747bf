package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The bench drives the server as a separate child process (so its memory
// is measured alone), so the server's CPU time is read from
// /proc/PID/stat: user + system time of all its threads, the same figure
// getrusage gives a process about itself. What the bench (the load
// generator) spends is not in it, so the figure does not move when the
// machine is shared: only what the server spent on the work does.

// clockTick is the unit of /proc's CPU times (USER_HZ), 100 on Linux
// whatever the kernel's own tick.
const clockTick = 10 * time.Millisecond

// procStat reads a process's parent and its CPU time: its own threads'
// user + system time, and that of its children it has waited for.
func procStat(pid int) (ppid int, own, waited time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat is not readable", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14–17.
	if len(f) < 15 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat is short", pid)
	}
	n := func(k int) int64 { v, _ := strconv.ParseInt(f[k-3], 10, 64); return v }
	return int(n(4)), time.Duration(n(14)+n(15)) * clockTick, time.Duration(n(16)+n(17)) * clockTick, nil
}

// cpuOf is the user + system CPU time a running process has used.
func cpuOf(pid int) (time.Duration, error) {
	_, own, _, err := procStat(pid)
	return own, err
}

// dbCPU measures a PostgreSQL server on this machine: the postmaster's
// own and waited-for children's time plus that of its living children
// (backends, WAL writer, checkpointer), so a backend that ends between two
// readings is still counted once. The zero value measures nothing (no
// database, or one on another machine).
type dbCPU struct {
	postmaster int
}

// findDB asks the database for the process serving the bench's own
// connection; its parent is the postmaster.
func findDB(ctx context.Context, url string) (dbCPU, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return dbCPU{}, err
	}
	var pid, ppid int
	err = conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid)
	if err == nil {
		// While the connection is open: its backend ends with it.
		if ppid, _, _, err = procStat(pid); err != nil {
			err = fmt.Errorf("the database's processes are not on this machine: %w", err)
		}
	}
	if cerr := conn.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return dbCPU{}, err
	}
	return dbCPU{postmaster: ppid}, nil
}

// total is the CPU the database's processes have used so far.
func (d dbCPU) total() (time.Duration, error) {
	if d.postmaster == 0 {
		return 0, nil
	}
	_, own, waited, err := procStat(d.postmaster)
	if err != nil {
		return 0, err
	}
	sum := own + waited
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, own, _, err := procStat(pid)
		if err == nil && ppid == d.postmaster {
			sum += own
		}
	}
	return sum, nil
}

// cpuMeter reads the server's (and a local database's) CPU time around a
// phase, and the bench's own: the load generator shares the machine's
// cores, so what it spends per round trip is taken from the server.
type cpuMeter struct {
	pid int
	db  dbCPU
}

type cpuReading struct{ server, db, bench time.Duration }

func (m cpuMeter) read() (cpuReading, error) {
	s, err := cpuOf(m.pid)
	if err != nil {
		return cpuReading{}, err
	}
	// The bench's own threads only: the server it waits for at the end
	// is not in it (that is the child's waited-for time, not read here).
	b, err := cpuOf(os.Getpid())
	if err != nil {
		return cpuReading{}, err
	}
	d, err := m.db.total()
	return cpuReading{s, d, b}, err
}

// perUnit is microseconds of CPU per unit of work between two readings.
func perUnit(a, b time.Duration, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64((b - a).Microseconds()) / float64(n)
}
