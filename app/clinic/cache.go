package clinic

import "sync"

// lru is a small bounded cache of opened records, so a busy inbox does not
// pay an X25519 open per row per refresh. It holds PHI in memory only (the
// process holds the key anyway) and is dropped on exit.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	items map[string]*lruEntry[V]
	head  *lruEntry[V] // most recent
	tail  *lruEntry[V]
}

type lruEntry[V any] struct {
	key        string
	val        V
	prev, next *lruEntry[V]
}

func newLRU[V any](max int) *lru[V] { return &lru[V]{max: max, items: map[string]*lruEntry[V]{}} }

func (c *lru[V]) unlink(e *lruEntry[V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *lru[V]) front(e *lruEntry[V]) {
	e.next = c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

func (c *lru[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.unlink(e)
	c.front(e)
	return e.val, true
}

func (c *lru[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		e.val = v
		c.unlink(e)
		c.front(e)
		return
	}
	e := &lruEntry[V]{key: k, val: v}
	c.items[k] = e
	c.front(e)
	for len(c.items) > c.max && c.tail != nil {
		old := c.tail
		c.unlink(old)
		delete(c.items, old.key)
	}
}

func (c *lru[V]) drop(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.unlink(e)
		delete(c.items, k)
	}
}

func (c *Clinic) cacheItem(it Item) { c.items.put(it.ID, it) }

func (c *lru[V]) clear() {
	c.mu.Lock()
	c.items, c.head, c.tail = map[string]*lruEntry[V]{}, nil, nil
	c.mu.Unlock()
}
