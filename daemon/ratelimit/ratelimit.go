// Package ratelimit counts requests per key over a sliding window, in
// bounded memory: what AWS WAF's rate-based rules need on one node.
//
// The window is approximated as WAF's own is ("AWS WAF applies rate
// limiting near the limit that you set, but does not guarantee an exact
// limit match", waf-rule-statement-type-rate-based-high-level-settings):
// a count for the current fixed window and one for the previous, the
// latter weighted by how much of it the sliding window still covers.
// Counts live on this node only.
package ratelimit

import (
	"container/list"
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Key is what a count is kept for: a rule (its counts' id) and an
// aggregation key: an address (the zero address for one count), or a
// rule's custom keys' values (Custom, "" for an address).
type Key struct {
	Rule   string
	Addr   netip.Addr
	Custom string
}

// shards spread the keys over locks.
const shards = 32

// Table holds counts for at most max keys; past that the least recently
// counted key under its limit is forgotten, so a flood of distinct
// addresses costs a bounded amount of memory (and makes the limiter forget
// the quietest) but does not unblock an address over its limit.
type Table struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu    sync.Mutex
	max   int
	items map[Key]*list.Element
	lru   list.List // front: most recently counted; of *entry
}

type entry struct {
	key Key
	// start is the current fixed window's start; cur and prev the
	// counts of it and of the window before.
	start     time.Time
	cur, prev int64
	// limit and window are those of the last count: a key is always
	// counted for one rule, with the same settings.
	limit  int64
	window time.Duration
}

// evictScan is how many of the least recently counted keys a new key may
// look at for one under its limit to forget: a bounded cost per request.
const evictScan = 8

// New returns a table of at most max keys (at least one per shard),
// reading the time with now (time.Now when nil).
func New(max int, now func() time.Time) *Table {
	if now == nil {
		now = time.Now
	}
	t := &Table{now: now, seed: maphash.MakeSeed()}
	per := max / shards
	if per < 1 {
		per = 1
	}
	for i := range t.shards {
		t.shards[i].max = per
		t.shards[i].items = map[Key]*list.Element{}
	}
	return t
}

// Over counts a request for k in a window of window and reports whether
// k's rate, this request included, is over limit.
func (t *Table) Over(k Key, limit int64, window time.Duration) bool {
	now := t.now()
	s := &t.shards[t.shard(k)]
	s.mu.Lock()
	defer s.mu.Unlock()
	var e *entry
	if el := s.items[k]; el != nil {
		e = el.Value.(*entry)
		s.lru.MoveToFront(el)
	} else {
		if len(s.items) >= s.max {
			s.evict(now)
		}
		e = &entry{key: k, start: now.Truncate(window)}
		s.items[k] = s.lru.PushFront(e)
	}
	e.limit, e.window = limit, window
	e.roll(now)
	e.cur++
	return e.over(now)
}

// evict forgets the least recently counted key that is not over its
// limit, looking at evictScan keys at most, or else the least recently
// counted one. Were it always the latter, a flood of new addresses (or of
// FORWARDED_IP values, which a viewer writes) would push out a blocked
// address and unblock it. The keys over their limit it passes go to the
// front: the next eviction looks at others.
func (s *shard) evict(now time.Time) {
	victim := s.lru.Back()
	for el, i := victim, 0; el != nil && i < evictScan; i++ {
		e := el.Value.(*entry)
		prev := el.Prev()
		e.roll(now)
		if !e.over(now) {
			victim = el
			break
		}
		s.lru.MoveToFront(el)
		el = prev
	}
	delete(s.items, victim.Value.(*entry).key)
	s.lru.Remove(victim)
}

// roll moves e's fixed windows on to the one now is in.
func (e *entry) roll(now time.Time) {
	switch start := now.Truncate(e.window); {
	case start.Sub(e.start) >= 2*e.window:
		e.prev, e.cur = 0, 0
		e.start = start
	case start.Sub(e.start) >= e.window:
		e.prev, e.cur = e.cur, 0
		e.start = start
	}
}

// over reports whether e's rate at now is over its limit.
func (e *entry) over(now time.Time) bool {
	// The share of the previous window the sliding one still covers.
	covered := 1 - float64(now.Sub(e.start))/float64(e.window)
	return float64(e.prev)*covered+float64(e.cur) > float64(e.limit)
}

// Len is the number of keys counted.
func (t *Table) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.items)
		s.mu.Unlock()
	}
	return n
}

func (t *Table) shard(k Key) int {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteString(k.Rule)
	b := k.Addr.As16()
	h.Write(b[:])
	h.WriteString(k.Custom)
	return int(h.Sum64() % shards)
}
