package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"openfront.dev/internal/hopbyhop"
)

// X-Cache values, as CloudFront words them.
const (
	XCacheHit        = "Hit from openfront"
	XCacheMiss       = "Miss from openfront"
	XCacheRefreshHit = "RefreshHit from openfront"
	XCacheError      = "Error from openfront"
)

// Config sizes a cache. Zero values take the defaults.
type Config struct {
	// MemoryBytes bounds the memory tier (default 256 MiB): the weights of
	// the stored entries (body, header, key and a fixed overhead) never
	// add up to more.
	MemoryBytes int64
	// MaxObjectBytes is the largest body kept in memory (default
	// MemoryBytes/16, at most 64 MiB). Larger objects stream through in
	// bounded memory, and their ranges are fetched from the origin.
	MaxObjectBytes int64
	// StreamWindow is how far an object too large to keep may run ahead
	// of its slowest viewer (default 1 MiB).
	StreamWindow int64
	// CoalesceWait bounds how long a request waits for another's origin
	// response before asking the origin itself (default 30s), when the
	// Policy sets no Wait.
	CoalesceWait time.Duration
	// FillTimeout bounds one origin fetch, body included (default 5m).
	FillTimeout time.Duration
	// KeepStale is how long an expired entry is kept for revalidation or
	// for when the origin is down (default 24h), memory permitting.
	KeepStale time.Duration
	// PassTTL is how long an uncacheable answer makes requests for its key
	// go to the origin without waiting on each other (default 30s).
	PassTTL time.Duration
	// Dir enables the disk tier: objects larger than MaxObjectBytes, up
	// to a quarter of DiskBytes, are kept in files under Dir.
	Dir string
	// DiskBytes bounds the disk tier (default 1 GiB when Dir is set).
	DiskBytes int64
	// BodyDir is where the memory tier keeps bodies of 32 KiB and more, in
	// unlinked files (O_TMPFILE) the page cache holds, as nginx's cache
	// files are: on a disk filesystem they are sent faster than from a
	// memfd (blob.go says why). "" keeps them in memfds. New falls back to
	// memfds, with a warning, when the directory takes no such files.
	// Either way they count in MemoryBytes.
	BodyDir string
	// Now is the clock (tests inject one); default time.Now.
	Now func() time.Time
	// Log receives background failures; default slog.Default().
	Log *slog.Logger
}

// Policy is what a behavior says about caching a request.
type Policy struct {
	// MinTTL, DefaultTTL and MaxTTL are the behavior's TTLs.
	MinTTL, DefaultTTL, MaxTTL time.Duration
	// ErrorTTL is the error caching minimum TTL of CloudFront's error
	// statuses (400, 403, 404, 405, 414, 416, 5xx): they are kept that
	// long, or as long as the origin's freshness says if that is longer
	// (HTTPStatusCodes.html). 0: kept only for the origin's freshness.
	// ErrorTTLs overrides it per status (customErrorResponses).
	ErrorTTL  time.Duration
	ErrorTTLs map[int]time.Duration
	// Cacheable says the method is in the behavior's cachedMethods. When
	// false the request is passed to the origin untouched.
	Cacheable bool
	// Compress is the behavior's compress; NoGzip and NoBrotli leave a
	// coding out (a cache policy that enables only the other).
	Compress         bool
	NoGzip, NoBrotli bool
	// KeyedEncoding: a cache policy that enables gzip or brotli has the
	// edge key and forward the viewer's Accept-Encoding, normalized
	// (request and key already hold it). The origin gets that, not the
	// one coding the cache would compress in, and may compress itself.
	KeyedEncoding bool
	// Wait bounds a coalesced request's wait (e.g. the origin's read
	// timeout); 0 takes Config.CoalesceWait.
	Wait time.Duration
	// OriginFields says which of the viewer's header fields the origin
	// gets; nil: all of them. A Vary naming one it never gets selects
	// nothing (varyNames).
	OriginFields OriginFields
	// NoCoalesce sends a miss to the origin on its own: it neither waits
	// for another request's fetch nor shares its own (the origin's answer
	// may be the viewer's alone, by what the key leaves out).
	NoCoalesce bool
	// Related resolves the Location or Content-Location of the origin's
	// answer to an unsafe method to the edge keys of the resource it
	// names (as Variants), none when that is not on the viewer's host.
	// Those entries are invalidated too (RFC 9111 4.4). nil: only the
	// request's own.
	Related func(ref string) (keys []string)
	// Variants are the edge keys of an unsafe method's resource, key
	// among them: the edge keys one resource under each Accept-Encoding
	// it normalizes, and the method's success invalidates them all.
	// nil: key alone.
	Variants []string
	// StoresPOST says the behavior caches GET: the answer to a POST that
	// names the request's own URI in Content-Location and has explicit
	// freshness is then stored for later GETs (RFC 9110 9.3.3).
	StoresPOST bool
}

// OriginFields tells the cache what the origin learns of a request.
type OriginFields interface {
	// Gets reports whether the origin gets the viewer's header field
	// name (canonical), as sent or as the edge makes it from the
	// viewer's.
	Gets(name string) bool
}

// FetchRequest is what the cache asks of the origin.
type FetchRequest struct {
	// Method is GET for cached requests (a HEAD miss fetches the object),
	// or the viewer's method when the request is passed through.
	Method string
	// Header is authoritative for Range, If-Range, If-Match,
	// If-None-Match, If-Modified-Since and If-Unmodified-Since: the
	// FetchFunc drops the viewer's values of these and sends these ones.
	// Any other field it holds (Accept-Encoding when compress is true
	// and the key has none, Surrogate-Capability) replaces the viewer's too.
	Header http.Header
	// StaleAnswers5xx: the cache holds an expired object that answers an
	// origin's 5xx in its place (servableOnError), so the FetchFunc
	// returns a 5xx as it is: a custom error page in its place would
	// replace the object.
	StaleAnswers5xx bool
}

// FetchFunc fetches from the behavior's origin. It may be called after
// Serve has returned (background refresh), with its own context, so it
// must not use the viewer's ResponseWriter or request body.
type FetchFunc func(ctx context.Context, req FetchRequest) (*http.Response, error)

// UpstreamHit is the body of an answer that a cache in front of the
// origin (an Origin Shield) served from its own store. A FetchFunc that
// knows so, from a source it trusts, returns the body wrapped in it: the
// cache unwraps it, and the request whose own fetch it answered gets
// Result.UpstreamHit. A type, not a header field, so that no origin can
// claim it.
type UpstreamHit struct{ io.ReadCloser }

// UnwrapUpstreamHit unwraps resp's body when it is an UpstreamHit, and
// says whether it was.
func UnwrapUpstreamHit(resp *http.Response) bool {
	u, ok := resp.Body.(UpstreamHit)
	if ok {
		resp.Body = u.ReadCloser
	}
	return ok
}

// Result says how a request was answered, for logs and metrics.
type Result struct {
	// Status is the status sent; 0 means nothing was written and the
	// edge must answer (Err says why: the origin failed).
	Status int
	// XCache is the X-Cache value sent.
	XCache string
	// BytesOut counts body bytes written.
	BytesOut int64
	// UpstreamHit: a Miss answered by this request's own fetch, which a
	// cache in front of the origin served from its store (UpstreamHit).
	// A request that joined another's fetch, or whose answer was a hit or
	// a refresh here, has none.
	UpstreamHit bool
	// Err with a Status: the body broke off after the status went out
	// (the origin's body or the viewer's connection failed). The caller
	// must not end such a response as if it were whole: an HTTP handler
	// resets the stream (panics with http.ErrAbortHandler), once it has
	// logged the request. The cache never panics itself, so its caller
	// always gets to log and count.
	Err error
}

// Cache is safe for concurrent use.
type Cache struct {
	cfg       Config
	now       func() time.Time
	mem       *memory
	disk      *disk // nil without Dir
	maxObject int64

	mu      sync.Mutex
	flights map[string]*flight
	fills   map[string]*keyFills // by primary key

	bg    sync.WaitGroup
	stats counters
	// unopenedLogged is when (Unix s) a disk file last could not be
	// opened for want of descriptors was logged.
	unopenedLogged atomic.Int64
	// invalidations counts Invalidate calls: a fetch that started before
	// one is not stored, since it may hold what was invalidated.
	invalidations atomic.Int64
	// storeMu makes a store's check of invalidations and its insert one
	// step for an invalidation's scan (write-locked): an entry is either
	// seen by the scan or not stored. Without it a fill that checked
	// before an invalidation could insert after its scan.
	storeMu sync.RWMutex
	// testHookStore runs between a store's check and its insert (tests).
	testHookStore func()
}

// New returns a cache sized by cfg.
func New(cfg Config) (*Cache, error) {
	if cfg.MemoryBytes <= 0 {
		cfg.MemoryBytes = 256 << 20
	}
	if cfg.MaxObjectBytes <= 0 {
		cfg.MaxObjectBytes = min(cfg.MemoryBytes/16, 64<<20)
	}
	if cfg.StreamWindow <= 0 {
		cfg.StreamWindow = 1 << 20
	}
	if cfg.CoalesceWait <= 0 {
		cfg.CoalesceWait = 30 * time.Second
	}
	if cfg.FillTimeout <= 0 {
		cfg.FillTimeout = 5 * time.Minute
	}
	if cfg.KeepStale <= 0 {
		cfg.KeepStale = 24 * time.Hour
	}
	if cfg.PassTTL <= 0 {
		cfg.PassTTL = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	// An entry weighs its body plus its header and overhead: leave room.
	maxEntry := cfg.MaxObjectBytes + 64<<10
	if maxEntry*2 > cfg.MemoryBytes {
		return nil, errors.New("cache: memory bytes must be at least twice the largest object plus 64 KiB")
	}
	c := &Cache{cfg: cfg, now: cfg.Now, maxObject: cfg.MaxObjectBytes, flights: map[string]*flight{}, fills: map[string]*keyFills{}}
	if c.now == nil {
		c.now = time.Now
	}
	mem, err := newMemory(cfg.MemoryBytes, maxEntry, cfg.Now)
	if err != nil {
		return nil, err
	}
	c.mem = mem
	if c.cfg.BodyDir != "" {
		if err := checkBodyDir(c.cfg.BodyDir); err != nil {
			c.cfg.Log.Warn("large cached bodies kept in memfds", "reason", err)
			c.cfg.BodyDir = ""
		}
	}
	if cfg.Dir != "" {
		if cfg.DiskBytes <= 0 {
			cfg.DiskBytes = 1 << 30
		}
		var marks map[string]diskVary
		if c.disk, marks, err = newDisk(cfg.Dir, cfg.DiskBytes, cfg.Now, c.cfg.Log); err != nil {
			mem.close()
			return nil, err
		}
		// The variants loaded are found through their marks again.
		for primary, v := range marks {
			m := &entry{kind: kindVary, varyNames: v.Names, gen: v.Gen, retain: c.cfg.KeepStale}
			m.weigh(primary)
			mem.put(primary, m)
		}
	}
	return c, nil
}

// Close waits for background fills and refreshes, then empties the cache.
func (c *Cache) Close() error {
	c.bg.Wait()
	if c.disk != nil {
		c.disk.close(c.liveMarks())
	}
	c.mem.close()
	return nil
}

// liveMarks are the Vary marks in memory that disk variants are stored
// under: the next start finds those variants through them, and drops the
// others (a mark an unsafe method removed, or replaced for other fields).
func (c *Cache) liveMarks() map[string]diskVary {
	marks := map[string]diskVary{}
	for _, e := range c.disk.index.All() {
		v := e.diskVary
		if v == nil {
			continue
		}
		if m := c.mem.get(v.Primary); m != nil && m.kind == kindVary && m.gen == v.Gen {
			marks[v.Primary] = diskVary{Primary: v.Primary, Names: m.varyNames, Gen: m.gen}
		}
	}
	return marks
}

// putMemory stores e in the memory tier under key; a copy the disk tier
// holds there is older, and is removed, or a restart would bring it back.
func (c *Cache) putMemory(key string, e *entry) bool {
	if !c.mem.put(key, e) {
		return false
	}
	if c.disk != nil {
		c.disk.del(key)
	}
	return true
}

// Serve answers r from the cache or from fetch. See the package comment.
func (c *Cache) Serve(w http.ResponseWriter, r *http.Request, key string, p Policy, fetch FetchFunc) Result {
	if !p.Cacheable || (r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions) {
		return c.passThrough(w, r, key, p, fetch)
	}
	// A viewer's Cache-Control and Pragma play no part: "CloudFront
	// ignores those header fields in viewer requests" (Expiration.html),
	// so no viewer can bypass the cache, keep an answer out of it
	// (no-store) or be refused one it does not hold (only-if-cached).
	primary := primaryKey(r.Method, key)
	for range 3 {
		e, lk := c.lookup(primary, r, p)
		var stale *entry
		if e != nil && e.piece() {
			if _, ok := e.rep.pieceRange(r); !ok {
				e = nil // a piece that cannot answer: a miss (lead completes it)
			}
		}
		if e != nil {
			if e.kind == kindPass {
				c.stats.passes.Add(1)
				return c.lead(w, r, nil, lk, primary, nil, p, fetch, e)
			}
			now := c.now()
			age := e.age(now)
			if age < e.ttl {
				res, ok := c.serveEntry(w, r, e, xHit, age)
				if ok {
					c.stats.hits.Add(1)
					return res
				}
				if errors.Is(res.Err, errUnopened) {
					// Kept for when descriptors are free again; this
					// viewer gets the origin's answer meanwhile.
					return c.passThrough(w, r, key, p, fetch)
				}
				c.disk.drop(e) // its file went meanwhile (not a fresher one stored since)
				continue
			}
			// Stale, but the origin failed it a moment ago (nothing to
			// refresh yet), or within stale-while-revalidate.
			if grace := e.inErrorGrace(now); grace || e.servableStale(age, e.swr) {
				res, ok := c.serveEntry(w, r, e, xHit, age)
				if ok {
					c.stats.staleHits.Add(1)
					if !grace {
						c.refreshInBackground(lk, primary, e, r, p, fetch)
					}
					return res
				}
				if errors.Is(res.Err, errUnopened) {
					return c.passThrough(w, r, key, p, fetch)
				}
				c.disk.drop(e)
				continue
			}
			stale = e
		}
		if p.NoCoalesce {
			return c.lead(w, r, nil, lk, primary, stale, p, fetch, nil)
		}
		f, leader, found := c.join(lk)
		if found {
			continue // stored meanwhile
		}
		if leader {
			return c.lead(w, r, f, lk, primary, stale, p, fetch, nil)
		}
		c.stats.coalesced.Add(1)
		o, ok := c.wait(r.Context(), f, p)
		if !ok {
			if err := r.Context().Err(); err != nil {
				return Result{Err: err}
			}
			// Waited long enough: ask the origin without the others.
			return c.lead(w, r, nil, lk, primary, stale, p, fetch, nil)
		}
		switch {
		case o.err != nil:
			if stale != nil && stale.servableOnError(c.now(), true) {
				res, _ := c.serveEntry(w, r, stale, xHit, stale.age(c.now()))
				return res
			}
			return Result{Err: o.err}
		case o.entry != nil && o.sharedWith(primary, r, p):
			if _, ok := o.entry.rep.pieceRange(r); o.entry.piece() && !ok {
				return c.lead(w, r, nil, lk, primary, stale, p, fetch, nil)
			}
			if o.x[0] == XCacheRefreshHit {
				c.stats.refreshHits.Add(1)
			}
			res, _ := c.serveEntry(w, r, o.entry, o.x, o.entry.age(c.now()))
			return res
		case o.st != nil && o.sharedWith(primary, r, p):
			if cur, ok := o.claim(); ok {
				c.stats.misses.Add(1)
				return c.serveStream(w, r, o, cur)
			}
			return c.lead(w, r, nil, lk, primary, stale, p, fetch, nil)
		case o.pass:
			return c.lead(w, r, nil, lk, primary, stale, p, fetch, &entry{kind: kindPass, large: o.large})
		}
	}
	return c.lead(w, r, nil, primary, primary, nil, p, fetch, nil)
}

// lookup returns the entry for r and the key it is (or would be) under.
func (c *Cache) lookup(primary string, r *http.Request, p Policy) (*entry, string) {
	e := c.get(primary)
	if e != nil && e.kind == kindVary {
		k := variantKey(primary, e.gen, e.varyNames, r, p)
		v := c.get(k)
		if v == nil && slices.Contains(e.varyNames, "Accept-Language") {
			if v, vk := c.byLanguage(primary, e, r, p); v != nil {
				return v, vk
			}
		}
		return v, k
	}
	return e, primary
}

// get looks in memory, then on disk.
func (c *Cache) get(k string) *entry {
	if e := c.mem.get(k); e != nil || c.disk == nil {
		return e
	}
	return c.disk.get(k)
}

// del removes k from both tiers.
func (c *Cache) del(k string) {
	c.mem.del(k)
	if c.disk != nil {
		c.disk.del(k)
	}
}

// lead asks the origin for r and answers it, sharing the response with
// the flight's waiters when f is set. stale is the expired entry to
// revalidate; mark the pass mark that sent the request straight here.
func (c *Cache) lead(w http.ResponseWriter, r *http.Request, f *flight, lk, primary string, stale *entry, p Policy, fetch FetchFunc, mark *entry) (res Result) {
	settled := false
	settle := func(o outcome, keep bool) {
		if f != nil && !settled {
			settled = true
			c.settle(f, o, keep)
		}
	}
	defer settle(outcome{}, false) // waiters look again

	fr := FetchRequest{Method: http.MethodGet, Header: http.Header{}}
	if r.Method == http.MethodOptions {
		fr.Method = r.Method // cached only when the behavior lists it
	}
	if stale != nil {
		fr.Header = stale.validators()
		// Decided once, before the fetch: what the FetchFunc was told
		// is what is done with its 5xx below.
		fr.StaleAnswers5xx = stale.status < 400 && stale.servableOnError(c.now(), true)
	}
	if mark != nil {
		// The last answer could not be stored: let the origin see the
		// viewer's conditions and range, as if there were no cache.
		copyConditionals(fr.Header, r.Header)
		if mark.large && r.Method == http.MethodHead {
			fr.Method = http.MethodHead
		}
	}
	if p.Compress && !p.KeyedEncoding {
		fr.Header["Accept-Encoding"] = []string{p.negotiate(r.Header["Accept-Encoding"])}
	}
	// Origins may address this cache in Surrogate-Control.
	fr.Header["Surrogate-Capability"] = append(slices.Clip(r.Header["Surrogate-Capability"]), SurrogateCapability)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.cfg.FillTimeout)
	requestTime := c.now()
	t := c.startFill(primary, f)
	defer c.endFill(t)
	var piece *entry
	if stale == nil && mark == nil {
		piece = c.completion(lk, r)
	}
	var resp *http.Response
	var err error
	if piece != nil {
		resp, err = c.fetchRest(ctx, fetch, fr, piece)
	} else {
		resp, err = fetch(ctx, fr)
	}
	if err != nil {
		cancel()
		c.stats.originErrors.Add(1)
		settle(outcome{err: err}, false)
		if now := c.now(); stale != nil && stale.servableOnError(now, true) {
			stale.graceAfterError(now, p.errorTTL(http.StatusBadGateway)) // what the edge would answer
			c.stats.staleHits.Add(1)
			res, _ := c.serveEntry(w, r, stale, xHit, stale.age(now))
			return res
		}
		return Result{Err: err}
	}
	// Only a Miss is this fetch's answer (a 304 refreshes, a 5xx may
	// leave a stale Hit). A large object's range asked again below is
	// asked of the same upstream.
	upstream := UnwrapUpstreamHit(resp)
	defer func() {
		if upstream && res.XCache == XCacheMiss {
			res.UpstreamHit = true
		}
	}()
	now := c.now()
	if resp.StatusCode == http.StatusNotModified && stale != nil {
		resp.Body.Close()
		cancel()
		n, nd := stale.refreshed(lk, resp.Header, p, r.Header, requestTime, now, c.cfg.KeepStale)
		if n == nil {
			if !nd.requestOnly {
				c.del(lk)
			} // else this request may not refresh it, but others still may
			settle(outcome{}, false)
			res, _ := c.serveEntry(w, r, stale, xRefreshHit, -1)
			return res
		}
		stored := c.storeUnlessInvalidated(t, func() bool {
			if stale.file == "" {
				c.mem.replace(lk, stale, n)
				return true
			}
			return c.disk.relink(lk, stale, n)
		})
		if !stored && stale.file != "" {
			n = stale // not linked: answer from the file we have
		}
		settle(outcome{entry: n, x: xRefreshHit}, false)
		c.stats.refreshHits.Add(1)
		res, _ := c.serveEntry(w, r, n, xRefreshHit, n.age(now))
		return res
	}
	// A 5xx counts as a failure to reach the origin: CloudFront serves the
	// expired object it has rather than the error (HTTPStatusCodes.html),
	// unless the origin forbade stale use (must-revalidate,
	// proxy-revalidate, or no-cache when the minTTL is 0: RFC 9111's MUST
	// is kept; s-maxage does not, see forbidsStale). A stored error
	// is no object: the new error replaces it.
	if resp.StatusCode >= 500 && fr.StaleAnswers5xx {
		resp.Body.Close()
		cancel()
		stale.graceAfterError(now, p.errorTTL(resp.StatusCode))
		settle(outcome{entry: stale, x: xHit}, false)
		c.stats.staleHits.Add(1)
		res, _ := c.serveEntry(w, r, stale, xHit, stale.age(now))
		return res
	}
	cc := parseCacheControl(resp.Header)
	d := decide(resp.StatusCode, resp.Header, cc, p, r.Header, now)
	if mark != nil && resp.StatusCode == http.StatusPreconditionFailed {
		// The origin's answer to the viewer's own If-Match or
		// If-Unmodified-Since, forwarded under the pass mark: not the
		// object's, whatever its max-age, so never the others' answer.
		d = decision{why: "412 to the viewer's preconditions", requestOnly: true}
	}
	if resp.StatusCode == http.StatusPartialContent && d.store {
		if _, _, complete, _ := parseContentRange(resp.Header.Get("Content-Range")); complete <= c.maxObject && (mark == nil || !mark.large) {
			return c.leadPiece(w, r, primary, p, resp, cancel, cc, d, requestTime, t, settle)
		}
		// A piece of an object too large to keep: large objects' ranges
		// are fetched as ranges.
		d = decision{why: "piece of a large object"}
	}
	if c.toDisk(resp, d) && (mark == nil || resp.StatusCode == http.StatusOK && !hasConditionals(r.Header) && r.Header.Get("Range") == "") {
		return c.leadDisk(w, r, f, lk, primary, p, fetch, resp, ctx, cancel, cc, d, requestTime, t, settle)
	}
	if !d.store && d.requestOnly {
		// Not stored because of this request alone: no pass mark, and
		// the requests waiting for this one look again and coalesce.
		settle(outcome{}, false)
		c.stats.misses.Add(1)
		defer cancel()
		return relay(w, r, p, resp, mark == nil)
	}
	large := d.store && resp.ContentLength > c.maxObject
	if !d.store || large {
		ttl := c.cfg.PassTTL
		if large {
			ttl = max(ttl, d.ttl)
		}
		if mark == nil || resp.StatusCode == http.StatusOK {
			c.putPass(lk, large, ttl)
		} // else a 206 or 304 to the viewer's own conditions: the mark stands
		settle(outcome{pass: true, large: large}, false)
		// Fetch just what the viewer asked for: of an object larger than
		// the memory tier keeps, cutting the range from the whole here
		// would make the viewer wait for every byte before it.
		if resp.ContentLength > c.maxObject && mark == nil && (r.Header.Get("Range") != "" || hasConditionals(r.Header)) {
			resp.Body.Close()
			cancel()
			upstream = false // the answer is the next fetch's
			return c.lead(w, r, nil, lk, primary, nil, p, fetch, &entry{kind: kindPass, large: large})
		}
		c.stats.misses.Add(1)
		defer cancel()
		return relay(w, r, p, resp, mark == nil)
	}

	// Storable: stream it to the viewer, the waiters and the memory tier.
	header := storedHeader(resp.Header, cc)
	enc, size := codedHeader(r, p, resp, cc, header)
	o := outcome{st: newStream(size, c.maxObject, c.cfg.StreamWindow), key: primary}
	if names := varyNames(header, p); len(names) > 0 {
		o.names, o.gen = names, c.varyMark(primary, names)
		o.key = variantKey(primary, o.gen, names, r, p)
		o.alias = aliasFor(primary, o.gen, names, r, p, header)
	}
	o.rp = newRep(resp.StatusCode, header, size, nil)
	o.age = missAge(resp.Header, requestTime, now)
	cur, _ := o.st.attach()
	c.addFlight(f, o.key)
	// Later requests may join the stream only while it is fresh: one that
	// is stale at once (no-cache, max-age=0) is not theirs to reuse.
	settle(o, d.ttl > 0)
	if _, background := w.(discard); !background {
		c.stats.misses.Add(1)
	}
	c.bg.Add(1)
	go c.fill(ctx, cancel, f, o, resp, enc, cc, d, requestTime, c.retain(t))
	lo := o
	lo.rp = leaderRep(o.rp, resp.Header, cc)
	return c.serveStream(w, r, lo, cur)
}

// serveStream answers r from a stream through cur, and lets cur go.
func (c *Cache) serveStream(w http.ResponseWriter, r *http.Request, o outcome, cur *cursor) Result {
	defer o.st.detach(cur)
	rp := *o.rp
	rp.src = streamSource{o.st, cur}
	// A range of a body of unknown length (chunked, or compressed here)
	// gets the whole object at once, as CloudFront sends it (RangeGETs):
	// serve answers ranges only of a known length. Once stored, the
	// object's ranges are answered from it.
	res := serve(w, r, &rp, xMiss, o.age)
	if ue, ok := errors.AsType[upstreamError](res.Err); ok {
		c.cfg.Log.Debug("origin body broke", "err", ue)
	}
	return res
}

// missAge is the Age sent with a response fetched for this request: none
// when the origin sent none, else the age the cache gives it (RFC 9111 5.1:
// a cache passes on an Age, corrected for the time it took to arrive).
func missAge(h http.Header, requestTime, now time.Time) time.Duration {
	if _, ok := h["Age"]; !ok {
		return -1
	}
	return initialAge(h, requestTime, now)
}

// fill reads the origin's body into the stream, and stores the entry
// once it is whole.
func (c *Cache) fill(ctx context.Context, cancel context.CancelFunc, f *flight, o outcome, resp *http.Response, enc string, cc directives, d decision, requestTime time.Time, t ticket) {
	defer c.bg.Done()
	defer c.endFill(t)
	defer cancel()
	defer c.land(f)
	defer resp.Body.Close()
	var dst io.Writer = o.st
	var comp *compressor
	if enc != "" {
		comp = newCompressor(enc, o.st)
		dst = comp
	}
	bp := copyBufs.Get().(*[]byte)
	_, err := io.CopyBuffer(dst, onlyReader{resp.Body}, *bp)
	copyBufs.Put(bp)
	if err == nil && comp != nil {
		err = comp.close()
	}
	if err != nil {
		o.st.finish(err)
		if ctx.Err() == nil && !errors.Is(err, errNoReaders) {
			c.cfg.Log.Debug("origin body", "err", err)
		}
		return
	}
	// Store before the readers see the end (or, for a body of known
	// length, its last byte: stream.last), so a request that follows a
	// finished one always finds the entry.
	body, ok := o.st.body()
	if ok && c.current(t) { // else invalidated meanwhile: no blob is written for it
		if cap(body)-len(body) > len(body)/8 {
			body = slices.Clone(body) // grown by appends: do not keep the slack
		}
		now := c.now()
		e := newObject(o.key, resp.StatusCode, maps.Clone(o.rp.header), body, cc, d, initialAge(resp.Header, requestTime, now), now, c.cfg.KeepStale)
		if enc != "" {
			e.transformed, e.originETag = true, resp.Header.Get("Etag")
		}
		e.toBlob(c.cfg.BodyDir)
		stored := c.storeUnlessInvalidated(t, func() bool {
			if !c.putMemory(o.key, e) {
				return false
			}
			if o.alias != "" {
				c.putAlias(o.alias, o.key, e.retain)
			}
			return true
		})
		if !stored && e.blob != nil { // invalidated meanwhile, or too large
			e.blob.drop()
		}
	} else if !ok && o.st.overflowed {
		c.putPass(o.key, true, max(c.cfg.PassTTL, d.ttl))
	}
	c.land(f)
	o.st.finish(nil)
}

// storeUnlessInvalidated runs put, which stores an entry fetched with
// ticket t, unless what it fetched was invalidated since; it reports
// whether put ran and stored.
func (c *Cache) storeUnlessInvalidated(t ticket, put func() bool) bool {
	c.storeMu.RLock()
	defer c.storeMu.RUnlock()
	t.key.mu.Lock()
	defer t.key.mu.Unlock()
	if !c.current(t) {
		return false
	}
	if c.testHookStore != nil {
		c.testHookStore()
	}
	return put()
}

// relay sends an origin response that is not stored, compressed as a
// stored one would be. evaluate says the origin did not see the viewer's
// conditions: they are evaluated here.
func relay(w http.ResponseWriter, r *http.Request, p Policy, resp *http.Response, evaluate bool) Result {
	defer resp.Body.Close()
	hdr := w.Header()
	drop := hopbyhop.Named(resp.Header)
	if _, ok := resp.Header["Surrogate-Control"]; ok && parseCacheControl(resp.Header).surrogate != nil {
		drop = append(drop, "Surrogate-Control") // it was for this cache
	}
	for k, vs := range resp.Header {
		if !hopbyhop.Is(k) && !slices.Contains(drop, k) {
			hdr[k] = vs
		}
	}
	enc := relayCoding(r, p, resp, hdr)
	x := errorAnswer(hdr, xcacheValue(xMiss, resp.StatusCode))
	hdr["X-Cache"] = x
	res := Result{Status: resp.StatusCode, XCache: x[0]}
	if evaluate && resp.StatusCode == http.StatusOK && hasConditionals(r.Header) {
		rp := newRep(resp.StatusCode, resp.Header, resp.ContentLength, nil)
		if status := preconditions(r, rp); status != 0 {
			for _, k := range representationFields {
				delete(hdr, k)
			}
			w.WriteHeader(status)
			res.Status = status
			return res
		}
	}
	if rp, ok := relayedRange(r, resp, hdr, enc, evaluate); ok {
		return serve(w, r, rp, xMiss, -1)
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return res
	}
	if enc == "" {
		res.BytesOut, res.Err = copyFlushing(w, resp.Body)
		return res
	}
	res.BytesOut, res.Err = copyCompressed(w, enc, resp.Body)
	return res
}

// relayedRange is the representation that answers the viewer's Range from
// a relayed body, when the origin did not see the Range (evaluate) and the
// body goes out as it came with a known length: the range a stored object
// would give (serve), read from the body as it passes. ok is false where
// serve would send the whole object anyway (an invalid Range, an If-Range
// for another version): the relay streams it then.
func relayedRange(r *http.Request, resp *http.Response, hdr http.Header, enc string, evaluate bool) (*rep, bool) {
	rs, ok := r.Header["Range"]
	if !ok || !evaluate || enc != "" || r.Method != http.MethodGet || resp.StatusCode != http.StatusOK || resp.ContentLength < 0 {
		return nil, false
	}
	rp := newRep(resp.StatusCode, hdr, resp.ContentLength, nil)
	if _, err := parseRange(rs[0], rp.size); err == errBadRange || !ifRange(r, rp) {
		return nil, false
	}
	rp.src = &forwardSource{body: resp.Body}
	return rp, true
}

// forwardSource reads a body once, for ranges in ascending order that do
// not overlap (as parseRange gives them): the bytes between are skipped.
type forwardSource struct {
	body io.Reader
	pos  int64
}

func (s *forwardSource) copyRange(w io.Writer, off, n int64) (int64, error) {
	body := originReader{s.body}
	if off > s.pos {
		k, err := io.CopyN(io.Discard, body, off-s.pos)
		s.pos += k
		if err != nil {
			return 0, cutShort(err)
		}
	}
	if n < 0 {
		k, err := io.Copy(w, body)
		s.pos += k
		return k, err
	}
	k, err := io.CopyN(w, body, n)
	s.pos += k
	return k, cutShort(err)
}

// originReader marks its body's read errors as the origin's.
type originReader struct{ r io.Reader }

func (o originReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if err != nil && err != io.EOF {
		err = upstreamError{err}
	}
	return n, err
}

// cutShort: a body that ends before the bytes its length promised is the
// origin's failure.
func cutShort(err error) error {
	if err == io.EOF {
		return upstreamError{io.ErrUnexpectedEOF}
	}
	return err
}

// copyFlushing copies an origin body to a viewer, flushing whenever the
// origin has no more bytes ready, so a slow or streaming origin's bytes
// reach the viewer as they come.
func copyFlushing(w http.ResponseWriter, body io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	f, _ := w.(http.Flusher)
	var n int64
	for {
		k, err := body.Read(buf)
		if k > 0 {
			m, werr := w.Write(buf[:k])
			n += int64(m)
			if werr != nil {
				return n, werr
			}
			if f != nil && k < len(buf) {
				f.Flush()
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, upstreamError{err}
		}
	}
}

// passThrough sends a request that is not cached to the origin with the
// viewer's conditions and range; a successful unsafe method invalidates
// what is stored for the key and for the URIs its Location and
// Content-Location name (RFC 9111 4.4).
func (c *Cache) passThrough(w http.ResponseWriter, r *http.Request, key string, p Policy, fetch FetchFunc) Result {
	c.stats.passes.Add(1)
	fr := FetchRequest{Method: r.Method, Header: http.Header{}}
	copyConditionals(fr.Header, r.Header)
	requestTime := c.now()
	gen := c.invalidations.Load() // for storePOST
	resp, err := fetch(r.Context(), fr)
	if err != nil {
		c.stats.originErrors.Add(1)
		return Result{Err: err}
	}
	upstream := UnwrapUpstreamHit(resp)
	res := c.passOn(w, r, key, p, resp, requestTime, gen)
	res.UpstreamHit = upstream && res.XCache == XCacheMiss
	return res
}

// passOn answers a passed request with the origin's resp, after what an
// unsafe method's success invalidates.
func (c *Cache) passOn(w http.ResponseWriter, r *http.Request, key string, p Policy, resp *http.Response, requestTime time.Time, gen int64) Result {
	if !safeMethod(r.Method) && resp.StatusCode >= 200 && resp.StatusCode < 400 {
		c.delUnsafe(primaryKey(http.MethodGet, key))
		for _, k := range p.Variants {
			if k != key {
				c.delUnsafe(primaryKey(http.MethodGet, k))
			}
		}
		for _, name := range []string{"Location", "Content-Location"} {
			if ref := resp.Header.Get(name); ref != "" && p.Related != nil {
				for _, k := range p.Related(ref) {
					c.delUnsafe(primaryKey(http.MethodGet, k))
				}
			}
		}
		if r.Method == http.MethodPost && p.StoresPOST && p.Related != nil {
			return c.storePOST(w, r, key, p, resp, requestTime, gen)
		}
	}
	return relay(w, r, p, resp, false)
}

// storePOST answers a POST, and stores the answer for GETs of key when it
// says it is the resource's current state: Content-Location naming the
// request's URI, and explicit freshness. gen is c.invalidations when the
// POST was sent: an answer on its way when an invalidation ran is not
// stored, as a fill's (a POST takes no ticket: its own answer counts as
// an unsafe method on its key).
func (c *Cache) storePOST(w http.ResponseWriter, r *http.Request, key string, p Policy, resp *http.Response, requestTime time.Time, gen int64) Result {
	now := c.now()
	cc := parseCacheControl(resp.Header)
	p.Cacheable = true // for GET
	cl := resp.Header.Get("Content-Location")
	// Content-Location names the request's URI: key is among its keys.
	named := cl != "" && slices.Contains(p.Related(cl), key)
	_, explicit := explicitLifetime(resp.Header, cc, now)
	d := decide(resp.StatusCode, resp.Header, cc, p, r.Header, now)
	if !named || !explicit || !d.store || resp.StatusCode == http.StatusPartialContent || resp.ContentLength > c.maxObject {
		return relay(w, r, p, resp, false)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxObject+1))
	if err != nil || int64(len(body)) > c.maxObject {
		// Too large after all, or broken: pass on what came.
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return relay(w, r, p, resp, false)
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	header := storedHeader(resp.Header, cc)
	names := varyNames(header, p)
	if len(names) != len(varyNames(header, Policy{})) {
		// It varies on a field the POST carried and a GET's request
		// would not (Authorization goes to the origin with a POST only):
		// a GET has no variant of its own to find it under.
		return relay(w, r, p, resp, false)
	}
	primary := primaryKey(http.MethodGet, key)
	lk := primary
	if len(names) > 0 {
		lk = variantKey(primary, c.varyMark(primary, names), names, r, p)
	}
	c.storeMu.RLock() // the check and the put are one step for an invalidation's scan
	if c.invalidations.Load() == gen {
		c.putMemory(lk, newObject(lk, resp.StatusCode, header, body, cc, d, initialAge(resp.Header, requestTime, now), now, c.cfg.KeepStale))
	}
	c.storeMu.RUnlock()
	// The viewer gets the origin's answer as it is: its conditions were
	// the origin's to evaluate.
	return relay(w, r, p, resp, false)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

var conditionalFields = []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

func copyConditionals(dst, src http.Header) {
	for _, k := range conditionalFields {
		if vs, ok := src[k]; ok {
			dst[k] = vs
		}
	}
}

func hasConditionals(h http.Header) bool {
	for _, k := range conditionalFields[2:] {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// servableOnError says a stale entry may answer when the origin failed:
// within stale-if-error when the origin gave one, else, when the origin
// could not be reached or answered 5xx (disconnected, RFC 9111 4.2.4;
// CloudFront's rule for 5xx), unless the origin forbade stale use; either
// only up to maxTTL past its lifetime (HTTPStatusCodes.html: CloudFront "will only serve an object
// that is stale up to the specified maximum TTL value").
func (e *entry) servableOnError(now time.Time, disconnected bool) bool {
	age := e.age(now)
	if e.sie >= 0 {
		// The origin said how long, 0 included: CloudFront's way to
		// have an error rather than the old object (Expiration.html).
		return e.servableStale(age, e.sie)
	}
	return disconnected && !e.noStale && age < e.ttl+e.maxStale
}

// errorTTL is the error caching minimum TTL of status.
func (p Policy) errorTTL(status int) time.Duration {
	if d, ok := p.ErrorTTLs[status]; ok {
		return d
	}
	return p.ErrorTTL
}

// graceAfterError lets e answer without asking the origin for ttl (the
// error caching minimum TTL), after the origin failed it.
func (e *entry) graceAfterError(now time.Time, ttl time.Duration) {
	if ttl > 0 {
		e.errorGrace.Store(now.Add(ttl).UnixNano())
	}
}

// refreshInBackground revalidates e once, without a viewer waiting
// (stale-while-revalidate).
func (c *Cache) refreshInBackground(lk, primary string, e *entry, r *http.Request, p Policy, fetch FetchFunc) {
	if !e.revalidating.CompareAndSwap(false, true) {
		return
	}
	f, leader, found := c.join(lk)
	if !leader || found {
		// Someone is already asking the origin for this key.
		e.revalidating.Store(false)
		return
	}
	h := r.Header.Clone()
	for _, k := range conditionalFields {
		delete(h, k)
	}
	br := (&http.Request{Method: http.MethodGet, URL: r.URL, Header: h, Host: r.Host}).WithContext(context.Background())
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		// A failed refresh may be tried again by a later request.
		defer e.revalidating.Store(false)
		c.lead(discard{}, br, f, lk, primary, e, p, fetch, nil)
	}()
}

// putPass marks key as not storable for ttl, unless something fresher
// is stored there.
func (c *Cache) putPass(key string, large bool, ttl time.Duration) {
	e := &entry{kind: kindPass, large: large, retain: ttl}
	e.weigh(key)
	c.mem.put(key, e)
}

// varyMark returns the generation of primary's Vary mark for names,
// storing a new mark when there is none or it names other fields.
func (c *Cache) varyMark(primary string, names []string) uint64 {
	if m := c.mem.get(primary); m != nil && m.kind == kindVary && slices.Equal(m.varyNames, names) {
		return m.gen
	}
	m := &entry{kind: kindVary, varyNames: names, gen: rand.Uint64(), retain: c.cfg.KeepStale}
	m.weigh(primary)
	c.mem.put(primary, m)
	return m.gen
}

// Invalidate removes every entry whose edge key match accepts, and
// returns how many entries (variants and marks included) went.
func (c *Cache) Invalidate(match func(key string) bool) int {
	return c.invalidate(func(k string) bool { return match(edgeKey(k)) })
}

// InvalidatePrefix removes the entries whose edge key starts with prefix.
func (c *Cache) InvalidatePrefix(prefix string) int {
	return c.Invalidate(func(k string) bool { return strings.HasPrefix(k, prefix) })
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// onlyReader hides WriteTo so copies go through the pooled buffer.
type onlyReader struct{ io.Reader }

// discard is the ResponseWriter of a background refresh.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
