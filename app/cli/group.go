package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"hearth/app/clinic"
	"hearth/app/realtime"
	"hearth/app/store"
)

// A clinic group is several nodes serving one clinic from one shared store
// (PostgreSQL). group is this node's part in it:
//
//   - Staff alerts: every event is written to the shared event log in the
//     transaction that caused it. After the commit the node only says "look
//     again" on chanEvents; every node (this one too) then reads the log
//     after the last event it handed its browsers, in log order, and
//     publishes those to its own sockets. A lost notification costs at most
//     catchUpEvery, never an event.
//   - Memory: what a node changed that others remember (a session signed
//     out, an account disabled, new settings) goes out on chanChanged, and
//     the others forget their copy (clinic.Peers).
//   - Presence ("Maria is replying"): each node's changes go out on
//     chanPresence and the others show them (realtime.Hub.Remote).
//   - Periodic jobs run on the node that holds the store's leadership.
//
// Nothing sent carries PHI: sequence numbers, kinds, ids, and a staff
// member's first name with an item id for presence.
type group struct {
	cluster store.Cluster
	node    string // random per process, to skip our own "changed" news
	log     *slog.Logger
	clinic  *clinic.Clinic
	hub     *realtime.Hub
	wake    chan struct{} // a notification came: read the log
	grown   chan struct{} // this node added events: notify the others
	lastSeq atomic.Uint64 // the newest event this node added
}

const (
	chanEvents   = "hearth_events"
	chanChanged  = "hearth_changed"
	chanPresence = "hearth_presence"
	catchUpEvery = 2 * time.Second
	notifyWait   = 2 * time.Second
)

func newGroup(log *slog.Logger, hub *realtime.Hub) *group {
	b := make([]byte, 8)
	rand.Read(b)
	return &group{node: hex.EncodeToString(b), log: log, hub: hub, wake: make(chan struct{}, 1), grown: make(chan struct{}, 1)}
}

var (
	_ clinic.Publisher = (*group)(nil)
	_ clinic.Peers     = (*group)(nil)
)

// Publish tells every node that the event log has grown. The event itself
// is already committed to the shared log, so the request that caused it
// does not wait for the notification: announce sends one for however many
// events arrived meanwhile.
func (g *group) Publish(e clinic.Event) {
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
func (g *group) announce(ctx context.Context) {
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

// sharePresence tells the other nodes who here has an item open.
func (g *group) sharePresence(p realtime.Presence) {
	b, _ := json.Marshal(presenceNote{Node: g.node, P: p})
	g.notify(chanPresence, string(b))
}

// Changed tells the other nodes to forget their copy of kind/id.
func (g *group) Changed(kind, id string) {
	g.notify(chanChanged, g.node+" "+kind+" "+id)
}

func (g *group) notify(channel, payload string) {
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

// run listens to the other nodes and relays events to this node's browsers
// until ctx ends.
func (g *group) run(ctx context.Context) {
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
func (g *group) heard(channel, payload string) {
	switch channel {
	case chanEvents:
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
func (g *group) relay(ctx context.Context) {
	// Where the log stands now: its history is for replays, not alerts. A
	// failed read here must not leave last at 0, or the next look would
	// hand every logged event to the browsers as new.
	var last uint64
	for ok := false; !ok; {
		if last, ok = g.catchUp(ctx, 0, false); !ok && !sleep(ctx, catchUpEvery) {
			return
		}
	}
	t := time.NewTicker(catchUpEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		case <-t.C:
		}
		last, _ = g.catchUp(ctx, last, true)
	}
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
func (g *group) catchUp(ctx context.Context, last uint64, publish bool) (uint64, bool) {
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

// peersOf is the clinic's Peers when its publisher is a clinic group's.
func peersOf(events clinic.Publisher) clinic.Peers {
	if g, ok := events.(*group); ok {
		return g
	}
	return nil
}
