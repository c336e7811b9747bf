// Package realtime pushes item events to staff browsers over websockets.
//
// The hub fans each event out to the sockets whose staff member may see the
// event's queue. Events carry ids, type, queue, priority and a sequence
// number, never PHI; browsers fetch details over the API. A client that
// reconnects with ?since=SEQ first gets what it missed from the clinic's
// bounded event log (through Source), then live events. A client that cannot
// keep up is dropped, never waited for: one slow browser must not delay the
// others.
//
// In a clinic group (several nodes, one database) presence also crosses
// nodes: SetRelay hands this node's presence changes out, Remote takes the
// other nodes' in, and what a node stops refreshing expires.
//
// The hub knows nothing of storage or HTTP routing; the web layer
// authenticates and checks Origin before handing a connection over.
package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"hearth/app/clinic"
)

// Source replays events from the clinic's event log.
type Source interface {
	EventsSince(ctx context.Context, seq uint64, limit int) ([]clinic.Event, error)
}

const (
	sendBuffer   = 256
	writeWait    = 10 * time.Second
	pongWait     = 60 * time.Second
	pingEvery    = 25 * time.Second
	maxReadBytes = 4096
	replayLimit  = 1000
)

// Hub tracks connected staff sockets. It implements clinic.Publisher.
type Hub struct {
	log *slog.Logger

	mu       sync.RWMutex
	src      Source
	queueOf  func(itemID string) string // which queue an item is in, for presence
	clients  map[*Client]struct{}
	presence map[string]map[*Client]string // item id -> socket -> "viewing" | "typing"

	// A clinic group's other nodes: relay hears this node's presence
	// changes; remote holds theirs (item id -> staff id -> frame, when).
	relay  func(Presence)
	remote map[string]map[string]remoteEntry
}

type remoteEntry struct {
	p    Presence
	seen time.Time
}

// Presence from other nodes is refreshed every presenceRefresh and
// forgotten after presenceTTL without news (a node that died says nothing).
const (
	presenceRefresh = 30 * time.Second
	presenceTTL     = 95 * time.Second
)

var _ clinic.Publisher = (*Hub)(nil)

// NewHub makes an empty hub.
func NewHub(log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{log: log, clients: map[*Client]struct{}{}, presence: map[string]map[*Client]string{}, remote: map[string]map[string]remoteEntry{}}
}

// SetRelay hands every presence change of this node's sockets to f, for
// the other nodes of a clinic group (and again every presenceRefresh while
// it lasts, so theirs does not expire).
func (h *Hub) SetRelay(f func(Presence)) {
	h.mu.Lock()
	h.relay = f
	h.mu.Unlock()
}

// Remote applies a presence frame from another node: colleagues here who
// may see the item's queue are told, and newcomers to the item learn it.
func (h *Hub) Remote(p Presence) {
	if p.Type != "presence" || !validItemID(p.ItemID) || p.StaffID == "" || !ClientMessages[p.State] {
		return
	}
	h.mu.Lock()
	who := h.remote[p.ItemID]
	if p.State == "left" {
		delete(who, p.StaffID)
		if len(who) == 0 {
			delete(h.remote, p.ItemID)
		}
	} else {
		if who == nil {
			who = map[string]remoteEntry{}
			h.remote[p.ItemID] = who
		}
		if old, ok := who[p.StaffID]; ok && old.p == p {
			// A refresh: nothing new to tell anyone.
			who[p.StaffID] = remoteEntry{p: p, seen: time.Now()}
			h.mu.Unlock()
			return
		}
		who[p.StaffID] = remoteEntry{p: p, seen: time.Now()}
	}
	h.mu.Unlock()
	if queue, ok := h.itemQueue(p.ItemID); ok {
		h.deliverPresence(p, nil, queue)
	}
}

// SetQueueOf tells the hub how to find an item's queue, so presence frames
// ("Maria is replying") reach only staff who may see that queue.
func (h *Hub) SetQueueOf(f func(itemID string) string) {
	h.mu.Lock()
	h.queueOf = f
	h.mu.Unlock()
}

// SetSource sets where replays come from (the clinic, once it is open).
func (h *Hub) SetSource(s Source) {
	h.mu.Lock()
	h.src = s
	h.mu.Unlock()
}

// Sub describes who a socket belongs to and what it may see.
type Sub struct {
	StaffID   string
	StaffName string // the name the staff member signs with, shown to colleagues ("Maria is replying")
	SessionID string
	// May reports whether this staff member may see events of a queue.
	May func(queue string) bool
	// Valid reports whether the session still stands; checked at every ping,
	// so an expired or revoked session's socket closes within a minute even
	// if nobody closed it explicitly.
	Valid func() bool
	// Since is the last sequence number the browser saw (0 for none).
	Since uint64
}

// Client is one staff member's socket.
type Client struct {
	Sub

	conn *websocket.Conn
	out  *batchConn // nil when the connection could not be wrapped
	send chan frame
	once sync.Once
	done chan struct{}
}

// frame is one message queued for a socket: its JSON, and the websocket
// frame made of it once for every socket it goes to.
type frame struct {
	json []byte
	pm   *websocket.PreparedMessage
}

// prepare makes the frame of msg, once for all the sockets it goes to.
func prepare(msg []byte) (frame, error) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, msg)
	return frame{json: msg, pm: pm}, err
}

func (c *Client) close() {
	c.once.Do(func() {
		close(c.done)
		// The socket is being dropped: a failed close leaves nothing to do.
		_ = c.conn.Close()
	})
}

// Publish hands e to every socket that may see it. It never blocks: a
// socket whose buffer is full is dropped.
func (h *Hub) Publish(e clinic.Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	// Encoded and framed once, whatever the number of sockets.
	msg, err := prepare(b)
	if err != nil {
		return
	}
	h.mu.RLock()
	var slow []*Client
	for c := range h.clients {
		if e.Queue != "" && !c.May(e.Queue) {
			continue
		}
		select {
		case c.send <- msg:
		default:
			slow = append(slow, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range slow {
		h.log.Warn("dropping a staff socket that is not keeping up", "staff", c.StaffID)
		h.remove(c)
	}
}

func (h *Hub) add(c *Client) {
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
}

func (h *Hub) remove(c *Client) {
	h.mu.Lock()
	delete(h.clients, c)
	var left []string
	for item, who := range h.presence {
		if _, ok := who[c]; ok {
			delete(who, c)
			left = append(left, item)
			if len(who) == 0 {
				delete(h.presence, item)
			}
		}
	}
	h.mu.Unlock()
	c.close()
	for _, item := range left {
		h.broadcastPresence(c, item, "left")
	}
}

// ClientMessages are the frames a browser may send, each declared here once:
// all of them are presence (the collision guard) and carry only an item id.
// Anything else is ignored.
var ClientMessages = map[string]bool{"viewing": true, "typing": true, "left": true}

// Presence tells colleagues who has an item open or is replying to it.
type Presence struct {
	Type    string `json:"type"` // always "presence"
	ItemID  string `json:"item_id"`
	StaffID string `json:"staff_id"`
	Name    string `json:"name"`
	State   string `json:"state"` // viewing, typing, left
}

type clientFrame struct {
	Type   string `json:"type"`
	ItemID string `json:"item_id"`
}

func validItemID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// handleFrame applies one presence frame from c.
func (h *Hub) handleFrame(c *Client, b []byte) {
	var f clientFrame
	if json.Unmarshal(b, &f) != nil || !ClientMessages[f.Type] || !validItemID(f.ItemID) {
		return
	}
	// Only someone who may see the item's queue may announce themselves on
	// it, or learn who else is there.
	queue, ok := h.itemQueue(f.ItemID)
	if !ok || (queue != "" && !c.May(queue)) {
		return
	}
	var others []Presence
	h.mu.Lock()
	who := h.presence[f.ItemID]
	if f.Type == "left" {
		delete(who, c)
		if len(who) == 0 {
			delete(h.presence, f.ItemID)
		}
	} else {
		if who == nil {
			who = map[*Client]string{}
			h.presence[f.ItemID] = who
		}
		if _, already := who[c]; !already {
			// A newcomer learns who is already there, here and on the
			// group's other nodes.
			for o, st := range who {
				if o.StaffID != c.StaffID {
					others = append(others, Presence{"presence", f.ItemID, o.StaffID, o.StaffName, st})
				}
			}
			for staff, e := range h.remote[f.ItemID] {
				if staff != c.StaffID {
					others = append(others, e.p)
				}
			}
		}
		who[c] = f.Type
	}
	h.mu.Unlock()
	for _, p := range others {
		b, _ := json.Marshal(p)
		msg, err := prepare(b)
		if err != nil {
			continue
		}
		select {
		case c.send <- msg:
		default:
		}
	}
	h.sharePresence(Presence{"presence", f.ItemID, c.StaffID, c.StaffName, f.Type}, c, queue)
}

// itemQueue is the queue of an item, and false for an item that does not
// exist ("" and true when the hub was given no way to look).
func (h *Hub) itemQueue(item string) (string, bool) {
	h.mu.RLock()
	queueOf := h.queueOf
	h.mu.RUnlock()
	if queueOf == nil {
		return "", true
	}
	q := queueOf(item)
	return q, q != ""
}

// broadcastPresence tells everyone else that from's presence on item changed.
func (h *Hub) broadcastPresence(from *Client, item, state string) {
	if queue, ok := h.itemQueue(item); ok {
		h.sharePresence(Presence{"presence", item, from.StaffID, from.StaffName, state}, from, queue)
	}
}

// sharePresence delivers p here and hands it to the group's other nodes.
func (h *Hub) sharePresence(p Presence, from *Client, queue string) {
	h.deliverPresence(p, from, queue)
	h.mu.RLock()
	relay := h.relay
	h.mu.RUnlock()
	if relay != nil {
		relay(p)
	}
}

// deliverPresence tells this node's sockets (but from, and p's own staff
// member's) that may see queue ("" for any).
func (h *Hub) deliverPresence(p Presence, from *Client, queue string) {
	b, _ := json.Marshal(p)
	msg, err := prepare(b)
	if err != nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if c == from || c.StaffID == p.StaffID || (queue != "" && !c.May(queue)) {
			continue
		}
		select {
		case c.send <- msg:
		default:
		}
	}
}

// refreshPresence re-sends this node's presence to the other nodes and
// forgets theirs that has gone quiet, telling local sockets they left.
func (h *Hub) refreshPresence(now time.Time) {
	h.mu.Lock()
	relay := h.relay
	var mine, gone []Presence
	if relay != nil {
		for item, who := range h.presence {
			for c, st := range who {
				mine = append(mine, Presence{"presence", item, c.StaffID, c.StaffName, st})
			}
		}
	}
	for item, who := range h.remote {
		for staff, e := range who {
			if now.Sub(e.seen) > presenceTTL {
				delete(who, staff)
				left := e.p
				left.State = "left"
				gone = append(gone, left)
			}
		}
		if len(who) == 0 {
			delete(h.remote, item)
		}
	}
	h.mu.Unlock()
	for _, p := range mine {
		relay(p)
	}
	for _, p := range gone {
		if queue, ok := h.itemQueue(p.ItemID); ok {
			h.deliverPresence(p, nil, queue)
		}
	}
}

// Count is the number of open sockets.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// CloseStaff closes every socket of one staff member (disable, role change).
func (h *Hub) CloseStaff(staffID string) {
	h.closeWhere(func(c *Client) bool { return c.StaffID == staffID })
}

// CloseSession closes the sockets of one session (sign-out).
func (h *Hub) CloseSession(sessionID string) {
	h.closeWhere(func(c *Client) bool { return c.SessionID == sessionID })
}

// CloseAll closes every socket (shutdown).
func (h *Hub) CloseAll() { h.closeWhere(func(*Client) bool { return true }) }

func (h *Hub) closeWhere(match func(*Client) bool) {
	h.mu.RLock()
	var cs []*Client
	for c := range h.clients {
		if match(c) {
			cs = append(cs, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range cs {
		h.remove(c)
	}
}

// Run keeps the hub alive until ctx ends, then closes every socket. In a
// clinic group it also refreshes presence between nodes.
func (h *Hub) Run(ctx context.Context) {
	t := time.NewTicker(presenceRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.CloseAll()
			return
		case now := <-t.C:
			h.refreshPresence(now)
		}
	}
}

// Upgrader makes websocket connections. The web layer checks Origin and the
// session before calling Serve, so CheckOrigin here only repeats the
// decision it was given.
func upgrader(checkOrigin func(r *http.Request) bool) *websocket.Upgrader {
	return &websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		CheckOrigin:     checkOrigin,
	}
}

// Serve upgrades the request and runs the socket until it closes.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, sub Sub, checkOrigin func(*http.Request) bool) {
	bw := &batchWriter{ResponseWriter: w}
	conn, err := upgrader(checkOrigin).Upgrade(bw, r, nil)
	if err != nil {
		return // the upgrader has answered already
	}
	c := &Client{Sub: sub, conn: conn, out: bw.conn, send: make(chan frame, sendBuffer), done: make(chan struct{})}
	conn.SetReadLimit(maxReadBytes)
	// Register before replaying, so nothing published meanwhile is missed;
	// the browser ignores a sequence number it has already seen.
	h.add(c)
	go h.writePump(c, sub.Since)
	h.readPump(c)
}

// readPump reads presence frames, pongs and the close.
func (h *Hub) readPump(c *Client) {
	defer h.remove(c)
	if err := c.conn.SetReadDeadline(time.Now().Add(pongWait)); err != nil {
		return
	}
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		h.handleFrame(c, b)
	}
}

// writePump is the one goroutine that writes to the connection.
func (h *Hub) writePump(c *Client, since uint64) {
	t := time.NewTicker(pingEvery)
	defer func() { t.Stop(); h.remove(c) }()
	write := func(msg []byte) bool {
		return c.conn.SetWriteDeadline(time.Now().Add(writeWait)) == nil &&
			c.conn.WriteMessage(websocket.TextMessage, msg) == nil
	}
	if since > 0 {
		h.mu.RLock()
		src := h.src
		h.mu.RUnlock()
		if src != nil {
			evs, err := src.EventsSince(context.Background(), since, replayLimit)
			if err != nil {
				h.log.Error("replay failed", "err", err)
				return
			}
			for _, e := range evs {
				if e.Queue != "" && !c.May(e.Queue) {
					continue
				}
				b, _ := json.Marshal(e)
				if !write(b) {
					return
				}
			}
		}
	}
	for {
		select {
		case <-c.done:
			// A courtesy close frame: the socket is dropped either way.
			if c.conn.SetWriteDeadline(time.Now().Add(time.Second)) == nil {
				_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			}
			return
		case msg := <-c.send:
			// What queued up meanwhile goes out in the same write: with
			// hundreds of sockets and a busy clinic, a write per frame per
			// socket is most of the hub's cost (the kernel's TCP path).
			// Holding frames back to gather more (5 ms) was measured: when
			// the clinic is busy they gather by themselves, and the timer's
			// wake-ups cost more than the writes it saved.
			// One deadline for the batch: the frames reach the kernel
			// together, at the flush.
			if c.conn.SetWriteDeadline(time.Now().Add(writeWait)) != nil {
				return
			}
			c.out.begin()
			ok := c.conn.WritePreparedMessage(msg.pm) == nil
			for n := min(len(c.send), maxBatch); ok && n > 0; n-- {
				ok = c.conn.WritePreparedMessage((<-c.send).pm) == nil
			}
			if err := c.out.flush(); err != nil || !ok {
				return
			}
		case <-t.C:
			if c.Valid != nil && !c.Valid() {
				return
			}
			if err := c.conn.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
				return
			}
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

// maxBatch bounds how many queued frames one write carries.
const maxBatch = 64

// batchWriter hands the upgrader a connection it can batch writes on.
type batchWriter struct {
	http.ResponseWriter
	conn *batchConn
}

// Hijack wraps the hijacked connection in a batchConn.
func (b *batchWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := b.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("realtime: the connection cannot be taken over")
	}
	conn, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	b.conn = &batchConn{Conn: conn}
	return b.conn, rw, nil
}

// batchConn lets the write pump put several frames into one write to the
// kernel: between begin and flush, writes collect in a buffer, and the
// write deadline the websocket library sets before each frame is kept for
// the flush (setting it on the connection costs a timer update each time).
// Outside a batch (the handshake, the pongs the read pump answers) writes
// and deadlines go straight through. The websocket library already keeps
// one frame whole; the mutex keeps a pong from the read pump out of the
// middle of a flush.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      []byte
	deadline time.Time // set during the batch, for the flush
	set      bool      // whether deadline was set during the batch
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

// SetWriteDeadline takes effect at the flush during a batch, at once
// otherwise.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		b.deadline, b.set = t, true
		return nil
	}
	return b.Conn.SetWriteDeadline(t)
}

// SetDeadline sets the read deadline at once and the write deadline as
// SetWriteDeadline does.
func (b *batchConn) SetDeadline(t time.Time) error {
	return errors.Join(b.Conn.SetReadDeadline(t), b.SetWriteDeadline(t))
}

// begin starts collecting writes. A nil batchConn does nothing.
func (b *batchConn) begin() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.batching = true
	b.mu.Unlock()
}

// flush writes what was collected since begin, in one write, under the
// last deadline set meanwhile.
func (b *batchConn) flush() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	if b.set {
		b.set = false
		if err := b.Conn.SetWriteDeadline(b.deadline); err != nil {
			return err
		}
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	if cap(b.buf) > 16<<10 {
		b.buf = nil // an idle socket keeps no large buffer
	} else {
		b.buf = b.buf[:0]
	}
	return err
}
