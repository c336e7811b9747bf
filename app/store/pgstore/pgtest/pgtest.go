// Package pgtest gives tests a real PostgreSQL server: the one named by
// HEARTH_TEST_PG (a postgres:// URL whose user may create databases; .ci/run
// starts one), or else a throwaway cluster it starts itself with initdb and
// pg_ctl in a temporary folder, listening on loopback only. Every call of
// DSN makes a fresh, empty database on it.
//
// A package that uses it calls Main (or Stop) from its TestMain, so a cluster it
// started is stopped when the tests end. Where no PostgreSQL is installed
// the tests skip, unless HEARTH_REQUIRE_PG is set (CI sets it): then they
// fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hearth/app/testenv"
)

var (
	once    sync.Once
	base    string // URL of the server's maintenance database
	stop    func() error
	failure string
)

// Main runs the tests and stops a cluster that DSN started.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops a cluster that DSN started (for a TestMain that does more than
// Main). It is safe to call when none was started. A cluster that will not
// stop is reported on standard error: the tests have already run.
func Stop() {
	if stop != nil {
		if err := stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping the test cluster: %v\n", err)
		}
		stop = nil
	}
}

// Available reports whether a PostgreSQL server can be had.
func Available() bool {
	once.Do(start)
	return failure == ""
}

// DSN returns the URL of a new, empty database, dropped when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if failure != "" {
		testenv.Missing(t, "no PostgreSQL server for this test: "+failure, testenv.RequirePG, testenv.CI)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "hearth_test_" + hex.EncodeToString(b)
	admin(t, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: the server's URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Conn opens a connection of the test's own to the database at dsn (for
// reading or changing it behind the store's back), closed when t ends.
func Conn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := conn.Close(ctx); err != nil {
			t.Errorf("pgtest: close: %v", err)
		}
	})
	return conn
}

func admin(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer func() {
		if err := conn.Close(ctx); err != nil {
			t.Errorf("pgtest: close: %v", err)
		}
	}()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

func start() {
	if v := os.Getenv("HEARTH_TEST_PG"); v != "" {
		base = v
		return
	}
	bin := findBin()
	if bin == "" {
		failure = "PostgreSQL's initdb was not found (install Debian's postgresql, or set HEARTH_TEST_PG)"
		return
	}
	dir, err := os.MkdirTemp("", "hearth-pg-")
	if err != nil {
		failure = err.Error()
		return
	}
	// initdb refuses to run as root: run the server as Debian's postgres user.
	var wrap []string
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			fail(dir, errors.New("running as root and there is no postgres user to run the server as"))
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			fail(dir, err)
			return
		}
		wrap = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) error {
		args = append(wrap, args...)
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", filepath.Base(args[len(wrap)]), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-instructions"); err != nil {
		fail(dir, err)
		return
	}
	port, err := freePort()
	if err != nil {
		fail(dir, err)
		return
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=300 -c fsync=on -c synchronous_commit=on", port, dir)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		fail(dir, err)
		return
	}
	base = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	stop = func() error {
		return errors.Join(run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"), os.RemoveAll(dir))
	}
}

// fail records why no cluster could be started and removes what the
// attempt left in dir.
func fail(dir string, err error) {
	failure = err.Error()
	if err := os.RemoveAll(dir); err != nil {
		failure += " (and its folder stays behind: " + err.Error() + ")"
	}
}

// findBin finds the folder of initdb and pg_ctl: Debian keeps them in
// /usr/lib/postgresql/VERSION/bin (newest first), elsewhere they are on PATH.
func findBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// freePort is a loopback port nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("no free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}
