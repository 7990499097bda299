package cache

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"openfront.dev/internal/hopbyhop"
)

type kind uint8

const (
	// kindObject is a stored response.
	kindObject kind = iota
	// kindVary marks a key whose responses vary: the request's values of
	// varyNames select the variant's key.
	kindVary
	// kindPass marks a key whose last response could not be stored
	// ("hit-for-miss"): requests go to the origin at once, without
	// waiting on each other, and a storable answer replaces the mark.
	kindPass
	// kindAlias points at the variant that serves a language (see
	// languageKey).
	kindAlias
)

// entry is immutable once stored, except for the revalidating and
// errorGrace fields: a refresh stores a new entry.
type entry struct {
	kind   kind
	weight uint32
	// retain is how long the memory tier keeps the entry.
	retain time.Duration

	// kindObject; rep is the entry in the form served.
	rep          rep
	status       int
	header       http.Header // as served, without Age
	body         []byte
	etag         string
	lastModified string
	responseTime time.Time
	initialAge   time.Duration
	ttl          time.Duration
	swr, sie     time.Duration // -1: directive absent
	maxStale     time.Duration // no stale use past ttl+maxStale (decision.maxStale)
	noStale      bool          // no stale use without a window the origin gave
	windowsHold  bool          // the swr and sie windows apply (nothing forbids stale use outright)
	// surrogate is the origin's Surrogate-Control, kept out of the served
	// header but needed again when a 304 refreshes the entry.
	surrogate []string
	// transformed says the cache compressed the body: the origin's ETag
	// (kept in originETag) and framing are not the stored ones.
	transformed bool
	originETag  string
	// revalidating is set by the one request that refreshes the entry in
	// the background (stale-while-revalidate).
	revalidating atomic.Bool
	// errorGrace is when (Unix ns) the origin may be asked again after it
	// failed or answered 5xx while the entry was stale: until then the
	// entry answers, as CloudFront serves an expired object for the error
	// caching minimum TTL (HTTPStatusCodes.html).
	errorGrace atomic.Int64

	// file holds the body of a disk tier entry, size bytes long; blob
	// the body of a large memory tier entry (body is nil then).
	file string
	size int64
	blob *blobRef
	// diskKey is the key a disk entry is stored under; diskVary the Vary
	// mark of a variant's, restored with it after a restart.
	diskKey  string
	diskVary *diskVary

	// kindVary
	varyNames []string
	gen       uint64

	// kindAlias
	target string

	// kindPass: large says the object is over the memory tier's size
	// limit, so ranges are fetched from the origin as ranges.
	large bool
}

func (e *entry) age(now time.Time) time.Duration {
	return max(e.initialAge+now.Sub(e.responseTime), 0)
}

// inErrorGrace says the origin failed for this stale entry a moment ago:
// it answers without asking again until the grace ends.
func (e *entry) inErrorGrace(now time.Time) bool {
	g := e.errorGrace.Load()
	return g != 0 && now.UnixNano() < g
}

// servableStale says a stale entry may be served without validation while
// age is within the window w past its lifetime (stale-while-revalidate or
// stale-if-error).
func (e *entry) servableStale(age, w time.Duration) bool {
	w = min(w, e.maxStale)
	return e.windowsHold && w > 0 && age < e.ttl+w
}

// storedHeader is the copy of an origin's header kept in an entry: no
// hop-by-hop fields, no Age (computed on each use), none of the fields
// named by qualified private / no-cache, and every value slice full so an
// Add on a served copy cannot write into the stored one.
func storedHeader(h http.Header, cc directives) http.Header {
	drop := hopbyhop.Named(h)
	out := make(http.Header, len(h)+2)
	for k, vs := range h {
		if k == "Age" || k == "Surrogate-Control" && cc.surrogate != nil || hopbyhop.Is(k) || slices.Contains(drop, k) ||
			slices.Contains(cc.privateFields, k) || slices.Contains(cc.noCacheFields, k) {
			continue
		}
		out[k] = slices.Clip(slices.Clone(vs))
	}
	return out
}

// leaderRep is rp as sent to the viewer whose request the origin answered:
// with the fields a qualified no-cache or private kept out of the stored
// header, which only a reuse must not carry (RFC 9111 5.2.2.4, 5.2.2.7) —
// e.g. the Set-Cookie of no-cache="Set-Cookie", which CloudFront's
// Cookies.html recommends for exactly this.
func leaderRep(rp *rep, origin http.Header, cc directives) *rep {
	if len(cc.noCacheFields) == 0 && len(cc.privateFields) == 0 {
		return rp
	}
	n := *rp
	n.header = maps.Clone(rp.header)
	drop := hopbyhop.Named(origin)
	for _, fields := range [][]string{cc.noCacheFields, cc.privateFields} {
		for _, k := range fields {
			if vs, ok := origin[k]; ok && !hopbyhop.Is(k) && !slices.Contains(drop, k) {
				n.header[k] = vs
			}
		}
	}
	return &n
}

// newObject makes the entry for a complete response.
// age is the response's corrected initial age.
func newObject(key string, status int, header http.Header, body []byte, cc directives, d decision, age time.Duration, responseTime time.Time, keepStale time.Duration) *entry {
	if d.minTTLOverride {
		// Kept for the minimum TTL whatever no-cache says, the object
		// stands in for a failing origin as any other ("If the origin is
		// unreachable and the minimum or maximum TTL value is greater
		// than 0, CloudFront will serve the object", Expiration.html).
		cc.noCache = false
	}
	e := &entry{
		kind:         kindObject,
		status:       status,
		header:       header,
		body:         body,
		etag:         header.Get("ETag"),
		lastModified: header.Get("Last-Modified"),
		responseTime: responseTime,
		initialAge:   age,
		ttl:          d.ttl,
		swr:          cc.staleWhileRevalidate,
		sie:          cc.staleIfError,
		maxStale:     d.maxStale,
		noStale:      cc.forbidsStale(),
		windowsHold:  !cc.forbidsStale(),
		surrogate:    cc.surrogate,
	}
	if _, ok := header["Date"]; !ok {
		// RFC 9111 4.2.3: a cache adds the Date it received the response at,
		// so every hit carries the same one.
		header["Date"] = []string{responseTime.UTC().Format(http.TimeFormat)}
	}
	header["Content-Length"] = []string{strconv.Itoa(len(body))}
	if _, ok := header["Accept-Ranges"]; !ok && status == http.StatusOK {
		header["Accept-Ranges"] = []string{"bytes"}
	}
	e.rep = *newRep(status, header, int64(len(body)), body)
	// An empty body (an empty object, a preflight's answer) is nil here
	// and still a body to serve: a hit writes nothing instead of
	// following a nil source. Disk and blob entries set their own.
	e.rep.src = bytesSource(body)
	e.setRetain(keepStale)
	e.weigh(key)
	return e
}

// setSize makes a body-less entry describe a body of n bytes on disk.
func (e *entry) setSize(n int64) {
	e.size = n
	e.header["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	e.rep.size = n
}

// setRetain keeps an entry past its lifetime while it can still be served
// stale, or revalidated, or served while the origin is unreachable.
func (e *entry) setRetain(keepStale time.Duration) {
	extra := min(max(e.swr, e.sie, 0), e.maxStale)
	switch {
	case e.etag != "" || e.lastModified != "":
		extra = max(extra, keepStale)
	case !e.noStale:
		extra = max(extra, min(keepStale, e.maxStale))
	}
	e.retain = max(e.ttl+extra, time.Second)
}

func (e *entry) weigh(key string) {
	w := int64(entryOverhead + len(key) + len(e.body))
	for k, vs := range e.header {
		w += int64(len(k))
		for _, v := range vs {
			w += int64(len(v)) + 16
		}
	}
	for _, n := range e.varyNames {
		w += int64(len(n))
	}
	e.weight = uint32(min(w, 1<<32-1))
}

// refreshed is the entry after a 304 from the origin: the stored header
// updated with the 304's fields (RFC 9111 3.2) and a new lifetime; nil,
// with the decision that refused it, when it may not be stored.
func (e *entry) refreshed(key string, h304 http.Header, p Policy, reqHeader http.Header, requestTime, responseTime time.Time, keepStale time.Duration) (*entry, decision) {
	cc304 := parseCacheControl(h304)
	merged := make(http.Header, len(e.header))
	for k, vs := range e.header {
		merged[k] = vs
	}
	// Not updated (RFC 9111 3.2): the framing and the fields that
	// describe the stored body itself, which a 304 cannot change.
	skip := append([]string{"Content-Length", "Content-Range", "Content-Encoding", "Content-Md5", "Etag", "Age", "Surrogate-Control"}, hopbyhop.Fields...)
	if e.transformed {
		skip = append(skip, "Vary")
	}
	drop := hopbyhop.Named(h304)
	for k, vs := range h304 {
		if slices.Contains(skip, k) || slices.Contains(drop, k) || slices.Contains(cc304.privateFields, k) || slices.Contains(cc304.noCacheFields, k) {
			continue
		}
		merged[k] = slices.Clip(slices.Clone(vs))
	}
	if _, ok := h304["Date"]; !ok {
		merged["Date"] = []string{responseTime.UTC().Format(http.TimeFormat)}
	}
	// The 304's Surrogate-Control, else the stored one, still rules.
	sc, ok := h304["Surrogate-Control"]
	if !ok {
		sc = e.surrogate
	}
	parsed := merged
	if sc != nil {
		parsed = maps.Clone(merged)
		parsed["Surrogate-Control"] = sc
	}
	cc := parseCacheControl(parsed)
	d := decide(e.status, parsed, cc, p, reqHeader, responseTime)
	if !d.store {
		return nil, d
	}
	n := newObject(key, e.status, merged, e.body, cc, d, initialAge(h304, requestTime, responseTime), responseTime, keepStale)
	n.transformed, n.originETag = e.transformed, e.originETag
	n.rep.start, n.rep.complete = e.rep.start, e.rep.complete
	switch {
	case e.file != "":
		n.setSize(e.size) // the caller links n to the file
		n.diskVary = e.diskVary
	case e.blob != nil:
		if n.blob = e.blob.share(); n.blob == nil {
			return nil, decision{why: "left the cache meanwhile"}
		}
		n.setSize(e.size)
		n.weight += uint32(e.size)
	}
	return n, d
}

// toBlob moves a large body out of the heap into a blob, when one can be
// made in dir (see makeBlob): ranges of it are served from there, and so
// is a 304's refresh.
func (e *entry) toBlob(dir string) {
	if len(e.body) < blobMinBytes || e.rep.complete > 0 {
		return
	}
	if b := makeBlob(dir, e.body); b != nil {
		e.blob, e.size, e.body = b, int64(len(e.body)), nil
		e.rep.src = nil // serveEntry holds the blob while it answers
	}
}

// validators are the conditional headers that revalidate e at the origin.
func (e *entry) validators() http.Header {
	h := http.Header{}
	etag := e.etag
	if e.transformed {
		etag = e.originETag
	}
	if etag != "" {
		h["If-None-Match"] = []string{etag}
	}
	if e.lastModified != "" {
		h["If-Modified-Since"] = []string{e.lastModified}
	}
	return h
}
