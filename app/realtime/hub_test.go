package realtime

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"hearth/app/clinic"
)

// fanoutServer is a hub behind a real HTTP server with n real websocket
// clients connected, each counting the frames it reads.
func fanoutServer(tb testing.TB, n int) (*Hub, *sync.WaitGroup, func(int)) {
	h := NewHub(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Serve(w, r, Sub{StaffID: "s", May: func(string) bool { return true }}, func(*http.Request) bool { return true })
	}))
	tb.Cleanup(srv.Close)
	var got sync.WaitGroup
	var mu sync.Mutex
	expect := 0
	seen := make([]int, n)
	for i := 0; i < n; i++ {
		c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if err := c.Close(); err != nil {
				tb.Errorf("close the socket: %v", err)
			}
		})
		go func(i int) {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				mu.Lock()
				seen[i]++
				if seen[i] <= expect {
					got.Done()
				}
				mu.Unlock()
			}
		}(i)
	}
	for h.Count() < n {
		time.Sleep(time.Millisecond)
	}
	return h, &got, func(frames int) {
		mu.Lock()
		expect += frames
		mu.Unlock()
	}
}

// BenchmarkFanout: one event to 200 (the bench's round-trip phase) and 500
// real staff sockets over loopback; ns/op is the time until every socket
// has read it, cpu-µs/event the process's user + system CPU per event (the
// hub's writes and the kernel's loopback path, and the test's own readers).
func BenchmarkFanout(b *testing.B) {
	for _, sockets := range []int{200, 500} {
		b.Run(fmt.Sprintf("sockets=%d", sockets), func(b *testing.B) {
			h, got, expect := fanoutServer(b, sockets)
			b.ReportAllocs()
			cpu0 := processCPU(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got.Add(sockets)
				expect(1)
				h.Publish(clinic.Event{Seq: uint64(i + 1), Type: "item.new", ItemID: "00000000-0000-4000-8000-000000000001", Queue: "frontdesk"})
				got.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
		})
	}
}

// BenchmarkFanoutStream: events published at a busy clinic's pace (1,000 a
// second, as in the bench's round trips) to 200 real staff sockets over
// loopback; cpu-µs/event is the process's user + system CPU per event, the
// hub's writes and the test's readers together, until every socket has
// read every event.
func BenchmarkFanoutStream(b *testing.B) {
	fanoutStream(b, 200, time.Millisecond)
}

func fanoutStream(b *testing.B, sockets int, every time.Duration) {
	h, got, expect := fanoutServer(b, sockets)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	got.Add(sockets * b.N)
	expect(b.N)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
			time.Sleep(d)
		}
		h.Publish(clinic.Event{Seq: uint64(i + 1), Type: "item.new", ItemID: "00000000-0000-4000-8000-000000000001", Queue: "frontdesk"})
	}
	done := make(chan struct{})
	go func() { got.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		// A socket dropped as too slow never hears the rest.
		b.Fatalf("not every socket heard every event; %d of %d sockets still open", h.Count(), sockets)
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

// processCPU is this process's user + system CPU time so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestFanoutReachesEverySocket(t *testing.T) {
	h, got, expect := fanoutServer(t, 50)
	got.Add(50 * 3)
	expect(3)
	for i := 1; i <= 3; i++ {
		h.Publish(clinic.Event{Seq: uint64(i), Type: "item.new", Queue: "frontdesk"})
	}
	done := make(chan struct{})
	go func() { got.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("not every socket heard every event")
	}
}
