package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"hearth/app/clinic"
)

// TestSlowSocketKeepsTheDatabaseSmall: a staff socket that reads one
// event every 20 ms, replaying the event log from the start, while the
// clinic takes a steady stream of new messages. The hub reads the log in a
// transaction that ends before any byte goes to the socket; one held
// across the slow writes would pin every page the writers free, and the
// file would grow many times faster than the same writes with no socket
// open. The two are compared.
func TestSlowSocketKeepsTheDatabaseSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1,150 messages")
	}
	e := newEnv(t)
	owner := e.owner()
	pid := e.addPatient(owner, "Ada Example", "1970-06-15")
	path := filepath.Join(e.fx.Dir, "hearth.db")
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	patient := clinic.Actor{Kind: clinic.ActorPatient, ID: pid, Patient: pid}
	write := func(n int, tag string) error {
		for i := 0; i < n; i++ {
			body := fmt.Sprintf("%s message %d: please call me back about the refill", tag, i)
			if _, err := e.c.CreateItem(context.Background(), patient, clinic.NewItem{Type: "message", Body: body}); err != nil {
				return err
			}
		}
		return nil
	}
	mustWrite := func(n int, tag string) {
		if err := write(n, tag); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(150, "warm-up") // past the file's first sizes
	const n = 500

	s0 := size()
	mustWrite(n, "quiet")
	quiet := size() - s0

	c, _, err := owner.dialWS(t, e.srv.URL, 1) // replay everything so far
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeWS(t, c) })
	var read atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
				return
			}
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
			read.Add(1)
		}
	}()
	s1 := size()
	start := time.Now()
	// A read transaction held across the socket's writes would also stall
	// these writes outright, the first time the file needs a bigger map:
	// that fails here rather than at the test binary's timeout.
	wrote := make(chan error, 1)
	go func() { wrote <- write(n, "slow") }()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("writes stalled while a slow socket was open: something holds a read transaction across network I/O")
	}
	took := time.Since(start)
	slow := size() - s1
	close(stop)
	<-done

	if read.Load() == 0 {
		t.Fatal("the slow socket read nothing: the test did not run a slow reader")
	}
	t.Logf("%d messages: the file grew %d bytes with no socket, %d with a slow one (%d events read, %v)", n, quiet, slow, read.Load(), took)
	// Room for the file's own growth steps; a pinned snapshot costs pages
	// on every one of the n commits.
	if slow > 2*quiet+4<<20 {
		t.Errorf("with a slow socket the file grew %d bytes over %d messages, against %d without", slow, n, quiet)
	}
}
