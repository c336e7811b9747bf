package pgstore

import "sync"

// grouper queues calls while a group of them runs. The caller that finds
// no group running leads: it runs a group of at most max calls (its own
// among them) with run, then hands what queued meanwhile to a new
// goroutine, so no caller waits for others' groups after its own has
// run. Updates (write.go: one transaction for the group) and HitBoths
// (hitgroup.go: one statement) are grouped this way.
type grouper[C any] struct {
	mu      sync.Mutex
	queue   []C
	running bool // some goroutine is running (or about to run) a group
}

// add queues c, and leads if no group is running. run must settle every
// call it is given (the callers wait on them).
func (g *grouper[C]) add(c C, max int, run func([]C)) {
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		g.lead(max, run)
	}
}

func (g *grouper[C]) lead(max int, run func([]C)) {
	g.mu.Lock()
	n := min(len(g.queue), max)
	group := g.queue[:n:n]
	g.queue = append([]C(nil), g.queue[n:]...)
	g.mu.Unlock()

	run(group)

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.mu.Unlock()
		go g.lead(max, run)
		return
	}
	g.running = false
	g.mu.Unlock()
}
