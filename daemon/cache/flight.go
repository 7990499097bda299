package cache

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A flight is one origin request that concurrent misses for the same key
// wait for (request coalescing). Its key is the full cache key, variant
// included, so requests whose Vary values differ never share a response;
// a waiter also checks the response's Vary against its own request before
// reading it, since the first request for a key cannot know the Vary yet.
type flight struct {
	ready chan struct{}
	o     outcome
	// keys the flight is registered under: the key it was started for,
	// and the variant key once the response named one.
	keys []string
	// waiters counts the requests that joined, under Cache.mu.
	waiters int
	// t is its leader's ticket, set under Cache.mu once the leader has
	// one: a flight that began before an invalidation of its key is not
	// joined by the requests that follow it.
	t ticket
}

// A ticket is what a fill (an origin fetch whose answer may be stored)
// took when it began, to tell at its store whether what it fetched was
// invalidated meanwhile: by an invalidation (any key), or by an unsafe
// method's answer for its primary key (RFC 9111 4.4). The unsafe methods
// are counted per key, so a POST drops only its own key's fills.
type ticket struct {
	gen    int64 // Cache.invalidations
	key    *keyFills
	keyGen uint64 // key.gen
}

// keyFills are the fills in flight for one primary key; Cache.fills holds
// it while there is one, so an unsafe method finds what it must drop, and
// holds nothing for the keys no fill is fetching.
type keyFills struct {
	primary string
	n       int // tickets held, under Cache.mu
	// gen counts the unsafe methods answered while fills were in flight.
	// mu makes a fill's check of it and its insert one step for an unsafe
	// method's count and deletion: the entry is deleted or not stored.
	mu  sync.Mutex
	gen atomic.Uint64
}

// startFill takes a ticket for a fill of primary, f's when f is set; the
// fill calls endFill with it once it has stored, or given up.
func (c *Cache) startFill(primary string, f *flight) ticket {
	gen := c.invalidations.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.fills[primary]
	if k == nil {
		k = &keyFills{primary: primary}
		c.fills[primary] = k
	}
	k.n++
	t := ticket{gen: gen, key: k, keyGen: k.gen.Load()}
	if f != nil {
		f.t = t
	}
	return t
}

// retain takes another hold of t, for the goroutine the fill goes on in.
func (c *Cache) retain(t ticket) ticket {
	c.mu.Lock()
	t.key.n++
	c.mu.Unlock()
	return t
}

func (c *Cache) endFill(t ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.key.n--; t.key.n == 0 {
		delete(c.fills, t.key.primary)
	}
}

// current says nothing t's fill fetched was invalidated since it began.
func (c *Cache) current(t ticket) bool {
	return t.key == nil || c.invalidations.Load() == t.gen && t.key.gen.Load() == t.keyGen
}

// delUnsafe removes what is stored for primary after an unsafe method
// succeeded, and what the fills in flight for it fetched before that:
// they store nothing, and later requests do not join them.
func (c *Cache) delUnsafe(primary string) {
	c.mu.Lock()
	k := c.fills[primary]
	c.mu.Unlock()
	if k != nil {
		// A fill that takes its ticket after this fetches after the
		// unsafe method's answer: it may store.
		k.mu.Lock()
		defer k.mu.Unlock()
		k.gen.Add(1)
	}
	c.del(primary)
}

// outcome is what waiters get once the leader has the origin's answer.
type outcome struct {
	err error
	// entry is a stored entry to answer with (a revalidated one, or a
	// stale one when the origin failed), with its X-Cache value.
	entry *entry
	x     []string
	// st is the body being filled, rp its status and header, key the
	// variant key it is stored under, names and gen its Vary mark.
	st    *stream
	rp    *rep
	key   string
	alias string // the variant's language alias, if any
	names []string
	gen   uint64
	// age is the Age a viewer of the stream is sent: the response's
	// corrected initial age when the origin sent an Age, else -1.
	age time.Duration
	// pass: not storable; each waiter asks the origin itself.
	pass, large bool
	// cursors are attached for the waiters before the body starts, so
	// a stream that keeps only a window still has byte 0 for them.
	cursors chan *cursor
}

// sharedWith says a waiter's request r may be answered with o: a response
// is shared only with requests of its variant (another waiter looks again,
// now knowing the Vary). An entry without a key (revalidated or stale) is
// under the key the waiters joined, so theirs.
func (o *outcome) sharedWith(primary string, r *http.Request, p Policy) bool {
	switch {
	case o.key == "":
		return o.st == nil
	case o.names == nil:
		return o.key == primary
	}
	return variantKey(primary, o.gen, o.names, r, p) == o.key
}

// cursorGrace is how long a cursor attached for a waiter waits to be
// claimed before it is let go (and stops holding the stream back).
const cursorGrace = time.Second

// reserveCursors attaches a cursor per waiter of f to o's stream.
func (c *Cache) reserveCursors(f *flight, o *outcome) {
	if f == nil {
		return
	}
	c.mu.Lock()
	n := f.waiters
	c.mu.Unlock()
	if n == 0 {
		return
	}
	o.cursors = make(chan *cursor, n)
	for range n {
		if cur, ok := o.st.attach(); ok {
			o.cursors <- cur
		}
	}
	st, ch := o.st, o.cursors
	time.AfterFunc(cursorGrace, func() {
		for {
			select {
			case cur := <-ch:
				st.detach(cur)
			default:
				return
			}
		}
	})
}

// claim takes a reserved cursor, or attaches a new one.
func (o *outcome) claim() (*cursor, bool) {
	select {
	case cur := <-o.cursors:
		return cur, true
	default:
		return o.st.attach()
	}
}

// join returns the flight for key, creating it when there is none
// (leader). found says an entry was stored meanwhile: look again.
func (c *Cache) join(key string) (f *flight, leader, found bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[key]; f != nil && c.current(f.t) {
		f.waiters++
		return f, false, false
	} // else none, or it fetched what was invalidated: a new one replaces it
	// A flight is dropped after its entry is stored, under mu: looking
	// again here closes the gap between a miss and a flight just landed.
	if e := c.get(key); e != nil && e.kind != kindPass && !e.piece() && (e.kind == kindVary || e.fresh(c.now())) {
		return nil, false, true
	}
	f = &flight{ready: make(chan struct{}), keys: []string{key}}
	c.flights[key] = f
	return f, true, false
}

func (e *entry) fresh(now time.Time) bool {
	return e.kind == kindObject && e.age(now) < e.ttl
}

// settle publishes the outcome; unless keep (a stream others may still
// join), the flight is dropped.
func (c *Cache) settle(f *flight, o outcome, keep bool) {
	f.o = o
	close(f.ready)
	if !keep {
		c.land(f)
	}
}

// addFlight registers f under the variant key too, so requests that
// already know the Vary mark join it.
func (c *Cache) addFlight(f *flight, key string) {
	if f == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flights[key] == nil {
		c.flights[key] = f
		f.keys = append(f.keys, key)
	}
}

// land drops f from every key it is registered under.
func (c *Cache) land(f *flight) {
	if f == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range f.keys {
		if c.flights[k] == f {
			delete(c.flights, k)
		}
	}
}

// wait waits for f's outcome, bounded by the policy's wait.
func (c *Cache) wait(ctx context.Context, f *flight, p Policy) (outcome, bool) {
	d := p.Wait
	if d <= 0 {
		d = c.cfg.CoalesceWait
	}
	select {
	case <-f.ready:
		return f.o, true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.ready:
		return f.o, true
	case <-t.C:
		return outcome{}, false
	case <-ctx.Done():
		return outcome{}, false
	}
}

// newRep is the served form of a status, header and body.
func newRep(status int, h http.Header, size int64, body []byte) *rep {
	rp := &rep{status: status, header: h, size: size, etag: h.Get("Etag"), lastModified: h.Get("Last-Modified")}
	if body != nil {
		rp.src = bytesSource(body)
	}
	return rp
}
