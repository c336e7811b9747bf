package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The round-trip phase drives what a patient's phone does when they send a
// message: it opens a connection from its own address, GETs the compose
// page, POSTs the form (hidden inputs and all, CSRF token included), follows
// the 303 to the acknowledgement page, and goes quiet (its connection
// closes). Many patients do it at once, each from its own loopback address
// with its own session, so the per-patient and per-address budgets apply
// to each as they do to real phones; nothing is relaxed for the bench.
// Meanwhile the staff sockets listen, and each socket's arrival of the
// item's "item.new" frame is timed from the start of the round trip, the
// moment the patient tapped "write".

// rtAddrBase keeps the round-trip addresses apart from the 1,000 addresses
// the ingest phase shares among patients: patient i speaks from
// srcAddr(rtAddrBase+i).
const rtAddrBase = 1000

// rtResult is what the phase measured.
type rtResult struct {
	done, throttled, failed int
	lat                     []time.Duration // start of the round trip → acknowledgement page read
	alerts                  []time.Duration // start of the round trip → frame at a socket
	// What an alert is made of, per item: the start of the round trip →
	// its POST sent (a new connection and the compose page), the POST
	// sent → the first socket's frame (the server's path: the seal, the
	// grouped commit, the hub), and the first socket's frame → the last's
	// (the fan-out to every socket).
	compose, first, spread []time.Duration
	missed                 int // (item, socket) pairs never heard
	firstErr               error
}

// roundTrip is one patient's compose → send → acknowledgement, over a
// fresh connection from addr. It returns the new item's id and when its
// POST was sent (the compose page read, the patient tapping "send"). page is the
// caller's buffer for the compose page, reused from one round trip to the
// next (the phone reads the whole page either way).
func (d *device) roundTrip(addr net.IP, body string, page *bytes.Buffer) (string, time.Time, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: addr}}
	tr := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections() // the phone goes quiet
	hc := &http.Client{Jar: d.c.hc.Jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// get reads the whole page into w.
	get := func(path string, w io.Writer) (int, error) {
		resp, err := hc.Get(d.c.base + path)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(w, resp.Body)
		return resp.StatusCode, errors.Join(err, resp.Body.Close())
	}
	page.Reset()
	code, err := get("/new?type=message", page)
	if err != nil || code != http.StatusOK {
		return "", time.Time{}, fmt.Errorf("compose page: %d %v", code, err)
	}
	form := hiddenFast(page.Bytes())
	form.Set("type", "message")
	form.Set("body", body)
	req, _ := http.NewRequest("POST", d.c.base+"/new", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", d.c.base)
	posted := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return "", posted, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if err := errors.Join(err, resp.Body.Close()); err != nil {
		return "", posted, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return "", posted, errThrottled
	}
	loc := resp.Header.Get("Location")
	m := threadRe.FindStringSubmatch(loc)
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		return "", posted, fmt.Errorf("POST /new answered %d (to %q)", resp.StatusCode, loc)
	}
	code, err = get(loc, io.Discard)
	if err != nil || code != http.StatusOK {
		return "", posted, fmt.Errorf("acknowledgement page: %d %v", code, err)
	}
	return m[1], posted, nil
}

// hiddenFast collects a page's hidden inputs like hidden, without regular
// expressions: the load generator shares the server's cores, so what it
// spends per page is taken from the server.
func hiddenFast(page []byte) url.Values {
	v := url.Values{}
	for {
		i := bytes.Index(page, []byte("<input"))
		if i < 0 {
			return v
		}
		page = page[i:]
		j := bytes.IndexByte(page, '>')
		if j < 0 {
			return v
		}
		tag := page[:j+1]
		page = page[j+1:]
		if !bytes.Contains(tag, []byte(`type="hidden"`)) {
			continue
		}
		name, ok := attr(tag, "name")
		if !ok {
			continue
		}
		val, _ := attr(tag, "value")
		v.Set(name, unescapeAttr.Replace(val))
	}
}

// unescapeAttr undoes html/template's escaping of an attribute value.
var unescapeAttr = strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'")

// attr reads a double-quoted attribute of a tag.
func attr(tag []byte, name string) (string, bool) {
	k := []byte(" " + name + `="`)
	i := bytes.Index(tag, k)
	if i < 0 {
		return "", false
	}
	rest := tag[i+len(k):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// runRoundTrips runs writers patients doing round trips for dur, each round
// trip by the next patient in turn, while log records what the sockets hear.
func runRoundTrips(ctx context.Context, devs []*device, writers int, dur time.Duration, log *arrivals, sockets int) rtResult {
	var res rtResult
	var mu sync.Mutex
	starts := map[string]time.Time{}
	posts := map[string]time.Time{}
	var next atomic.Int64
	var done, throttled, failed atomic.Int64
	stop := time.Now().Add(dur)
	log.start()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var page bytes.Buffer
			for time.Now().Before(stop) && ctx.Err() == nil {
				i := int(next.Add(1)-1) % len(devs)
				t := time.Now()
				id, posted, err := devs[i].roundTrip(srcAddr(rtAddrBase+i), "Could someone call me back about my test results, please? "+fmt.Sprint(i), &page)
				switch {
				case err == nil:
					done.Add(1)
					lat = append(lat, time.Since(t))
					mu.Lock()
					starts[id], posts[id] = t, posted
					mu.Unlock()
				case errors.Is(err, errThrottled):
					throttled.Add(1)
				default:
					failed.Add(1)
					mu.Lock()
					if res.firstErr == nil {
						res.firstErr = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.done, res.throttled, res.failed = int(done.Load()), int(throttled.Load()), int(failed.Load())
	// Frames still on their way: wait for them, up to 3 seconds.
	want := len(starts) * sockets
	for deadline := time.Now().Add(3 * time.Second); log.count() < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	heard := 0
	res.alerts = make([]time.Duration, 0, log.count())
	span := make(map[string][2]time.Time, len(starts)) // per item: the first and last frame
	for _, list := range log.stop() {
		for _, a := range list {
			id := string(a.id[:])
			if t0, ok := starts[id]; ok {
				res.alerts = append(res.alerts, a.at.Sub(t0))
				heard++
				sp, seen := span[id]
				if !seen || a.at.Before(sp[0]) {
					sp[0] = a.at
				}
				if !seen || a.at.After(sp[1]) {
					sp[1] = a.at
				}
				span[id] = sp
			}
		}
	}
	res.missed = want - heard
	for id, sp := range span {
		res.compose = append(res.compose, posts[id].Sub(starts[id]))
		res.first = append(res.first, sp[0].Sub(posts[id]))
		res.spread = append(res.spread, sp[1].Sub(sp[0]))
	}
	return res
}

// arrival is one socket hearing of one new item (the id as it came, so
// that recording it allocates nothing).
type arrival struct {
	id [36]byte
	at time.Time
}

// arrivals records, per socket, when each "item.new" frame came, while
// recording is on. Each socket's reader appends to its own list, so the
// readers do not contend.
type arrivals struct {
	on    atomic.Bool
	n     atomic.Int64
	mu    []sync.Mutex
	lists [][]arrival
}

func newArrivals(sockets int) *arrivals {
	return &arrivals{mu: make([]sync.Mutex, sockets), lists: make([][]arrival, sockets)}
}

func (a *arrivals) start() {
	for i := range a.lists {
		a.mu[i].Lock()
		a.lists[i] = a.lists[i][:0]
		a.mu[i].Unlock()
	}
	a.n.Store(0)
	a.on.Store(true)
}

func (a *arrivals) add(socket int, id [36]byte, at time.Time) {
	if socket >= len(a.lists) || !a.on.Load() {
		return
	}
	a.mu[socket].Lock()
	a.lists[socket] = append(a.lists[socket], arrival{id, at})
	a.mu[socket].Unlock()
	a.n.Add(1)
}

func (a *arrivals) count() int { return int(a.n.Load()) }

// stop ends recording and returns every arrival, socket by socket.
func (a *arrivals) stop() [][]arrival {
	a.on.Store(false)
	all := make([][]arrival, len(a.lists))
	for i := range a.lists {
		a.mu[i].Lock()
		all[i], a.lists[i] = a.lists[i], nil
		a.mu[i].Unlock()
	}
	return all
}

var (
	itemNewKey = []byte(`"type":"item.new"`)
	itemIDKey  = []byte(`"item_id":"`)
)

// newItemID is the item id of an "item.new" frame, read without decoding
// the JSON or allocating (the bench reads hundreds of thousands of frames a
// second, on the server's cores).
func newItemID(b []byte) (id [36]byte, ok bool) {
	if !bytes.Contains(b, itemNewKey) {
		return id, false
	}
	i := bytes.Index(b, itemIDKey)
	if i < 0 || len(b) < i+len(itemIDKey)+36 {
		return id, false
	}
	copy(id[:], b[i+len(itemIDKey):])
	return id, true
}

// readFrames reads one socket until it closes: into the listener's map
// (the steady-rate alert phase) and into log (the round-trip phase).
func readFrames(c *websocket.Conn, socket int, l *listener, log *arrivals) {
	var buf bytes.Buffer
	for {
		_, r, err := c.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		now := time.Now()
		id, ok := newItemID(buf.Bytes())
		if !ok {
			continue
		}
		if log.on.Load() {
			log.add(socket, id, now)
			continue
		}
		l.heard(string(id[:]), now)
	}
}
