// Package group makes this Hearth node one of a clinic group: several nodes
// serving one clinic from one shared store (PostgreSQL). It relays, through
// the store's notifications (store.Cluster), what one node's browsers and
// memory must learn from the others:
//
//   - Staff alerts: every event is written to the shared event log in the
//     transaction that caused it. After the commit the node only says "look
//     again" on chanEvents; every node (this one too) then reads the log
//     after the last event it handed its browsers, in log order, and
//     publishes those to its own sockets. A lost notification costs at most
//     catchUpEvery, never an event. The node's own events need no read:
//     it has them already (Publish), and hands them out as soon as they
//     continue the log where it last stopped; it reads the log only for
//     what it does not have (another node's events, or its own when one
//     is missing).
//   - Memory: what a node changed that others remember (a session signed
//     out, an account disabled, new settings) goes out on chanChanged, and
//     the others forget their copy (clinic.Peers).
//   - Presence ("Maria is replying"): each node's changes go out on
//     chanPresence and the others show them (realtime.Hub.Remote).
//
// Which node runs the periodic jobs is the store's leadership
// (store.Cluster.Lead), held by the command that serves.
//
// Nothing sent carries PHI: sequence numbers, kinds, ids, and a staff
// member's first name with an item id for presence. The package knows the
// clinic, the hub and the store's contract; it never imports the web layer
// or a concrete store.
package group

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hearth/app/clinic"
	"hearth/app/realtime"
	"hearth/app/store"
)

// Node is this process's part in a clinic group. Make it with New before
// the clinic opens (the clinic publishes to it), Join it to the store and
// the clinic once both are open, then Run it.
type Node struct {
	cluster store.Cluster
	node    string // random per process, to skip our own "changed" news
	log     *slog.Logger
	clinic  *clinic.Clinic
	hub     *realtime.Hub
	wake    chan struct{} // a notification or an event of our own came: look again
	grown   chan struct{} // this node added events: notify the others
	lastSeq atomic.Uint64 // the newest event this node added
	relayed atomic.Uint64 // the newest event relay has handed the browsers (or skipped as history)
	heardTo atomic.Uint64 // the newest event a notification has named
	lost    atomic.Bool   // news may have been lost (a reconnect, an unreadable notification): read the log
	every   time.Duration // catchUpEvery, shorter or longer in tests
	ready   chan struct{} // closed once relay knows where the log stands

	// mine holds this node's committed events that the relay has not yet
	// handed out (at most maxMine: past that, the log read covers them).
	mu   sync.Mutex
	mine []clinic.Event
}

const (
	chanEvents   = "hearth_events"
	chanChanged  = "hearth_changed"
	chanPresence = "hearth_presence"
	catchUpEvery = 2 * time.Second
	notifyWait   = 2 * time.Second
	maxMine      = 4096
)

// New returns this node's part in the group, relaying to hub's sockets.
func New(log *slog.Logger, hub *realtime.Hub) *Node {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand panics instead since Go 1.24)
	return &Node{node: hex.EncodeToString(b), log: log, hub: hub, wake: make(chan struct{}, 1), grown: make(chan struct{}, 1),
		every: catchUpEvery, ready: make(chan struct{})}
}

var (
	_ clinic.Publisher = (*Node)(nil)
	_ clinic.Peers     = (*Node)(nil)
)

// Join connects the node to the shared store and to the clinic it serves.
// Until then, news for the other nodes is dropped (nothing has happened
// yet that they could have remembered).
func (g *Node) Join(cluster store.Cluster, cl *clinic.Clinic) {
	g.cluster, g.clinic = cluster, cl
}

// Publish tells every node that the event log has grown. The event itself
// is already committed to the shared log, so the request that caused it
// does not wait for the notification: announce sends one for however many
// events arrived meanwhile. This node's relay hands the event to its own
// browsers without reading it back.
func (g *Node) Publish(e clinic.Event) {
	g.mu.Lock()
	if len(g.mine) < maxMine {
		g.mine = append(g.mine, e)
	}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	for {
		cur := g.lastSeq.Load()
		if e.Seq <= cur || g.lastSeq.CompareAndSwap(cur, e.Seq) {
			break
		}
	}
	select {
	case g.grown <- struct{}{}:
	default:
	}
}

// announce notifies the other nodes each time this node's events grew.
func (g *Node) announce(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.grown:
			g.notify(chanEvents, strconv.FormatUint(g.lastSeq.Load(), 10))
		}
	}
}

// presenceNote is a presence frame on its way to the other nodes.
type presenceNote struct {
	Node string            `json:"n"`
	P    realtime.Presence `json:"p"`
}

// SharePresence tells the other nodes who here has an item open (the hub's
// relay: realtime.Hub.SetRelay).
func (g *Node) SharePresence(p realtime.Presence) {
	b, err := json.Marshal(presenceNote{Node: g.node, P: p})
	if err != nil {
		g.log.Warn("could not encode a presence note for the other nodes", "err", err)
		return
	}
	g.notify(chanPresence, string(b))
}

// Changed tells the other nodes to forget their copy of kind/id.
func (g *Node) Changed(kind, id string) {
	g.notify(chanChanged, g.node+" "+kind+" "+id)
}

func (g *Node) notify(channel, payload string) {
	if g.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifyWait)
	defer cancel()
	if err := g.cluster.Notify(ctx, channel, payload); err != nil {
		// The other nodes catch up on their own within catchUpEvery for
		// events; for memory, they drop everything when they reconnect.
		g.log.Warn("could not notify the other nodes", "channel", channel, "err", err)
	}
}

// Run listens to the other nodes and relays events to this node's browsers
// until ctx ends.
func (g *Node) Run(ctx context.Context) {
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		g.relay(ctx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		g.announce(ctx)
	}()
	err := g.cluster.Listen(ctx, []string{chanEvents, chanChanged, chanPresence}, g.heard)
	if err != nil && ctx.Err() == nil {
		g.log.Error("listening to the other nodes stopped", "err", err)
	}
	<-done
	<-done
}

// heard handles one notification. An empty payload means news may have been
// lost (the connection was re-made): look at the log, forget everything.
func (g *Node) heard(channel, payload string) {
	switch channel {
	case chanEvents:
		// A notification names the newest event of the node that sent it
		// ("" after a reconnect: news may be lost). When the relay is
		// already past it, it brings nothing new, and reading the log
		// again would cost a read for nothing (a node hears its own
		// notifications, for events it has mostly handed out already).
		seq, err := strconv.ParseUint(payload, 10, 64)
		if err != nil {
			g.lost.Store(true)
		} else if seq <= g.relayed.Load() {
			return
		}
		for {
			cur := g.heardTo.Load()
			if seq <= cur || g.heardTo.CompareAndSwap(cur, seq) {
				break
			}
		}
		select {
		case g.wake <- struct{}{}:
		default:
		}
	case chanChanged:
		if payload == "" {
			g.log.Info("connected to the clinic group's notifications; dropping remembered records, since news may have been missed")
			g.clinic.ForgetAll()
			return
		}
		parts := strings.SplitN(payload, " ", 3)
		if len(parts) != 3 || parts[0] == g.node {
			return
		}
		g.clinic.Forget(parts[1], parts[2])
	case chanPresence:
		var n presenceNote
		if payload == "" || json.Unmarshal([]byte(payload), &n) != nil || n.Node == g.node {
			return
		}
		g.hub.Remote(n.P)
	}
}

// relay hands the event log's new entries to this node's sockets, in log
// order, when woken and every catchUpEvery.
func (g *Node) relay(ctx context.Context) {
	// Where the log stands now: its history is for replays, not alerts. A
	// failed read here must not leave last at 0, or the next look would
	// hand every logged event to the browsers as new.
	var last uint64
	for ok := false; !ok; {
		if last, ok = g.catchUp(ctx, 0, false); !ok && !sleep(ctx, g.every) {
			return
		}
	}
	g.relayed.Store(last)
	close(g.ready)
	t := time.NewTicker(g.every)
	defer t.Stop()
	for {
		read := false
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		case <-t.C:
			read = true
		}
		last = g.handMine(last)
		g.relayed.Store(last)
		// The log is read on the periodic look, after news may have been
		// lost, and when a notification names an event not handed out yet
		// (another node's, or one of ours that is missing from mine).
		if g.lost.Swap(false) || g.heardTo.Load() > last {
			read = true
		}
		if read {
			last, _ = g.catchUp(ctx, last, true)
			g.relayed.Store(last)
		}
	}
}

// handMine hands this node's own events to its browsers as far as they
// continue the log from last without a gap, and returns the newest handed
// out. Those at or before last are dropped (read from the log already);
// those after a gap wait for the missing event: the log read brings them
// all when the notification of a later one, or the periodic look, comes.
func (g *Node) handMine(last uint64) uint64 {
	g.mu.Lock()
	mine := g.mine
	g.mine = nil
	g.mu.Unlock()
	if len(mine) == 0 {
		return last
	}
	slices.SortFunc(mine, func(a, b clinic.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	var keep []clinic.Event
	for _, e := range mine {
		switch {
		case e.Seq <= last:
		case e.Seq == last+1:
			g.hub.Publish(e)
			last = e.Seq
		default:
			keep = append(keep, e)
		}
	}
	if len(keep) > 0 {
		g.mu.Lock()
		g.mine = append(keep, g.mine...)
		g.mu.Unlock()
	}
	return last
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// catchUp reads the log after last (publishing when asked) and returns the
// newest sequence number seen, and whether it read to the end.
func (g *Node) catchUp(ctx context.Context, last uint64, publish bool) (uint64, bool) {
	const page = 500
	for ctx.Err() == nil {
		evs, err := g.clinic.EventsSince(ctx, last, page)
		if err != nil {
			if ctx.Err() == nil {
				g.log.Warn("reading the shared event log failed", "err", err)
			}
			return last, false
		}
		for _, e := range evs {
			if publish {
				g.hub.Publish(e)
			}
			last = e.Seq
		}
		if len(evs) < page {
			return last, true
		}
	}
	return last, false
}

// PeersOf is the clinic's Peers when its publisher is a clinic group's
// Node, and nil (a single node) otherwise.
func PeersOf(events clinic.Publisher) clinic.Peers {
	if g, ok := events.(*Node); ok {
		return g
	}
	return nil
}
