package realtime

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// BenchmarkFanout: one event to 500 real staff sockets; ns/op is the time
// until every socket has read it.
func BenchmarkFanout(b *testing.B) {
	const sockets = 500
	h, got, expect := fanoutServer(b, sockets)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got.Add(sockets)
		expect(1)
		h.Publish(clinic.Event{Seq: uint64(i + 1), Type: "item.new", ItemID: "00000000-0000-4000-8000-000000000001", Queue: "frontdesk"})
		got.Wait()
	}
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
