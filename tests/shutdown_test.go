package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSIGTERMUnderLoad: SIGTERM while 16 writers post patients. Every
// answer that comes back is the write's 201 or a 503, never another error
// (a handler finding the database already closed would be a 500); the
// server exits 0 after closing the database (its close error would be the
// exit status); every acknowledged write is there after the restart, which
// takes no lock wait; and verify passes.
func TestSIGTERMUnderLoad(t *testing.T) {
	in := newClinic(t)
	in.start()
	c := in.owner()

	var mu sync.Mutex
	codes := map[int]int{}
	var acks []ack
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("Term Patient%02d%05d", g, i)
				code, b, err := c.do("POST", "/api/v1/patients", map[string]string{"name": name, "dob": "1980-01-02", "phone": "555-0100", "lang": "en"})
				if err != nil {
					// Refused or cut: the server has stopped taking
					// connections. Not acknowledged, and no more to send.
					return
				}
				var id string
				mu.Lock()
				codes[code]++
				if code == 201 && jsonID(b, &id) {
					acks = append(acks, ack{id, name})
				}
				mu.Unlock()
			}
		}(g)
	}
	time.Sleep(1500 * time.Millisecond)
	in.stop() // SIGTERM, and wait for the exit
	close(stop)
	wg.Wait()
	exit := in.exit

	if codes[201] < 20 {
		t.Fatalf("only %d writes were acknowledged before SIGTERM; the load did not run (%v)", codes[201], codes)
	}
	for code, n := range codes {
		if code != 201 && code != 503 {
			t.Errorf("%d requests answered %d during shutdown (only 201 or 503 may come back)", n, code)
		}
	}
	if exit != nil {
		t.Errorf("hearth serve exited with %v after SIGTERM (a failed database close is an error exit)", exit)
	}
	if !strings.Contains(in.log.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", in.log.String())
	}

	// The next start opens the database at once: nothing holds its lock.
	start := time.Now()
	in.start()
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the restart after SIGTERM took %v", d)
	}
	if strings.Contains(in.log.String(), "already running") {
		t.Errorf("the restart waited on the lock:\n%s", in.log.String())
	}
	c = in.owner()
	for _, a := range acks {
		var p struct{ Name string }
		if code := c.json("GET", "/api/v1/patients/"+a.id, nil, &p); code != 200 || p.Name != a.name {
			t.Fatalf("acknowledged patient %s lost after SIGTERM (status %d)", a.id, code)
		}
	}
	in.stop()
	if out, err := hearth(t, "", "verify", "--data", in.data); err != nil {
		t.Fatalf("verify after SIGTERM: %v\n%s", err, out)
	}
	t.Logf("%d writes acknowledged before SIGTERM, all present after restart (%v)", len(acks), codes)
}
