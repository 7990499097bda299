package edge

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/internal/cffunc"
)

// A behavior's response headers policy (understanding-response-headers-
// policies.md) applies to the header of every response the behavior
// sends, whatever wrote it: a hit, the origin's answer, a custom error
// page, the edge's own errors and redirects. It runs on the way out, so
// cached responses are stored as the origin sent them and a policy
// change needs no invalidation. The order is CloudFront's: the removed
// headers go first, then the CORS, security and custom headers are
// added; each of those replaces the origin's value only with its override.

// headersPolicy is the viewer's writer under a response headers policy,
// a viewer-response function (functions.go), or both: the policy's
// headers first, then the function sees them.
type headersPolicy struct {
	http.ResponseWriter
	policy *table.ResponseHeaders // nil: none
	r      *http.Request
	h      *Handler
	id     string
	start  time.Time
	done   bool
	// decided: whether the answer gets Server-Timing (timed) is settled,
	// at the request's start, so that its origin fetch is timed.
	decided, timed bool
	// upstream is the origin fetch's timing, for a timed request.
	upstream *upstreamTiming
	// fn is the viewer-response function, d its distribution; noFn: the
	// answer is not the function's to see (a function generated it).
	fn   *cffunc.Function
	d    *table.Distribution
	noFn bool
	// failed: fn failed and the edge's error went out in place of the
	// answer, whose body is dropped.
	failed bool
	// replaced: fn returned body, sent in place of the answer's, which
	// is dropped.
	replaced bool
	body     []byte
	// setCookie is a sticky continuous deployment session's cookie,
	// added to whatever answer goes out ("": none).
	setCookie string
}

var headersPolicyPool = sync.Pool{New: func() any { return new(headersPolicy) }}

// withHeadersPolicy is w under behavior b's response headers policy and
// viewer-response function, with setCookie added to the answer when not
// "", or w when it has none of them; p, when not nil, is
// to be released once the handler returned (nothing holds the viewer's
// writer then: fills write to their stream). A request whose answer gets
// Server-Timing comes back with the context its origin fetch is timed by.
func (h *Handler) withHeadersPolicy(w http.ResponseWriter, r *http.Request, d *table.Distribution, b *table.Behavior, id string, start time.Time, setCookie string) (_ http.ResponseWriter, _ *http.Request, p *headersPolicy) {
	if b.ResponseHeaders == nil && b.ViewerResponse == nil && setCookie == "" {
		return w, r, nil
	}
	p = headersPolicyPool.Get().(*headersPolicy)
	*p = headersPolicy{ResponseWriter: w, policy: b.ResponseHeaders, r: r, h: h, id: id, start: start, fn: b.ViewerResponse, d: d, setCookie: setCookie}
	if rh := b.ResponseHeaders; rh != nil && rh.ServerTiming {
		p.decided, p.timed = true, sampled(rh, r)
		if p.timed {
			// Its own allocation, not the pooled writer's: a transport's
			// dial may report after the writer went back to the pool.
			p.upstream = new(upstreamTiming)
			r = r.WithContext(context.WithValue(r.Context(), upstreamTimingKey{}, p.upstream))
			p.r = r
		}
	}
	return p, r, p
}

// release puts p back in the pool; p may be nil.
func (p *headersPolicy) release() {
	if p != nil {
		*p = headersPolicy{}
		headersPolicyPool.Put(p)
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (p *headersPolicy) Unwrap() http.ResponseWriter { return p.ResponseWriter }

func (p *headersPolicy) WriteHeader(code int) {
	first := !p.done && code >= 200
	if first {
		p.done = true
		if p.policy != nil {
			p.apply()
		}
		if p.setCookie != "" {
			hdr := p.ResponseWriter.Header()
			hdr["Set-Cookie"] = append(slices.Clip(hdr["Set-Cookie"]), p.setCookie)
		}
		if p.fn != nil && !p.noFn {
			if code, p.failed = p.viewerResponse(code); p.failed {
				return
			}
		}
	}
	if p.failed {
		return
	}
	p.ResponseWriter.WriteHeader(code)
	if first && p.replaced && p.r.Method != http.MethodHead { // once, whatever WriteHeader follows
		p.ResponseWriter.Write(p.body)
	}
}

func (p *headersPolicy) Write(b []byte) (int, error) {
	if !p.done {
		p.WriteHeader(http.StatusOK)
	}
	if p.failed || p.replaced {
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for disk-cached bodies.
func (p *headersPolicy) ReadFrom(r io.Reader) (int64, error) {
	if !p.done {
		p.WriteHeader(http.StatusOK)
	}
	if p.failed || p.replaced {
		return io.Copy(io.Discard, r)
	}
	if rf, ok := p.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{p.ResponseWriter}, r)
}

func (p *headersPolicy) Flush() {
	if !p.done {
		p.WriteHeader(http.StatusOK)
	}
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// apply sets the policy's headers on the response header (table's
// ResponseHeaders.Apply, which route and vet's route tests apply too), and
// Server-Timing, which times this request.
func (p *headersPolicy) apply() {
	hdr := p.ResponseWriter.Header()
	rh := p.policy
	rh.Apply(hdr, p.r.Header, p.r.Method)
	if rh.ServerTiming && !p.decided {
		p.decided, p.timed = true, sampled(rh, p.r)
	}
	if p.timed {
		p.serverTiming(hdr)
	}
}

// sampled reports whether the answer to r gets rh's Server-Timing: asked
// for, or drawn at the sampling rate.
func sampled(rh *table.ResponseHeaders, r *http.Request) bool {
	return wantsServerTiming(r) || rh.SamplingRate > 0 && rand.Float64() < rh.SamplingRate
}

// wantsServerTiming reports a request with "Pragma: server-timing", which
// gets the Server-Timing header whatever the sampling rate.
func wantsServerTiming(r *http.Request) bool {
	pragma := r.Header["Pragma"]
	return len(pragma) > 0 && httpguts.HeaderValuesContainsToken(pragma, "server-timing")
}

// serverTiming sets CloudFront's Server-Timing metrics: the cache's
// result, the node (cdn-pop), the request id (cdn-rid) and the time to
// the first byte. An origin's own Server-Timing follows the node's on a
// miss; a stored one is dropped, as it timed another request.
func (p *headersPolicy) serverTiming(hdr http.Header) {
	var b strings.Builder
	xcache := hdr.Get("X-Cache")
	origin := hdr["Server-Timing"]
	hitLayer := ""
	switch xcache {
	case cacheHit:
		b.WriteString("cdn-cache-hit,")
		origin, hitLayer = nil, layerEdge
	case cacheRefreshHit:
		b.WriteString("cdn-cache-refresh,")
		origin = nil
	case cacheMiss:
		dns, connect, fbl, timed, shield := p.upstream.get()
		if shield == shieldHadIt {
			// The edge missed, but no origin was asked: CloudFront's
			// hit from the Origin Shield layer (X-Cache stays Miss).
			b.WriteString("cdn-cache-hit,")
			origin, hitLayer = nil, layerShield
			break
		}
		layer := layerEdge
		if shield == shieldAsked {
			layer = layerShield
		}
		writeDesc(&b, "cdn-upstream-layer", layer)
		if timed {
			writeDuration(&b, "cdn-upstream-dns", dns)
			writeDuration(&b, "cdn-upstream-connect", connect)
			writeDuration(&b, "cdn-upstream-fbl", fbl)
		}
		b.WriteString("cdn-cache-miss,")
	}
	b.WriteString(`cdn-pop;desc="`)
	b.WriteString(p.h.nodeName)
	b.WriteString(`",cdn-rid;desc="`)
	b.WriteString(p.id)
	b.WriteString(`",`)
	if hitLayer != "" {
		writeDesc(&b, "cdn-hit-layer", hitLayer)
	}
	b.WriteString("cdn-downstream-fbl;dur=")
	b.WriteString(strconv.FormatInt(time.Since(p.start).Milliseconds(), 10))
	for _, v := range origin {
		b.WriteByte(',')
		b.WriteString(v)
	}
	hdr["Server-Timing"] = []string{b.String()}
}

// writeDesc writes metric name with description desc, and the comma that
// ends it.
func writeDesc(b *strings.Builder, name, desc string) {
	b.WriteString(name)
	b.WriteString(`;desc="`)
	b.WriteString(desc)
	b.WriteString(`",`)
}

// writeDuration writes metric name with duration d in milliseconds, and
// the comma that ends it.
func writeDuration(b *strings.Builder, name string, d time.Duration) {
	b.WriteString(name)
	b.WriteString(";dur=")
	b.WriteString(strconv.FormatInt(d.Milliseconds(), 10))
	b.WriteByte(',')
}

// upstreamTiming is what a timed request's origin fetch took, the last
// one's when a group failed over: CloudFront's cdn-upstream-dns (the
// origin's name looked up), -connect (from then to the TCP and TLS
// connection made; 0 for a connection reused) and -fbl (from the request
// sent to the answer's first byte). understanding-response-headers-
// policies, "Server-Timing header metrics".
type upstreamTiming struct {
	mu                sync.Mutex
	set               bool
	dns, connect, fbl time.Duration
	// shield: the fetch went to the origin's shield, which had the
	// answer or asked the origin for it.
	shield shieldResult
}

type upstreamTimingKey struct{}

// shieldResult is what an origin shield made of a fetch through it.
type shieldResult int8

const (
	noShield shieldResult = iota
	shieldHadIt
	shieldAsked
)

// Server-Timing's layers (cdn-hit-layer, cdn-upstream-layer).
const (
	layerEdge   = "EDGE"
	layerShield = "Origin Shield"
)

// get returns u's durations, timed false when no fetch of this node's was
// timed (u is nil, the answer came from another request's fetch or
// through a shield), and what the shield made of it.
func (u *upstreamTiming) get() (dns, connect, fbl time.Duration, timed bool, shield shieldResult) {
	if u == nil {
		return 0, 0, 0, false, noShield
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.dns, u.connect, u.fbl, u.set, u.shield
}

// throughShield notes in a timed request's upstreamTiming that its fetch
// went through the origin's shield, which answered resp (err: failed).
func throughShield(ctx context.Context, resp *http.Response, err error) {
	u, ok := ctx.Value(upstreamTimingKey{}).(*upstreamTiming)
	if !ok || err != nil {
		return
	}
	result := shieldAsked
	if _, hit := resp.Body.(cache.UpstreamHit); hit {
		result = shieldHadIt
	}
	u.mu.Lock()
	u.set, u.shield = false, result
	u.mu.Unlock()
}

// fetchTrace times one origin fetch, for its request's upstreamTiming.
// The transport calls it from its own goroutines too, a dial's after the
// fetch ended.
type fetchTrace struct {
	mu                                                sync.Mutex
	dnsStart, dnsDone, getConn, gotConn, wrote, first time.Time
	reused                                            bool
}

// timeUpstream returns ctx tracing its origin fetch when ctx is a timed
// request's, and the fetch's trace (nil: not timed).
func timeUpstream(ctx context.Context) (context.Context, *fetchTrace) {
	if _, ok := ctx.Value(upstreamTimingKey{}).(*upstreamTiming); !ok {
		return ctx, nil
	}
	t := &fetchTrace{}
	at := func(field *time.Time) {
		t.mu.Lock()
		*field = time.Now()
		t.mu.Unlock()
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn:  func(string) { at(&t.getConn) },
		DNSStart: func(httptrace.DNSStartInfo) { at(&t.dnsStart) },
		DNSDone:  func(httptrace.DNSDoneInfo) { at(&t.dnsDone) },
		GotConn: func(info httptrace.GotConnInfo) {
			t.mu.Lock()
			t.gotConn, t.reused = time.Now(), info.Reused
			t.mu.Unlock()
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { at(&t.wrote) },
		GotFirstResponseByte: func() { at(&t.first) },
	}), t
}

// done notes in ctx's upstreamTiming what the fetch traced by t took, took
// in all: an origin the node reads without HTTP (a local one, a function)
// spends it all before its first byte.
func (t *fetchTrace) done(ctx context.Context, took time.Duration) {
	if t == nil {
		return
	}
	u := ctx.Value(upstreamTimingKey{}).(*upstreamTiming)
	t.mu.Lock()
	var dns, connect time.Duration
	if !t.dnsStart.IsZero() && t.dnsDone.After(t.dnsStart) {
		dns = t.dnsDone.Sub(t.dnsStart)
	}
	if !t.reused && !t.getConn.IsZero() && t.gotConn.After(t.getConn) {
		connect = max(t.gotConn.Sub(t.getConn)-dns, 0)
	}
	fbl := took
	if !t.wrote.IsZero() && t.first.After(t.wrote) {
		fbl = t.first.Sub(t.wrote)
	}
	t.mu.Unlock()
	u.mu.Lock()
	u.dns, u.connect, u.fbl, u.set, u.shield = dns, connect, fbl, true, noShield
	u.mu.Unlock()
}
