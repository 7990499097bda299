package edge

import (
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"openfront.dev/compiler/table"
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
// writer then: fills write to their stream).
func (h *Handler) withHeadersPolicy(w http.ResponseWriter, r *http.Request, d *table.Distribution, b *table.Behavior, id string, start time.Time, setCookie string) (_ http.ResponseWriter, p *headersPolicy) {
	if b.ResponseHeaders == nil && b.ViewerResponse == nil && setCookie == "" {
		return w, nil
	}
	p = headersPolicyPool.Get().(*headersPolicy)
	*p = headersPolicy{ResponseWriter: w, policy: b.ResponseHeaders, r: r, h: h, id: id, start: start, fn: b.ViewerResponse, d: d, setCookie: setCookie}
	return p, p
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
	if rh.ServerTiming && (wantsServerTiming(p.r) || rh.SamplingRate > 0 && rand.Float64() < rh.SamplingRate) {
		p.serverTiming(hdr)
	}
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
	switch xcache {
	case cacheHit:
		b.WriteString("cdn-cache-hit,")
		origin = nil
	case cacheRefreshHit:
		b.WriteString("cdn-cache-refresh,")
		origin = nil
	case cacheMiss:
		b.WriteString(`cdn-upstream-layer;desc="EDGE",cdn-cache-miss,`)
	}
	b.WriteString(`cdn-pop;desc="`)
	b.WriteString(p.h.nodeName)
	b.WriteString(`",cdn-rid;desc="`)
	b.WriteString(p.id)
	b.WriteString(`",`)
	if xcache == cacheHit {
		b.WriteString(`cdn-hit-layer;desc="EDGE",`)
	}
	b.WriteString("cdn-downstream-fbl;dur=")
	b.WriteString(strconv.FormatInt(time.Since(p.start).Milliseconds(), 10))
	for _, v := range origin {
		b.WriteByte(',')
		b.WriteString(v)
	}
	hdr["Server-Timing"] = []string{b.String()}
}
