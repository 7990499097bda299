package edge

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
)

// Overload protection: the node bounds the origin requests in flight,
// not all requests. A hit costs a goroutine and the memory of one
// stream, which the connection limits (serve --max-connections, the
// HTTP/2 and HTTP/3 stream limits) already bound; a miss also holds an
// origin connection (a descriptor), the origin's capacity, and waits as
// long as the origin is slow: that is what piles up under a spike, and
// shedding it keeps hits served. A request past the bound is answered
// at once (no queue: a waiting request holds what the bound protects);
// the viewer's retry, after Retry-After, is the queue.

// errCapacity is an origin request refused by the bound.
var errCapacity = errors.New("the edge node is at its limit of origin requests in flight (serve --max-origin-requests)")

// retryAfter is the Retry-After of a shed request, in seconds: long
// enough that viewers retrying do not keep the node at its bound.
const retryAfter = 5

// originGate counts the origin requests in flight, and bounds them.
type originGate struct {
	max atomic.Int64 // math.MaxInt64: unbounded
	n   atomic.Int64
}

func newOriginGate() *originGate {
	g := new(originGate)
	g.max.Store(math.MaxInt64)
	return g
}

func (g *originGate) enter() bool {
	if g.n.Add(1) > g.max.Load() {
		g.n.Add(-1)
		return false
	}
	return true
}

func (g *originGate) leave() { g.n.Add(-1) }

// SetMaxOriginRequests bounds the origin requests in flight, node-wide
// (0: unbounded); call it before serving. A request from the first
// byte sent to the origin to the last byte of its answer read counts,
// an error page's and a failover's too.
func (h *Handler) SetMaxOriginRequests(n int) {
	if n > 0 {
		h.gate.max.Store(int64(n))
	}
}

// admitted holds a slot of the gate until the origin's body is closed; a
// 101's is the upgraded connection, which the viewer connection limits
// bound, and is not held.
func (h *Handler) admitted(resp *http.Response, err error) (*http.Response, error) {
	if err != nil || resp.StatusCode == http.StatusSwitchingProtocols {
		h.gate.leave()
		return resp, err
	}
	resp.Body = &gatedBody{ReadCloser: resp.Body, g: h.gate}
	return resp, nil
}

// gatedBody gives its slot back when closed.
type gatedBody struct {
	io.ReadCloser
	g    *originGate
	once sync.Once
}

func (b *gatedBody) Close() error {
	b.once.Do(b.g.leave)
	return b.ReadCloser.Close()
}

// originFailed answers a request whose origin request failed with err:
// 503 CapacityExceeded when the node shed it, else the distribution's
// error page for the failure or the edge's own.
func (h *Handler) originFailed(w http.ResponseWriter, r *http.Request, d *table.Distribution, err error) {
	if h.shed(w, r, err) {
		return
	}
	setDetail(w, originDetail(err))
	status, reason := originFailure(err)
	h.log.Warn("origin request failed", "host", r.Host, "path", r.URL.Path, "err", err)
	if !h.errorPage(w, r, d, status) {
		h.refuse(w, r, status, reason)
	}
}

// shed answers 503 for a request the node had no capacity to send to the
// origin, and reports whether err was that. No custom error page: it
// would take an origin request.
func (h *Handler) shed(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, errCapacity) {
		return false
	}
	h.metrics.shed.Inc()
	setDetail(w, accesslog.CapacityExceeded)
	w.Header()["Retry-After"] = []string{strconv.Itoa(retryAfter)}
	if grpcCall(r) { // the same wait, for a client with a retry policy (gRFC A6)
		w.Header()["Grpc-Retry-Pushback-Ms"] = []string{strconv.Itoa(retryAfter * 1000)}
	}
	h.refuse(w, r, http.StatusServiceUnavailable, "This edge node is at capacity: it has too many requests to its origins in flight. Retry after "+strconv.Itoa(retryAfter)+" seconds.")
	return true
}
