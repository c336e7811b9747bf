package realtime

import (
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// hubServer is a hub behind a real HTTP server that lets every socket in.
func hubServer(t *testing.T) (*Hub, string) {
	t.Helper()
	h := NewHub(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Serve(w, r, Sub{StaffID: "s", May: func(string) bool { return true }}, func(*http.Request) bool { return true })
	}))
	t.Cleanup(srv.Close)
	return h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// dialHub connects one socket.
func dialHub(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() }) // closed by the server already, usually
	return c
}

// closeCode reads until the server's close frame and returns its code.
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue // an event or presence frame: not what this waits for
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("the socket ended without a close frame: %v", err)
	}
}

// hugeFrame sends, raw, the header of one masked text frame that declares
// size bytes, then pad bytes of its payload: the attack that costs the
// sender nothing and a server without a read limit the whole size.
func hugeFrame(t *testing.T, c *websocket.Conn, size uint64, pad int) {
	t.Helper()
	hdr := []byte{0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
	binary.BigEndian.PutUint64(hdr[2:10], size)
	conn := c.UnderlyingConn()
	if _, err := conn.Write(hdr); err != nil {
		t.Fatal(err)
	}
	// The server may close before all of the padding is sent: that write
	// failing is the point.
	_, _ = conn.Write(make([]byte, pad))
}

// TestOversizedFrameClosesWith1009: a frame over the read limit, declared
// in one header or built from fragments, closes the socket with 1009
// (message too big), and the hub forgets it.
func TestOversizedFrameClosesWith1009(t *testing.T) {
	h, url := hubServer(t)

	c := dialHub(t, url)
	hugeFrame(t, c, 1<<30, 64<<10)
	if code := closeCode(t, c); code != websocket.CloseMessageTooBig {
		t.Errorf("a 1 GiB frame header: close code %d, want %d", code, websocket.CloseMessageTooBig)
	}

	// Fragments, each small, that add up past the limit.
	c = dialHub(t, url)
	w, err := c.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("x", 1024))
	for i := 0; i < 4*maxReadBytes/len(chunk); i++ {
		if _, err := w.Write(chunk); err != nil {
			break // the server has closed already
		}
	}
	_ = w.Close() // the same: it may have gone
	if code := closeCode(t, c); code != websocket.CloseMessageTooBig {
		t.Errorf("a fragmented message over the limit: close code %d, want %d", code, websocket.CloseMessageTooBig)
	}

	// A frame within the limit keeps the socket open.
	c = dialHub(t, url)
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"viewing","item_id":"`+strings.Repeat("0", maxReadBytes-40)+`"}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.PingMessage, nil); err != nil {
		t.Fatal(err)
	}
	pong := make(chan struct{}, 1)
	c.SetPongHandler(func(string) error { pong <- struct{}{}; return nil })
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pong:
	case <-time.After(5 * time.Second):
		t.Error("a frame within the limit closed the socket")
	}

	deadline := time.Now().Add(5 * time.Second)
	for h.Count() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.Count(); n != 1 {
		t.Errorf("sockets after two oversized frames and one good socket: %d, want 1", n)
	}
}

// TestOversizedFramesKeepMemoryFlat: twenty sockets each declaring a 1 GiB
// frame and sending 1 MiB of it leave the heap where it was: the server
// refuses on the header and never buffers the payload.
func TestOversizedFramesKeepMemoryFlat(t *testing.T) {
	h, url := hubServer(t)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// One round first, so that lazily made buffers are not counted.
	c := dialHub(t, url)
	hugeFrame(t, c, 1<<30, 1<<20)
	closeCode(t, c)
	before := heap()
	const rounds = 20
	for i := 0; i < rounds; i++ {
		c := dialHub(t, url)
		hugeFrame(t, c, 1<<30, 1<<20)
		if code := closeCode(t, c); code != websocket.CloseMessageTooBig {
			t.Fatalf("round %d: close code %d", i, code)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.Count() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.Count(); n != 0 {
		t.Fatalf("%d sockets still open after the oversized frames", n)
	}
	after := heap()
	// 20 GiB declared and 20 MiB sent: a server that buffered even one
	// payload would grow by megabytes. 4 MiB of slack covers the runtime.
	if after > before && after-before > 4<<20 {
		t.Errorf("heap grew from %d to %d bytes over %d oversized frames", before, after, rounds)
	}
}
